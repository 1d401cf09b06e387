"""Errors, handled once: upstream failures and a missing key become the user's message with its
next step; anything else is logged with context and answered honestly.

Handlers let `SmspvaError`, `SmspvaUnavailable` and `KeyMissing` raise; this router (included last)
catches them for every screen. A key SMSPVA rejects is marked invalid here and only here
(`forget_rejected_key`), so the poller pauses that user until they link a key again.
"""

from __future__ import annotations

import contextlib
import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import ExceptionTypeFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, ErrorEvent, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ConfirmCb, MenuAction, MenuCb, plain_data
from bot.db.confirmations import ConfirmStatus
from bot.deps import Deps
from bot.handlers import pending
from bot.handlers.screen import show
from bot.handlers.upstream import KeyMissing
from bot.i18n import DEFAULT_LOCALE, user_locale
from bot.keyboards.common import after_unknown_failure, only_home, retry
from bot.keyboards.common import need_key as need_key_keyboard
from bot.messages import need_key, upstream_error
from bot.smspva import ErrorKind, SmspvaError, SmspvaUnavailable

router = Router(name=__name__)
log = logging.getLogger(__name__)


async def forget_rejected_key(deps: Deps, user_id: int, error: BaseException | None) -> None:
    """The one place a key is marked invalid: SMSPVA said it does not know it."""
    if isinstance(error, SmspvaError) and error.kind is ErrorKind.AUTH:
        log.info("api key rejected upstream user_id=%s", user_id)
        await deps.users.mark_key_invalid(user_id)


def _is_confirmation(query: CallbackQuery | None) -> bool:
    """A Confirm press: a money-moving call may have been under way when the error struck."""
    return query is not None and (query.data or "").startswith(ConfirmCb.__prefix__ + ":")


async def _pressed_status(deps: Deps, query: CallbackQuery | None) -> ConfirmStatus | None:
    """The status of the confirmation a Confirm press carried (None: not a Confirm, or unknown)."""
    if not _is_confirmation(query) or query is None:
        return None
    try:
        token = ConfirmCb.unpack(query.data or "").token
    except (TypeError, ValueError):
        return None
    return await deps.confirmations.status(token, query.from_user.id)


def _money_may_have_moved(status: ConfirmStatus | None) -> bool:
    """Failed means SMSPVA refused or the request never left; expired or pending means it never ran."""
    return status in (ConfirmStatus.RUNNING, ConfirmStatus.DONE, ConfirmStatus.UNCLEAR)


async def _tell(event: ErrorEvent, bot: Bot, text: str, markup: InlineKeyboardMarkup, *, edit: bool) -> None:
    """Answer where the update came from: edit the pressed button's screen (`edit`), or send anew."""
    update = event.update
    target: Message | CallbackQuery | None = update.message or update.callback_query
    if update.callback_query is not None:
        # Already answered, or too old: the message below still reaches the user.
        with contextlib.suppress(TelegramAPIError):
            await update.callback_query.answer()
    try:
        if edit and target is not None:
            await show(target, text, markup)
        elif (user_id := _user_id(event)) is not None:
            await bot.send_message(user_id, text, reply_markup=markup)
    except TelegramAPIError as error:
        log.warning("could not report error to user reason=%s", error.message)


def _user_id(event: ErrorEvent) -> int | None:
    update = event.update
    if update.message is not None and update.message.from_user is not None:
        return update.message.from_user.id
    if update.callback_query is not None:
        return update.callback_query.from_user.id
    return None


async def _in_user_locale(deps: Deps, event: ErrorEvent) -> str:
    user_id = _user_id(event)
    user = await deps.users.get(user_id) if user_id is not None else None
    return user_locale(user) if user else DEFAULT_LOCALE


@router.error(ExceptionTypeFilter(KeyMissing))
async def on_key_missing(event: ErrorEvent, bot: Bot, deps: Deps, state: FSMContext | None = None) -> bool:
    if state is not None:
        # What the user was doing (the button, or the typed command) resumes once the key is linked.
        update = event.update
        action = update.callback_query.data if update.callback_query else None
        if action is None and update.message is not None and (update.message.text or "").startswith("/"):
            action = (update.message.text or "").split(maxsplit=1)[0].split("@")[0]
        await pending.remember(state, action)
    with deps.i18n.context(), deps.i18n.use_locale(await _in_user_locale(deps, event)):
        await _tell(event, bot, need_key(deps.settings.api_key_url), need_key_keyboard(), edit=True)
    return True


