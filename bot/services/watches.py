"""'Notify me when available': one check per watched country per round, shared by all watchers."""

from __future__ import annotations

import logging
from collections import defaultdict

from bot.db.choices import ChoicesRepo, Watch
from bot.db.users import UsersRepo
from bot.pushes import watch_hit
from bot.services.catalog import Catalog
from bot.services.notifier import Notifier
from bot.smspva import Service, SmspvaError, SmspvaUnavailable

log = logging.getLogger(__name__)

CHECK_SECONDS = 60.0  # the issue: at most once a minute per country


class WatchService:
    def __init__(
        self,
        choices: ChoicesRepo,
        users: UsersRepo,
        catalog: Catalog,
        notifier: Notifier,
    ) -> None:
        self._choices = choices
        self._users = users
        self._catalog = catalog
        self._notifier = notifier

    async def check_once(self) -> None:
        await self._choices.purge_expired_watches()
        by_country: dict[str, list[Watch]] = defaultdict(list)
        for watch in await self._choices.active_watches():
            by_country[watch.country].append(watch)
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
                # Queued (with a dedup key, so a stop in between cannot repeat it) before the watch goes.
                await self._notify(watch, service, api_name)
                await self._choices.delete_watch(watch.id)

    async def _notify(self, watch: Watch, service: Service, api_name: str) -> bool:
        user = await self._users.get(watch.user_id)
        if user is None:
            return False
        return await self._notifier.notify(
            user,
            "watch",
            lambda: watch_hit(watch.country, api_name, watch.service, service),
            dedup_key=f"watch:{watch.id}",
        )
