"""The user blocked or unblocked the bot: Telegram's `my_chat_member` update for their private chat.

Unblocking resumes everything unprompted at once — SMS pushes, expiry warnings, auto-prolong — and the
messages queued meanwhile follow in order; the user need not send /start. Blocking pauses them at once,
instead of at the next failed send (a 403 still pauses too, for updates that never arrive).
"""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.filters import IS_MEMBER, IS_NOT_MEMBER, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated

from bot.deps import Deps

router = Router(name=__name__)
router.my_chat_member.filter(F.chat.type == "private")
log = logging.getLogger(__name__)


@router.my_chat_member(ChatMemberUpdatedFilter(IS_NOT_MEMBER >> IS_MEMBER))
async def on_unblocked(event: ChatMemberUpdated, deps: Deps) -> None:
    if await deps.users.set_bot_blocked(event.chat.id, False):
        log.info("user unblocked the bot, resuming chat_id=%s", event.chat.id)
        deps.sender.wake()
        deps.poller.poke(event.chat.id)


@router.my_chat_member(ChatMemberUpdatedFilter(IS_MEMBER >> IS_NOT_MEMBER))
async def on_blocked(event: ChatMemberUpdated, deps: Deps) -> None:
    if await deps.users.set_bot_blocked(event.chat.id, True):
        log.info("user blocked the bot, pausing chat_id=%s", event.chat.id)
