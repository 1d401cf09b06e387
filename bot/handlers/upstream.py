"""What screens need before talking to SMSPVA: the user's key, and their orders as SMSPVA lists them.

Both raise instead of answering: a missing key is `KeyMissing`, an upstream failure is the client's
`SmspvaError`/`SmspvaUnavailable`, and `bot.handlers.errors` turns each into the user's message.
"""

from __future__ import annotations

from decimal import Decimal

from bot.crypto import UndecryptableKeyError
from bot.db import UserRow
from bot.deps import Deps
from bot.messages import balance_lines
from bot.services.stored_keys import pause_undecryptable
from bot.smspva import Order


class KeyMissing(Exception):
    """The action needs the user's SMSPVA API key and none is linked."""


async def stored_key(deps: Deps, user: UserRow) -> str | None:
    """The user's key, or None. A stored key the secret cannot decrypt counts as none: the user is
    paused and told once (`pause_undecryptable`), and linking the key again is the way out."""
    try:
        return await deps.users.api_key(user.id)
    except UndecryptableKeyError:
        await pause_undecryptable(deps.users, deps.notifier, user.id)
        return None


async def require_key(deps: Deps, user: UserRow) -> str:
    apikey = await stored_key(deps, user)
    if apikey is None:
        raise KeyMissing
    return apikey


async def fetch_orders(deps: Deps, user: UserRow, apikey: str) -> list[Order]:
    """The user's orders, read with their own key (and remembered for the poller)."""
    orders = await deps.smspva.orders(apikey)
    for order in orders:
        await deps.orders.upsert_seen(user.id, order)
    return orders


async def balance_note(deps: Deps, user: UserRow, total: Decimal | None = None) -> list[str]:
    """The balance lines of a payment screen (empty without a key or when it cannot be read)."""
    if not user.has_key:
        return []
    balance = await deps.balances.get(await deps.users.api_key(user.id))
    return balance_lines(balance, total, deps.settings.top_up_url)


async def balance_short(deps: Deps, user: UserRow, total: Decimal) -> bool:
    """The balance is known and below `total` (from the same ~30 s cache as the note)."""
    if not user.has_key:
        return False
    balance = await deps.balances.get(await deps.users.api_key(user.id))
    return balance is not None and total > balance


async def catalog_key(deps: Deps, user: UserRow) -> str | None:
    """The key to price the catalog with (`getdata` may price per account): the user's own once
    linked and not rejected; None (keyless) before that, so browsing works before linking."""
    if not user.has_key or user.key_invalid:
        return None
    try:
        return await deps.users.api_key(user.id)
    except UndecryptableKeyError:
        return None  # the user is paused and told to link again; browsing goes on keyless
