"""Confirm buttons: the one place a single-use token is claimed, before exactly one money-moving call.

`ClaimMiddleware` sits on the dispatcher's callback observer (`app.py`), in front of every handler.
For a `ConfirmCb` press it refuses a second operation of the same user, reads the key (none, or one
that cannot be decrypted: `KeyMissing`, the token left unclaimed), claims the token for the kind the
button carries (a token of another kind is refused), answers the callback and removes the keyboard
(best effort) before anything goes upstream, and hands the kind's handler `confirmation` and
`apikey`. Anything failing between the claim and the handler ends the token as not sent, and the
user is told so: a claimed token is never left `running`.
Each kind's handler is an ordinary handler filtered by `ConfirmCb.filter(F.kind == ...)`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, TelegramObject
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ConfirmCb, ConfirmKind
from bot.db import UserRow
from bot.db.confirmations import ConfirmStatus
from bot.deps import deps_of
from bot.handlers.screen import drop_keyboard
from bot.handlers.upstream import KeyMissing, stored_key
from bot.messages import upstream_error
from bot.pushes import confirmation_not_sent_notice
from bot.services.money import Verdict
from bot.services.order_actions import ADD_SERVICE, DELETE, PROLONG, RESTORE, ActionOutcome
from bot.services.renting import CONFIRM_KIND

log = logging.getLogger(__name__)

# The kind each button claims, as stored with the token by the screen that issued it.
STORED_KIND: dict[ConfirmKind, str] = {
    ConfirmKind.RENT: CONFIRM_KIND,
    ConfirmKind.PROLONG: PROLONG,
    ConfirmKind.ADD_SERVICE: ADD_SERVICE,
    ConfirmKind.DELETE: DELETE,
    ConfirmKind.RESTORE: RESTORE,
}


def refused_text(status: ConfirmStatus | None) -> str:
    if status in (ConfirmStatus.DONE, ConfirmStatus.FAILED, ConfirmStatus.UNCLEAR):
        return _("Already done: this confirmation was used. Nothing more was charged.")
    if status is ConfirmStatus.RUNNING:
        return _("Already in progress — please wait a moment.")
    return _("This confirmation has expired. Open the screen again to see the current price.")


class ClaimMiddleware(BaseMiddleware):
    """Inner callback middleware: claims the token of a Confirm press, or refuses it."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        callback_data = data.get("callback_data")
        if not isinstance(callback_data, ConfirmCb):
            return await handler(event, data)
        assert isinstance(event, CallbackQuery)
        deps = deps_of(data)
        user: UserRow = data["user"]
        token = callback_data.token
        running = deps.user_locks.running(user.id)
        if running is not None:
            if running == token:
                text = refused_text(ConfirmStatus.DONE)
            else:
                status = await deps.confirmations.status(token, user.id)
                if status is ConfirmStatus.PENDING:
                    text = _("Another operation is still running — please wait for its result.")
                else:
                    text = refused_text(status)
            await event.answer(text, show_alert=True)
            return None
        with deps.user_locks.hold(user.id, token):
            # The key first: a missing or undecryptable key leaves the token unclaimed (still pending),
            # so nothing can strand it.
            apikey = await stored_key(deps, user)
            if apikey is None:
                raise KeyMissing
            claim = await deps.confirmations.claim(token, user.id, STORED_KIND[callback_data.kind])
            confirmation = claim.confirmation
            if confirmation is None:
                await event.answer(refused_text(claim.status), show_alert=True)
                return None
            try:
                await _acknowledge(event)
            except Exception:
                # Nothing went upstream: the token ends here as not sent, and the user is told so
                # (through the outbox: Telegram may be what just failed).
                log.exception("confirmation stopped before the upstream call user_id=%s", user.id)
                await deps.confirmations.finish(token, ConfirmStatus.FAILED, {"msg": "not sent"})
                await deps.notifier.notify(user, "outcome", confirmation_not_sent_notice)
                return None
            log.info("confirmation running kind=%s user_id=%s", confirmation.kind, user.id)
            data["confirmation"] = confirmation
            data["apikey"] = apikey
            return await handler(event, data)


async def _acknowledge(event: CallbackQuery) -> None:
    """Answer the press and remove the keyboard: best effort, Telegram refusing either (a 429, a
    5xx, a query too old) does not stop the confirmed call."""
    try:
        await event.answer(_("⏳ Working on it…"))
    except TelegramAPIError as error:
        log.info("could not answer the confirm press reason=%s", error.message)
    await drop_keyboard(event)


def outcome_text(outcome: ActionOutcome, success: str, top_up_url: str) -> str:
    """What the user reads after a money-moving order action, whatever SMSPVA answered."""
    if outcome.status is Verdict.DONE:
        return success
    if outcome.status is Verdict.DONE_AFTER_CHECK:
        return (
            _("SMSPVA answered unclearly, so I checked your orders: it went through. I did not retry.")
            + "\n\n"
            + success
        )
    if outcome.status is Verdict.NOT_DONE:
        return _(
            "SMSPVA did not give a clear answer. I checked your orders and nothing changed, so it did not go "
            "through. I did not retry; you can try again."
        )
    if outcome.status is Verdict.UNCLEAR:
        return _(
            "SMSPVA did not give a clear answer and I could not check your orders either. I did not retry, so "
            "you are never charged twice. Look at My numbers in a minute."
        )
    assert outcome.error is not None
    return "❌ " + upstream_error(outcome.error, top_up_url)
