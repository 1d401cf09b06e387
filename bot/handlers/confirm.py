"""Confirm buttons: claim the single-use token, then run exactly one money-moving call.

The callback is answered and the keyboard removed before anything goes upstream, so a second tap
has nothing to press; and a second tap that races in anyway loses the database claim.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ConfirmCb
from bot.db import UserRow, UsersRepo
from bot.db.confirmations import Confirmation, ConfirmationsRepo, ConfirmStatus
from bot.handlers.screen import drop_keyboard
from bot.keyboards.common import only_home
from bot.messages import need_key
from bot.services.locks import UserLocks

router = Router(name=__name__)
log = logging.getLogger(__name__)

Executor = Callable[[CallbackQuery, Confirmation, str, dict[str, Any]], Awaitable[None]]
EXECUTORS: dict[str, Executor] = {}


def executor(kind: str) -> Callable[[Executor], Executor]:
    """Register the function that carries out confirmations of one kind."""

    def register(func: Executor) -> Executor:
        EXECUTORS[kind] = func
        return func

    return register


def refused_text(status: ConfirmStatus | None) -> str:
    if status in (ConfirmStatus.DONE, ConfirmStatus.FAILED, ConfirmStatus.UNCLEAR):
        return _("Already done: this confirmation was used. Nothing more was charged.")
    if status is ConfirmStatus.RUNNING:
        return _("Already in progress — please wait a moment.")
    return _("This confirmation has expired. Open the screen again to see the current price.")


@router.callback_query(ConfirmCb.filter())
async def on_confirm(
    query: CallbackQuery,
    callback_data: ConfirmCb,
    user: UserRow,
    users: UsersRepo,
    confirmations: ConfirmationsRepo,
    user_locks: UserLocks,
    **data: Any,
) -> None:
    running = user_locks.running(user.id)
    if running is not None:
        if running == callback_data.token:
            text = refused_text(ConfirmStatus.DONE)
        else:
            status = await confirmations.status(callback_data.token, user.id)
            if status is ConfirmStatus.PENDING:
                text = _("Another operation is still running — please wait for its result.")
            else:
                text = refused_text(status)
        await query.answer(text, show_alert=True)
        return
    with user_locks.hold(user.id, callback_data.token):
        await _run(query, callback_data, user, users, confirmations, data)


async def _run(
    query: CallbackQuery,
    callback_data: ConfirmCb,
    user: UserRow,
    users: UsersRepo,
    confirmations: ConfirmationsRepo,
    data: dict[str, Any],
) -> None:
    claim = await confirmations.claim(callback_data.token, user.id)
    confirmation = claim.confirmation
    if confirmation is None:
        await query.answer(refused_text(claim.status), show_alert=True)
        return
    await query.answer(_("⏳ Working on it…"))
    await drop_keyboard(query)
    func = EXECUTORS.get(confirmation.kind)
    apikey = await users.api_key(user.id)
    if func is None or apikey is None:
        # Nothing was sent upstream: the confirmation ends here.
        await confirmations.finish(confirmation.token, ConfirmStatus.FAILED, {"msg": "no key or kind"})
        if isinstance(query.message, Message):
            await query.message.answer(
                need_key() if apikey is None else _("This button is outdated."), reply_markup=only_home()
            )
        return
    log.info("confirmation running kind=%s user_id=%s", confirmation.kind, user.id)
    await func(
        query, confirmation, apikey, {"user": user, "users": users, "confirmations": confirmations, **data}
    )
