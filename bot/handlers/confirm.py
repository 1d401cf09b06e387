"""Confirm buttons: the one place a single-use token is claimed, before exactly one money-moving call.

`ClaimMiddleware` sits on the dispatcher's callback observer (`app.py`), in front of every handler.
For a `ConfirmCb` press it refuses a second operation of the same user, reads the key (none, or one
that cannot be decrypted: `KeyMissing`, the token left unclaimed), claims the token for the kind the
button carries (a token of another kind is refused), answers the callback and removes the keyboard
(best effort) before anything goes upstream, and hands the kind's handler `confirmation` and
`apikey`. Anything failing between the claim and the handler ends the token as not sent, and the
user is told so: a claimed token is never left `running`.
Each kind's handler is an ordinary handler filtered by `ConfirmCb.filter(F.kind == ...)`.

After the money call the outcome must reach the user: `deliver()` shows it in place and, when
Telegram fails (429, 5xx, a dropped connection, a proxy's page), queues the same text in the outbox,
which retries until it arrives. A handler that raises with its token still `running` has it settled
here (reconciled with `orders`, the outcome pushed; bot.services.payments) before the error handler
answers; a stop past the shutdown grace leaves it to the reconciliation at the next start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.exceptions import AiogramError, TelegramAPIError
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, TelegramObject
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ConfirmCb, ConfirmKind
from bot.db import UserRow
from bot.db.confirmations import Confirmation, ConfirmStatus
from bot.deps import Deps, deps_of
from bot.handlers.screen import drop_keyboard, show
from bot.handlers.upstream import KeyMissing, stored_key
from bot.messages import upstream_error
from bot.pushes import Push, confirmation_not_sent_notice
from bot.services.money import Verdict
from bot.services.notifier import Notifier
from bot.services.order_actions import ADD_SERVICE, AUTO_PROLONG, DELETE, PROLONG, RESTORE, ActionOutcome
from bot.services.renting import CONFIRM_KIND

log = logging.getLogger(__name__)

# The kind each button claims, as stored with the token by the screen that issued it.
STORED_KIND: dict[ConfirmKind, str] = {
    ConfirmKind.RENT: CONFIRM_KIND,
    ConfirmKind.PROLONG: PROLONG,
    ConfirmKind.ADD_SERVICE: ADD_SERVICE,
    ConfirmKind.DELETE: DELETE,
    ConfirmKind.RESTORE: RESTORE,
    ConfirmKind.AUTO_PROLONG: AUTO_PROLONG,
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
            try:
                return await handler(event, data)
            except asyncio.CancelledError:
                raise  # stopped past the shutdown grace: the next start reconciles it
            except Exception:
                await _settle_if_running(deps, token)
                raise
            finally:
                deps.balances.forget(apikey)  # money moved (or may have): show the balance anew


async def _settle_if_running(deps: Deps, token: str) -> None:
    """The handler failed: a token still `running` is settled now (a call that never left is simply
    failed; one that may have left is reconciled with `orders` and its outcome pushed), and one it
    finished without showing the result gets its outcome pushed."""
    try:
        confirmation = await deps.confirmations.get(token)
        if confirmation is not None:
            await deps.payments.after_failure(confirmation)
    except Exception:  # the original error is what the error handler reports; this is logged
        log.exception("could not settle a failed confirmation")


async def progress(query: CallbackQuery, text: str) -> None:
    """The "⏳ working" screen before a money call: best effort, a Telegram failure never stops the call."""
    try:
        await show(query, text)
    except AiogramError as error:
        log.info("progress screen not shown reason=%s", type(error).__name__)


async def deliver(
    query: CallbackQuery,
    deps: Deps,
    user: UserRow,
    confirmation: Confirmation,
    text: str,
    markup: InlineKeyboardMarkup | None,
) -> None:
    """Show the outcome of a money call in place; when Telegram fails, the outbox delivers it (retried
    until it arrives — the user was possibly charged and must see the result)."""
    try:
        await show(query, text, markup)
    except AiogramError as error:  # TelegramAPIError (429, 5xx, network) and a proxy's non-JSON page
        log.warning(
            "outcome screen failed, queued in the outbox kind=%s user_id=%s reason=%s",
            confirmation.kind,
            user.id,
            type(error).__name__,
        )
        push = Push(text, markup.model_dump(exclude_none=True) if markup is not None else None)
        await deps.notifier.queue(
            Notifier.messages(user, "confirmation", push, dedup_key=f"confirm:{confirmation.token}")
        )


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
