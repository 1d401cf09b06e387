"""'Notify me when available': one check per watched country per round, shared by all watchers."""

from __future__ import annotations

import logging
from collections import defaultdict

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import RentAction, RentCb
from bot.db.choices import ChoicesRepo, Watch
from bot.db.outbox import NewMessage, OutboxRepo
from bot.db.users import UsersRepo
from bot.formatting import country_name, escape, flag, number
from bot.i18n import user_locale
from bot.services.catalog import Catalog
from bot.services.outbox import OutboxSender
from bot.smspva import Service, SmspvaError, SmspvaUnavailable

log = logging.getLogger(__name__)

CHECK_SECONDS = 60.0  # the issue: at most once a minute per country


class WatchService:
    def __init__(
        self,
        choices: ChoicesRepo,
        users: UsersRepo,
        catalog: Catalog,
        outbox: OutboxRepo,
        sender: OutboxSender,
        i18n: I18n,
    ) -> None:
        self._choices = choices
        self._users = users
        self._catalog = catalog
        self._outbox = outbox
        self._sender = sender
        self._i18n = i18n

    async def check_once(self) -> None:
        await self._choices.purge_expired_watches()
        by_country: dict[str, list[Watch]] = defaultdict(list)
        for watch in await self._choices.active_watches():
            by_country[watch.country].append(watch)
        queued = 0
        for country, watches in by_country.items():
            try:
                listing = await self._catalog.services(country, refresh=True)
                country_entry = await self._catalog.country(country)
            except (SmspvaError, SmspvaUnavailable) as error:
                log.info("watch check skipped country=%s error=%s", country, type(error).__name__)
                continue
            services = {service.code: service for service in listing.services}
            api_name = country_entry.name if country_entry else country
            for watch in watches:
                service = services.get(watch.service)
                if service is None or service.count <= 0:
                    continue
                if await self._notify(watch, service, api_name):
                    queued += 1
                await self._choices.delete_watch(watch.id)
        if queued:
            self._sender.wake()

    async def _notify(self, watch: Watch, service: Service, api_name: str) -> bool:
        user = await self._users.get(watch.user_id)
        if user is None:
            return False
        with self._i18n.context(), self._i18n.use_locale(user_locale(user)):
            text = _("🔔 {service} numbers are available again in {country}: {count} now.").format(
                service=escape(service.name),
                country=f"{flag(watch.country)} {escape(country_name(watch.country, api_name))}",
                count=number(service.count),
            )
            markup = InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        InlineKeyboardButton(
                            text="📱 " + _("Rent"),
                            callback_data=RentCb(
                                action=RentAction.SERVICE, country=watch.country, service=watch.service
                            ).pack(),
                        )
                    ]
                ]
            )
        return await self._outbox.enqueue(
            NewMessage(
                user_id=user.id,
                kind="watch",
                text=text,
                markup=markup.model_dump(exclude_none=True),
                dedup_key=f"watch:{watch.id}",
            )
        )
