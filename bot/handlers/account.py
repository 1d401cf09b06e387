"""Linking the user's own SMSPVA API key: /key KEY, or Settings → API key and paste it."""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.apikey import KEY_RE
from bot.callbacks import MenuAction, MenuCb, RentAction, RentCb, SettingsAction, SettingsCb
from bot.db import UserRow
from bot.deps import Deps
from bot.formatting import masked_key
from bot.handlers import pending as pending_action
from bot.handlers.archive import render_archive
from bot.handlers.orders.listing import render_list
from bot.handlers.rent.summary import summary_screen
from bot.handlers.screen import show
from bot.keyboards import settings as kb
from bot.keyboards.common import only_home
from bot.messages import upstream_error
from bot.periods import Period
from bot.smspva import ErrorKind, SmspvaError, SmspvaUnavailable

router = Router(name=__name__)
log = logging.getLogger(__name__)


class KeyForm(StatesGroup):
    waiting = State()


def key_screen(user: UserRow) -> tuple[str, InlineKeyboardMarkup]:
    linked = bool(user.has_key and user.api_key_last4)
    if linked and user.api_key_last4:
        text = _("🔑 <b>API key</b>\n\nLinked: <code>{masked}</code>").format(
            masked=masked_key(user.api_key_last4)
        )
        if user.key_invalid:
            text += "\n" + _("⚠️ SMSPVA rejected this key last time. Replace it to resume.")
    else:
        text = _("🔑 <b>API key</b>\n\nNo key linked yet.")
    return text, kb.api_key(linked)


def prompt_text() -> str:
    return _(
        "Send me your SMSPVA API key as a message (you find it in your smspva.com profile, API section).\n"
        "I delete the message right away and keep the key encrypted."
    )


async def _delete_quietly(bot: Bot, message: Message) -> None:
    """The key must not stay in the chat history, valid or not."""
    try:
        await bot.delete_message(message.chat.id, message.message_id)
    except TelegramBadRequest as error:
        log.warning("could not delete key message reason=%s", error.message)


async def link_key(
    message: Message, bot: Bot, raw_key: str, user: UserRow, deps: Deps, state: FSMContext
) -> None:
    """Check a new key with SMSPVA before saving it (its errors are about the new key, so they are
    answered here, not by the error handler, and never mark the stored key invalid). A rejected key
    leaves the prompt open (paste again, Cancel or Menu); a linked one resumes the pending action."""
    await _delete_quietly(bot, message)
    key = raw_key.strip()
    prompt = kb.key_prompt(deps.settings.api_key_url)
    if not KEY_RE.match(key):
        await state.set_state(KeyForm.waiting)
        await message.answer(
            _(
                "That does not look like an SMSPVA API key (letters and digits, no spaces). Nothing was saved."
            ),
            reply_markup=prompt,
        )
        return
    try:
        await deps.smspva.orders(key)
    except SmspvaUnavailable as error:
        await state.set_state(KeyForm.waiting)
        await message.answer(
            upstream_error(error, deps.settings.top_up_url)
            + "\n"
            + _("Your key was not saved; send it again later."),
            reply_markup=prompt,
        )
        return
    except SmspvaError as error:
        if error.kind is ErrorKind.AUTH:
            text = _(
                "SMSPVA does not accept this key. Check it in your smspva.com profile. Nothing was saved."
            )
        else:
            text = upstream_error(error, deps.settings.top_up_url) + "\n" + _("The key was not saved.")
        await state.set_state(KeyForm.waiting)
        await message.answer(text, reply_markup=prompt)
        return
    await state.set_state(None)
    await deps.key_links.link(user.id, key)  # one key, one account: taken from any other
    deps.poller.poke(user.id)
    log.info("api key linked user_id=%s", user.id)
    pending = await pending_action.take(state)
    linked = _("✅ Key linked: <code>{masked}</code>. The message with it was deleted.").format(
        masked=masked_key(key[-4:])
    )
    if pending is not None:
        await message.answer(linked)
        if await resume(message, await deps.users.get(user.id) or user, deps, pending):
            return
        await message.answer(_("What next?"), reply_markup=kb.key_linked())
        return
    await message.answer(linked, reply_markup=kb.key_linked())


