"""The secret rule: stored API keys are read only with the secret they were encrypted with.

At start, every stored key is tried with the configured secret (SECRET_KEY, else `secret.key` beside the
database). With keys stored and the secret file missing, no new secret is generated; with keys stored
and none of them decryptable, the secret is the wrong one: either way the bot refuses to start with one
line, changing nothing. A secret that opens some keys but not others is the right one; each key it cannot
open (a damaged row, a rotation run with a key the bot was not given) pauses that user alone — told once,
resumed by linking the key again — and nothing retries it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from bot.crypto import KeyBox, SecretKeyError, load_secret_keys
from bot.db.database import Database
from bot.db.users import UsersRepo, stored_api_keys
from bot.pushes import key_unreadable_notice
from bot.services.notifier import Notifier

log = logging.getLogger(__name__)


async def open_keybox(db: Database, configured: str | None, key_file: Path) -> tuple[KeyBox, list[int]]:
    """The KeyBox for this database, and the users whose stored key it cannot decrypt.

    Raises SecretKeyError (one line for the operator) when the secret cannot be the right one; OSError
    when the key file cannot be read or created.
    """
    stored = await stored_api_keys(db)
    keybox = KeyBox(*load_secret_keys(configured, key_file, may_generate=not stored))
    unreadable = [user_id for user_id, token in stored if not keybox.can_decrypt(token)]
    if stored and len(unreadable) == len(stored):
        source = "SECRET_KEY" if configured else f"the key in {key_file}"
        raise SecretKeyError(
            f"{source} cannot decrypt any of the {len(stored)} API keys stored in {db.path}: it is not the "
            "key they were encrypted with. Restore that key (see README, Rotating SECRET_KEY); not starting"
        )
    if unreadable:
        log.warning("stored api keys cannot be decrypted count=%s of=%s", len(unreadable), len(stored))
    return keybox, unreadable


async def pause_undecryptable(users: UsersRepo, notifier: Notifier, user_id: int) -> bool:
    """Pause a user whose stored key cannot be decrypted and queue one notice; False if already paused."""
    if not await users.pause_undecryptable(user_id):
        return False
    log.warning("stored api key cannot be decrypted, polling paused user_id=%s", user_id)
    user = await users.get(user_id)
    if user is not None:
        await notifier.notify(user, "key", key_unreadable_notice)
    return True
