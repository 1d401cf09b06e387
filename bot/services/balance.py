"""The SMSPVA account balance, shown before paying: cached ~30 s per key, never an error.

Read from SMSPVA's activation API (`SMSPVA_BALANCE_URL`, the same account key). A balance that
cannot be read is simply not shown (None): the screens work without it, and the charge itself is
SMSPVA's to refuse ("balance is not enough" is explained after the Confirm as before). After a
money call the cached figure is dropped, so the next screen shows the new balance.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from decimal import Decimal

from bot.smspva import SmspvaClient, SmspvaError, SmspvaUnavailable

log = logging.getLogger(__name__)

BALANCE_CACHE_SECONDS = 30.0
# A failed read is remembered as briefly: a down endpoint costs one try per key per 30 s, not one per screen.
PRUNE_AT = 4096


class Balances:
    def __init__(
        self,
        client: SmspvaClient,
        url: str,
        *,
        ttl: float = BALANCE_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._url = url
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, Decimal | None]] = {}

    async def get(self, apikey: str | None) -> Decimal | None:
        """The balance in USD, or None when there is no key or it cannot be read right now."""
        if not apikey or not self._url:
            return None
        now = self._clock()
        cached = self._cache.get(apikey)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        value: Decimal | None
        try:
            value = await self._client.balance(apikey, self._url)
        except (SmspvaError, SmspvaUnavailable) as error:
            log.info("balance not shown reason=%s", getattr(error, "reason", type(error).__name__))
            value = None
        if len(self._cache) > PRUNE_AT:
            self._cache = {k: v for k, v in self._cache.items() if now - v[0] < self._ttl}
        self._cache[apikey] = (now, value)
        return value

    def forget(self, apikey: str) -> None:
        """Money moved (or may have): the next screen reads the balance anew."""
        self._cache.pop(apikey, None)
