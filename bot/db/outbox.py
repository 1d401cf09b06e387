"""The outbox: every message the bot pushes on its own is written here first, then sent.

A row is marked sent only after Telegram accepted it, so a crash loses nothing; a duplicate is
possible only if the process dies between Telegram's acceptance and the UPDATE below.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from bot.db.database import Database


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    user_id: int
    kind: str
    text: str
    markup: dict[str, Any] | None
    created_at: float
    attempts: int


@dataclass(frozen=True, slots=True)
class NewMessage:
    user_id: int
    kind: str
    text: str
    markup: dict[str, Any] | None = None
    dedup_key: str | None = None
    created_at: float | None = None


def _item(row: aiosqlite.Row) -> OutboxItem:
    return OutboxItem(
        id=int(row["id"]),
        user_id=int(row["user_id"]),
        kind=row["kind"],
        text=row["text"],
        markup=json.loads(row["markup"]) if row["markup"] else None,
        created_at=float(row["created_at"]),
        attempts=int(row["attempts"]),
    )


Recorder = Callable[[aiosqlite.Connection], Awaitable[bool]]
"""Writes what must be recorded together with a message (an SMS seen, a warning sent) inside the
outbox's transaction; False means "already recorded": nothing is queued."""

_INSERT = (
    "INSERT OR IGNORE INTO outbox (user_id, kind, dedup_key, text, markup, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)


def _params(message: NewMessage) -> tuple[object, ...]:
    return (
        message.user_id,
        message.kind,
        message.dedup_key,
        message.text,
        json.dumps(message.markup) if message.markup else None,
        message.created_at if message.created_at is not None else time.time(),
    )


class OutboxRepo:
    """`allowed` is ALLOWED_USER_IDS (empty = everyone): messages queued for a user later removed
    from the list stay queued, unsent, and go out if they are let back in."""

    def __init__(self, db: Database, *, allowed: frozenset[int] = frozenset()) -> None:
        self._db = db
        self._allowed = json.dumps(sorted(allowed)) if allowed else None

    async def enqueue(self, message: NewMessage) -> bool:
        """Queue a message; False if one with the same dedup key was queued before."""
        return await self._db.execute(_INSERT, _params(message)) > 0

    async def enqueue_with(self, messages: Sequence[NewMessage], record: Recorder | None = None) -> int:
        """Queue messages and write `record` in one transaction: what was read upstream and must be told
        is never recorded without its message (a failed write leaves both undone). Returns rows added."""
        added = 0
        async with self._db.transaction() as conn:
            if record is not None and not await record(conn):
                return 0
            for message in messages:
                async with conn.execute(_INSERT, _params(message)) as cursor:
                    added += cursor.rowcount
        return added

    async def due(self, limit: int, exclude_users: set[int] | None = None) -> list[OutboxItem]:
        """The oldest due message of each chat, chats with the longest-waiting message first.

        One row per chat, not the oldest `limit` rows: a chat with a long backlog would otherwise fill
        the whole batch and starve every other chat behind it (512 queued rows for one chat held the
        others back ~12 s). The sender sends at most one message per chat per round anyway, so each
        round serves every waiting chat once: round-robin, oldest head first.

        The head is the chat's oldest unsent message whether due or not, and a chat whose head is
        backing off (a 5xx, a 429) waits: a later message never overtakes it.
        """
        rows = await self._db.fetch_all(
            "SELECT o.id, o.user_id, o.kind, o.text, o.markup, o.created_at, o.attempts FROM outbox o"
            " JOIN users u ON u.id = o.user_id"
            " WHERE o.id IN ("
            "   SELECT MIN(id) FROM outbox WHERE sent_at IS NULL AND failed = 0 GROUP BY user_id"
            " ) AND o.next_attempt_at <= ? AND u.bot_blocked = 0"
            + ("" if self._allowed is None else " AND u.id IN (SELECT value FROM json_each(?))")
            + " ORDER BY o.id LIMIT ?",
            (
                time.time(),
                *(() if self._allowed is None else (self._allowed,)),
                limit + len(exclude_users or ()),
            ),
        )
        items = [_item(row) for row in rows]
        if exclude_users:
            items = [item for item in items if item.user_id not in exclude_users]
        return items[:limit]

    async def mark_sent(self, item_id: int) -> None:
        await self._db.execute("UPDATE outbox SET sent_at = ? WHERE id = ?", (time.time(), item_id))

    async def postpone(self, item_id: int, delay: float, error: str, *, count_attempt: bool = True) -> None:
        await self._db.execute(
            "UPDATE outbox SET next_attempt_at = ?, attempts = attempts + ?, error = ? WHERE id = ?",
            (time.time() + delay, int(count_attempt), error[:500], item_id),
        )

    async def mark_failed(self, item_id: int, error: str) -> None:
        await self._db.execute("UPDATE outbox SET failed = 1, error = ? WHERE id = ?", (error[:500], item_id))

    async def backlog(self) -> int:
        row = await self._db.fetch_one("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL AND failed = 0")
        return int(row[0]) if row else 0

    async def sent_since(self, since: float, kind: str | None = None) -> int:
        row = await self._db.fetch_one(
            "SELECT COUNT(*) FROM outbox WHERE sent_at >= ?" + (" AND kind = ?" if kind else ""),
            (since, kind) if kind else (since,),
        )
        return int(row[0]) if row else 0

    async def prune(self, older_than_days: int = 30) -> int:
        cutoff = time.time() - older_than_days * 86400
        return await self._db.execute(
            "DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?", (cutoff,)
        )
