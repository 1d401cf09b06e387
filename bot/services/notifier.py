"""The one way into a chat for everything the bot says unprompted.

SMS, order state notices, expiry warnings, restore offers, watch hits, key pauses and outcomes that
arrive after the fact are rendered here in the user's language (texts from :mod:`bot.pushes`),
written to the outbox — together with whatever records them as told, in the same transaction — and
the sender is woken. Services never talk to Telegram, the outbox or the i18n catalogs directly.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence

from aiogram.utils.i18n import I18n

from bot.db.outbox import NewMessage, OutboxRepo, Recorder
from bot.db.users import UserRow
from bot.i18n import user_locale
from bot.pushes import Push
from bot.services.outbox import OutboxSender


class Notifier:
    def __init__(
        self, outbox: OutboxRepo, sender: OutboxSender, i18n: I18n, *, support_url: str, top_up_url: str
    ) -> None:
        self._outbox = outbox
        # Links from Settings (SUPPORT_URL, TOP_UP_URL) for the texts that point there: unprompted
        # texts never fall back to a module default.
        self.support_url = support_url
        self.top_up_url = top_up_url
        self._sender = sender
        self._i18n = i18n

    @contextlib.contextmanager
    def speaking(self, user: UserRow) -> Iterator[None]:
        """Render texts inside in the user's language (saved choice, else Telegram's)."""
        with self._i18n.context(), self._i18n.use_locale(user_locale(user)):
            yield

    @staticmethod
    def messages(
        user: UserRow,
        kind: str,
        pushes: Push | Sequence[Push],
        *,
        dedup_key: str | None = None,
        created_at: float | None = None,
    ) -> list[NewMessage]:
        """Outbox rows for one push (several for a long SMS: part n > 1 gets the key suffix #n)."""
        parts = [pushes] if isinstance(pushes, Push) else list(pushes)
        stamp = created_at if created_at is not None else time.time()
        return [
            NewMessage(
                user_id=user.id,
                kind=kind,
                text=part.text,
                markup=part.markup,
                dedup_key=dedup_key if dedup_key is None or index == 0 else f"{dedup_key}#{index + 1}",
                created_at=stamp,
            )
            for index, part in enumerate(parts)
        ]

    async def notify(
        self,
        user: UserRow,
        kind: str,
        render: Callable[[], Push | Sequence[Push]],
        *,
        dedup_key: str | None = None,
        record: Recorder | None = None,
    ) -> bool:
        """Render in the user's language and queue; `record` is written in the same transaction (and
        returning False there queues nothing). True when something was queued."""
        with self.speaking(user):
            pushes = render()
        return await self.queue(self.messages(user, kind, pushes, dedup_key=dedup_key), record=record) > 0

    async def queue(self, messages: Sequence[NewMessage], *, record: Recorder | None = None) -> int:
        """Queue already rendered messages (with `record`, atomically) and wake the sender."""
        added = await self._outbox.enqueue_with(messages, record)
        if added:
            self._sender.wake()
        return added

    def wake(self) -> None:
        self._sender.wake()
