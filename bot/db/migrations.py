"""Versioned schema migrations, applied in order at start (PRAGMA user_version tracks progress)."""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: foundation — users with their encrypted SMSPVA key and preferences.
    """
    CREATE TABLE users (
        id              INTEGER PRIMARY KEY,          -- Telegram user id (= private chat id)
        language        TEXT,                         -- saved choice; NULL = follow Telegram
        tg_language     TEXT,                         -- Telegram's language_code, for messages we push
        timezone        TEXT    NOT NULL DEFAULT 'UTC',
        api_key_enc     BLOB,                         -- Fernet token, never the plain key
        api_key_last4   TEXT,
        key_invalid     INTEGER NOT NULL DEFAULT 0,   -- upstream rejected the key: polling paused
        bot_blocked     INTEGER NOT NULL DEFAULT 0,   -- Telegram said 403: paused until /start
        other_sms       INTEGER NOT NULL DEFAULT 1,   -- push SMS that came for other services
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL
    );
    """,
    # 2: renting — single-use confirmations, the orders we know belong to each user,
    # recent choices for "Rent again", and availability watches.
    """
    CREATE TABLE confirmations (
        token       TEXT    PRIMARY KEY,
        user_id     INTEGER NOT NULL REFERENCES users(id),
        kind        TEXT    NOT NULL,                  -- create, prolong, add_service, delete, restore
        payload     TEXT    NOT NULL,                  -- JSON: exactly what the user saw and confirmed
        status      TEXT    NOT NULL DEFAULT 'pending',-- pending, running, done, failed, unclear, expired
        result      TEXT,
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL,
        used_at     INTEGER
    );
    CREATE INDEX confirmations_user ON confirmations (user_id, kind, status);

    CREATE TABLE user_orders (
        id          INTEGER PRIMARY KEY,               -- SMSPVA order id
        user_id     INTEGER NOT NULL REFERENCES users(id),
        country     TEXT    NOT NULL DEFAULT '',
        ccode       TEXT    NOT NULL DEFAULT '',
        pnumber     TEXT    NOT NULL DEFAULT '',
        service     TEXT    NOT NULL DEFAULT '',
        sname       TEXT    NOT NULL DEFAULT '',
        state       INTEGER,
        until       INTEGER,
        rented_at   INTEGER,
        activated_at INTEGER,
        sms_synced  INTEGER NOT NULL DEFAULT 0,        -- SMS present when we first saw it are recorded as seen
        gone        INTEGER NOT NULL DEFAULT 0,        -- no longer in the upstream order list
        updated_at  INTEGER NOT NULL
    );
    CREATE INDEX user_orders_user ON user_orders (user_id, gone);

    CREATE TABLE recent_choices (
        user_id     INTEGER NOT NULL REFERENCES users(id),
        country     TEXT    NOT NULL,
        service     TEXT    NOT NULL,
        dtype       TEXT    NOT NULL,
        dcount      INTEGER NOT NULL,
        used_at     INTEGER NOT NULL,
        PRIMARY KEY (user_id, country, service, dtype, dcount)
    );

    CREATE TABLE watches (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id     INTEGER NOT NULL REFERENCES users(id),
        country     TEXT    NOT NULL,
        service     TEXT    NOT NULL,
        service_name TEXT   NOT NULL,
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL,
        UNIQUE (user_id, country, service)
    );
    CREATE INDEX watches_country ON watches (country, expires_at);
    """,
    # 3: push delivery — the outbox every pushed message goes through, SMS already seen, and the
    # last order state we told the user about.
    """
    CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id         INTEGER NOT NULL REFERENCES users(id),
        kind            TEXT    NOT NULL,             -- sms, state, watch, expiry, ...
        dedup_key       TEXT    UNIQUE,               -- enqueued at most once per key
        text            TEXT    NOT NULL,
        markup          TEXT,                         -- reply_markup JSON
        created_at      REAL    NOT NULL,             -- when the event was seen upstream
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL    NOT NULL DEFAULT 0,
        sent_at         REAL,
        failed          INTEGER NOT NULL DEFAULT 0,   -- Telegram refused it for good
        error           TEXT
    );
    CREATE INDEX outbox_due ON outbox (sent_at, failed, next_attempt_at);

    CREATE TABLE sms_seen (
        order_id        INTEGER NOT NULL,
        fingerprint     TEXT    NOT NULL,             -- hash of (order id, date, sender, text)
        seen_at         INTEGER NOT NULL,
        PRIMARY KEY (order_id, fingerprint)
    ) WITHOUT ROWID;
    """,
    # 4: expiry — warnings sent (once per order and threshold), per-user thresholds switched off,
    # the provider's prolong flag in the snapshot, and opt-in auto-prolong with its attempt record.
    """
    ALTER TABLE users ADD COLUMN warn_off TEXT NOT NULL DEFAULT '';   -- e.g. "168,1"
    ALTER TABLE user_orders ADD COLUMN canprolong INTEGER;
    CREATE TABLE expiry_notices (
        order_id    INTEGER NOT NULL,
        hours       INTEGER NOT NULL,                  -- threshold; 0 = the "expired" notice
        until       INTEGER NOT NULL,                  -- the expiry it was about (a prolong starts anew)
        sent_at     INTEGER NOT NULL,
        PRIMARY KEY (order_id, hours, until)
    ) WITHOUT ROWID;
    CREATE TABLE auto_prolong (
        order_id    INTEGER PRIMARY KEY,
        user_id     INTEGER NOT NULL REFERENCES users(id),
        dtype       TEXT    NOT NULL,
        dcount      INTEGER NOT NULL,
        enabled     INTEGER NOT NULL DEFAULT 1,
        attempt_until INTEGER,                         -- the expiry an attempt was made for
        attempt_status TEXT,                           -- running, done, failed, unclear
        updated_at  INTEGER NOT NULL
    );
    """,
    # 5 (trust: one key, one account): a keyed hash of each linked API key, to find the account
    # that linked the same key before. Kept beside `users` rather than in it, and written with
    # IF NOT EXISTS, so it stays valid wherever the merge puts it among other new migrations.
    # A row counts only while `token` equals users.api_key_enc: any other change to the key
    # leaves it inert until it is re-hashed (at start-up, and by `python -m bot.rotate_keys`).
    """
    CREATE TABLE IF NOT EXISTS key_hashes (
        user_id     INTEGER PRIMARY KEY REFERENCES users(id),
        token       BLOB    NOT NULL,                  -- the users.api_key_enc this hash is of
        hash        TEXT    NOT NULL,                  -- KeyBox.key_hash(): "<kid>:<hmac hex>"
        linked_at   INTEGER NOT NULL                   -- the newer link wins
    );
    CREATE INDEX IF NOT EXISTS key_hashes_hash ON key_hashes (hash);
    """,
    # 6: every SMS once — what the bot knows about an order lives here, not only in the poller's memory:
    # when it first listed the order (SMS dated before it, less a clock-skew tolerance, are old), the
    # last state the poller acted on (its notices are written with it), and how long it has been
    # missing from `orders` (gone only after several polls over minutes). A paused key's pause time
    # drives its re-checks.
    """
    ALTER TABLE user_orders ADD COLUMN first_seen INTEGER;        -- our clock; 0 = every unseen SMS is new
    ALTER TABLE user_orders ADD COLUMN polled_state INTEGER;      -- last state the poller acted on
    ALTER TABLE user_orders ADD COLUMN missing_since INTEGER;     -- first `orders` answer without it
    ALTER TABLE user_orders ADD COLUMN missing_polls INTEGER NOT NULL DEFAULT 0;
    -- Orders synced under the old rule pushed every SMS not seen; unsynced ones were first listed
    -- about when their row was last written.
    UPDATE user_orders SET first_seen = CASE WHEN sms_synced = 1 THEN 0 ELSE updated_at END,
        polled_state = state;
    ALTER TABLE users ADD COLUMN key_paused_at INTEGER;           -- SMSPVA rejected the key at
    UPDATE users SET key_paused_at = updated_at WHERE key_invalid = 1;
    """,
    # 7 (payments): a confirmation belongs to the key its preview was built with (KeyBox.key_hash of
    # the linked key, read from key_hashes at issue time); pruning finished ones looks at created_at.
    """
    ALTER TABLE confirmations ADD COLUMN key_hash TEXT;
    CREATE INDEX IF NOT EXISTS confirmations_status ON confirmations (status, created_at);
    """,
)