async def resume(message: Message, user: UserRow, deps: Deps, action: str) -> bool:
    """Show again, as a new message, the screen the user was on when the key was asked for: the
    rent summary (now with Confirm), My numbers or the archive. False when there is none to show."""
    if action.startswith(RentCb.__prefix__ + ":"):
        rent = RentCb.unpack(action)
        period = Period.parse(rent.dtype, rent.dcount)
        if rent.action not in (RentAction.PERIOD, RentAction.AGAIN) or period is None:
            return False
        screen = await summary_screen(user, deps, rent.country, rent.service, period)
        if isinstance(screen, str):
            await show(message, screen, only_home())
        else:
            await show(message, *screen)
        return True
    if action in (MenuCb(action=MenuAction.ORDERS).pack(), "/orders"):
        await render_list(message, user, deps, 0)
        return True
    if action in (MenuCb(action=MenuAction.ARCHIVE).pack(), "/archive"):
        await render_archive(message, user, deps, 0)
        return True
    return False


@router.message(Command("key"))
async def cmd_key(
    message: Message, command: CommandObject, bot: Bot, user: UserRow, deps: Deps, state: FSMContext
) -> None:
    if command.args:
        await state.set_state(None)  # the data (a pending action) stays for link_key
        await link_key(message, bot, command.args, user, deps, state)
        return
    await state.set_state(KeyForm.waiting)
    text, _markup = key_screen(user)
    await show(message, text + "\n\n" + prompt_text(), kb.key_prompt(deps.settings.api_key_url))


@router.message(KeyForm.waiting, F.text, ~F.text.startswith("/"))
async def on_key_pasted(message: Message, bot: Bot, user: UserRow, deps: Deps, state: FSMContext) -> None:
    await link_key(message, bot, message.text or "", user, deps, state)


@router.callback_query(SettingsCb.filter(F.action == SettingsAction.KEY_LINK))
async def on_key_link(query: CallbackQuery, user: UserRow, deps: Deps, state: FSMContext) -> None:
    """From the welcome screen or a need-key screen: the prompt at once (the pending action, if
    any, was remembered when that screen was shown)."""
    await state.set_state(KeyForm.waiting)
    await query.answer()
    await show(query, prompt_text(), kb.key_prompt(deps.settings.api_key_url))


@router.callback_query(SettingsCb.filter(F.action == SettingsAction.KEY_CANCEL))
async def on_key_cancel(query: CallbackQuery, user: UserRow, state: FSMContext) -> None:
    await state.clear()
    await query.answer(_("Cancelled. Nothing was saved."))
    text, markup = key_screen(user)
    await show(query, text, markup)


@router.callback_query(SettingsCb.filter(F.action == SettingsAction.KEY))
async def on_key_screen(query: CallbackQuery, user: UserRow) -> None:
    await query.answer()
    text, markup = key_screen(user)
    await show(query, text, markup)


@router.callback_query(SettingsCb.filter(F.action == SettingsAction.KEY_REPLACE))
async def on_key_replace(query: CallbackQuery, deps: Deps, state: FSMContext) -> None:
    await state.set_state(KeyForm.waiting)
    await query.answer()
    await show(query, prompt_text(), kb.key_prompt(deps.settings.api_key_url))


@router.callback_query(SettingsCb.filter(F.action == SettingsAction.KEY_UNLINK))
async def on_key_unlink(query: CallbackQuery) -> None:
    await query.answer()
    await show(
        query,
        _(
            "Unlink your API key? The bot will stop pushing SMS and cannot rent or manage numbers until "
            "you link a key again. Your numbers on SMSPVA are not affected."
        ),
        kb.unlink_confirm(),
    )


@router.callback_query(SettingsCb.filter(F.action == SettingsAction.KEY_UNLINK_CONFIRM))
async def on_key_unlink_confirm(query: CallbackQuery, user: UserRow, deps: Deps) -> None:
    await deps.users.clear_api_key(user.id)
    log.info("api key unlinked user_id=%s", user.id)
    await query.answer(_("Key unlinked."))
    refreshed = await deps.users.get(user.id)
    text, markup = key_screen(refreshed or user)
    await show(query, text, markup)