# Typed commands whose screens have a menu button that opens the same screen (Retry presses it).
_COMMAND_SCREENS = {
    "/start": MenuAction.HOME,
    "/rent": MenuAction.RENT,
    "/orders": MenuAction.ORDERS,
    "/archive": MenuAction.ARCHIVE,
    "/settings": MenuAction.SETTINGS,
}


def _command_retry(message: Message) -> str | None:
    command = (message.text or "").split(maxsplit=1)[0].split("@", 1)[0].lower() if message.text else ""
    action = _COMMAND_SCREENS.get(command)
    return MenuCb(action=action).pack() if action is not None else None


@router.error(ExceptionTypeFilter(SmspvaError, SmspvaUnavailable))
async def on_upstream_error(event: ErrorEvent, bot: Bot, deps: Deps) -> bool:
    error = event.exception
    assert isinstance(error, SmspvaError | SmspvaUnavailable)
    query = event.update.callback_query
    if _money_may_have_moved(await _pressed_status(deps, query)):
        await _report_unexpected(event, bot, deps)  # a money call may have been under way
        return True
    log.info(
        "upstream error shown update_id=%s error=%s method=%s",
        event.update.update_id,
        type(error).__name__,
        error.method,
    )
    user_id = _user_id(event)
    if user_id is not None:
        await forget_rejected_key(deps, user_id, error)
    with deps.i18n.context(), deps.i18n.use_locale(await _in_user_locale(deps, event)):
        text = "❌ " + upstream_error(error, deps.settings.top_up_url)
        # The press as routed (a notification's mark stripped): Retry sits on a screen, not a push;
        # never on a confirmation (its outcome follows on its own).
        can_retry = query is not None and query.data and not _is_confirmation(query)
        again = plain_data(query.data or "") if can_retry and query is not None else None
        if query is None and event.update.message is not None:
            again = _command_retry(event.update.message)  # a typed command: its menu button repeats it
        await _tell(event, bot, text, retry(again) if again else only_home(), edit=True)
    return True


@router.error()
async def on_unexpected(event: ErrorEvent, bot: Bot, deps: Deps) -> bool:
    await _report_unexpected(event, bot, deps)
    return True


async def _report_unexpected(event: ErrorEvent, bot: Bot, deps: Deps) -> None:
    """Log with context; tell the user only what is known."""
    update = event.update
    log.error(
        "unhandled error update_id=%s error=%s",
        update.update_id,
        type(event.exception).__name__,
        exc_info=event.exception,
    )
    user_id = _user_id(event)
    # Never "nothing was lost" while a confirmation runs or after it ran: the outcome is told apart.
    # By the time this runs the claim middleware has settled a token its handler left running (its
    # outcome is queued), and a result Telegram refused to show went to the outbox.
    status = await _pressed_status(deps, update.callback_query)
    running_elsewhere = user_id is not None and deps.user_locks.running(user_id) is not None
    with deps.i18n.context(), deps.i18n.use_locale(await _in_user_locale(deps, event)):
        if status is ConfirmStatus.RUNNING or running_elsewhere:
            text = _(
                "Sorry, something went wrong on my side. Your confirmation is still being carried out; I "
                "did not retry it, so you are not charged twice. Its outcome follows in this chat."
            )
        elif status in (ConfirmStatus.DONE, ConfirmStatus.UNCLEAR):
            text = _(
                "Sorry, something went wrong on my side after your confirmation was carried out (once; I "
                "did not retry it). What is known about its outcome follows in this chat; My numbers shows "
                "your orders."
            )
        elif status is ConfirmStatus.FAILED:
            text = _(
                "Sorry, something went wrong on my side. Your confirmation did not go through, so nothing "
                "was charged for it. You can try again."
            )
        elif _is_confirmation(update.callback_query):
            text = _("Sorry, something went wrong on my side. Nothing was charged; please try again.")
        else:
            text = _("Sorry, something went wrong on my side. Please try again; nothing was lost.")
        confirming = status is not None or running_elsewhere
        await _tell(event, bot, text, after_unknown_failure(confirming), edit=False)
