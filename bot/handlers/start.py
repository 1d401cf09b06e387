"""/start, the main menu and /help."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import MenuAction, MenuCb
from bot.db import UserRow
from bot.deps import Deps
from bot.handlers.screen import show
from bot.handlers.upstream import balance_note
from bot.keyboards.common import main_menu, only_home

router = Router(name=__name__)


def welcome_text(user: UserRow) -> str:
    text = _(
        "👋 <b>SMS numbers for rent</b>\n\n"
        "Rent a phone number from SMSPVA for a week or a month and receive its SMS right here: "
        "every code is pushed to this chat within seconds, no page to refresh.\n\n"
        "Pick an action below."
    )
    if not user.has_key:
        text += "\n\n" + _(
            "First, link your SMSPVA API key: tap “Link my SMSPVA key” below and paste it "
            "(or send <code>/key YOUR_KEY</code>)."
        )
    return text


@router.message(CommandStart())
@router.callback_query(MenuCb.filter(F.action == MenuAction.HOME))
async def open_home(event: Message | CallbackQuery, user: UserRow, deps: Deps, state: FSMContext) -> None:
    await state.clear()
    if isinstance(event, CallbackQuery):
        await event.answer()
    # /start after blocking the bot: pushes resume, the queued ones first.
    elif await deps.users.set_bot_blocked(user.id, False):
        deps.sender.wake()
    text = welcome_text(user)
    balance = await balance_note(deps, user)  # the account balance, when a key is linked and it answers
    if balance:
        text += "\n\n" + "\n".join(balance)
    await show(event, text, main_menu(link_key=not user.has_key))


def help_text() -> str:
    return "\n\n".join(
        [
            _("❓ <b>Help</b>"),
            _(
                "<b>How it works.</b> Link your SMSPVA API key, rent a number (country → service → "
                "period → confirm), activate it, and every SMS it receives is sent to you here."
            ),
            _(
                "<b>Number types.</b> SMSPVA has always-active numbers and on-demand numbers, which are "
                "activated when you ask (from about 10 minutes). The API this bot uses does not let it choose "
                "the type; SMSPVA picks it, giving priority to always-active numbers."
            ),
            _(
                "<b>Why don't I receive SMS?</b> First check that you activated the number before sending "
                "the SMS. Use a private proxy and clear the cache and cookies when you create accounts "
                "with these numbers."
            ),
            _(
                "<b>Why can't I prolong yet?</b> A number can be prolonged only when less than 7 days "
                "remain before it expires."
            ),
            _("<b>Longest rental?</b> 90 days."),
            _(
                "<b>The rental expired and I could not prolong it.</b> You can restore it yourself from "
                "the Archive. Restoring is possible only when it is technically feasible."
            ),
            _(
                "<b>Restore cost</b> = the overdue days at full price (no discount) + 30 days of rent "
                "paid in advance."
            ),
            _(
                "<b>Why does activation take long?</b> After you ask, the number joins a queue with "
                "other numbers and users. On average it takes 10–15 minutes, sometimes longer; if it takes "
                "far too long, contact support. Once online, a number stays active for 10–30 minutes, then "
                "goes offline until you activate it again."
            ),
            _(
                "<b>Refunds when deleting?</b> There is no refund if you used the number, i.e. received "
                "an SMS without problems. Refunds are made only for unsolvable problems with the number, "
                "usually decided case by case."
            ),
            _("Commands: /rent /orders /archive /settings /language /key /help"),
        ]
    )


@router.message(Command("help"))
@router.callback_query(MenuCb.filter(F.action == MenuAction.HELP))
async def open_help(event: Message | CallbackQuery) -> None:
    if isinstance(event, CallbackQuery):
        await event.answer()
    await show(event, help_text(), only_home())
