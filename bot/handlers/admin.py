"""Operator commands, for the ids in ADMIN_IDS only (anyone else gets the unknown-command answer)."""

from __future__ import annotations

import time

from aiogram import Router
from aiogram.filters import Command, Filter
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.deps import Deps
from bot.formatting import number

router = Router(name=__name__)


class IsAdmin(Filter):
    async def __call__(self, message: Message, deps: Deps) -> bool:
        return message.from_user is not None and message.from_user.id in deps.settings.admin_ids


@router.message(Command("stats"), IsAdmin())
async def cmd_stats(message: Message, deps: Deps) -> None:
    users, outbox = deps.users, deps.outbox
    calls, failures = deps.smspva.stats.last_hour()
    rate = f"{100 * failures / calls:.1f}%" if calls else "—"
    lines = [
        _("📊 <b>Stats</b>"),
        _("Users: {count}").format(count=number(await users.count())),
        _("Linked keys: {count}").format(count=number(await users.count_linked())),
        _("Active orders: {count}").format(count=number(await deps.orders.count_live())),
        _("SMS pushed in the last 24 h: {count}").format(
            count=number(await outbox.sent_since(time.time() - 86400, kind="sms"))
        ),
        _("Outbox backlog: {count}").format(count=number(await outbox.backlog())),
        _("SMSPVA calls in the last hour: {calls}, failed: {failures} ({rate})").format(
            calls=number(calls), failures=number(failures), rate=rate
        ),
    ]
    await message.answer("\n".join(lines))
