"""One key, one account: linking a key takes it from any other Telegram account, which is told.

SMSPVA serves a key's orders to whoever asks, so two accounts polling one key would split its SMS
between them at random. The newer link wins: the older account loses the key (its polling stops at
the poller's next refresh, which `SmsPoller.poke` triggers at once) and gets one message saying why
and how to link again. Links that were shared before this rule are settled the same way at start-up.
"""

from __future__ import annotations

import logging

from bot.db.outbox import NewMessage
from bot.db.users import KeyHoldersChanged, UsersRepo
from bot.pushes import key_moved_notice
from bot.services.notifier import Notifier

log = logging.getLogger(__name__)

_LINK_ATTEMPTS = 3


class KeyLinks:
    def __init__(self, users: UsersRepo, notifier: Notifier) -> None:
        self._users = users
        self._notifier = notifier

    async def link(self, user_id: int, api_key: str) -> None:
        """Store the user's key (already checked with SMSPVA); unlink it from anyone else.

        The notices to the accounts that lose the key are queued in the transaction that moves it: a
        crash in between cannot move the key silently."""
        for attempt in range(_LINK_ATTEMPTS):
            holders = await self._users.key_holders(user_id, api_key)
            messages: list[NewMessage] = []
            for other in holders:
                user = await self._users.get(other)
                if user is None:
                    continue  # outside ALLOWED_USER_IDS: nothing is sent to them
                with self._notifier.speaking(user):
                    messages += self._notifier.messages(user, "key", key_moved_notice())
            try:
                await self._notifier.queue(
                    messages, record=self._users.link_recorder(user_id, api_key, holders)
                )
            except KeyHoldersChanged:
                if attempt + 1 == _LINK_ATTEMPTS:
                    raise
                continue  # someone linked or unlinked the key meanwhile: read the holders again
            for other in holders:
                log.info("api key moved to another account user_id=%s from_user_id=%s", user_id, other)
            return

    async def settle(self) -> None:
        """At start-up: hash keys linked before hashes existed (or before a SECRET_KEY rotation),
        then settle keys that several accounts share: the latest link keeps it."""
        hashed = await self._users.hash_keys()
        if hashed:
            log.info("api key hashes computed count=%s", hashed)
        for other in await self._users.settle_shared_keys():
            log.info("shared api key unlinked at start-up user_id=%s", other)
            await self._tell_unlinked(other)

    async def _tell_unlinked(self, user_id: int) -> None:
        user = await self._users.get(user_id)
        if user is None:
            return  # outside ALLOWED_USER_IDS: nothing is sent to them
        await self._notifier.notify(user, "key", key_moved_notice)
