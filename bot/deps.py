"""The one typed bundle of long-lived dependencies, built once in `app.py`.

It is handed to the Dispatcher as `deps=...`; a handler asks for `deps: Deps` and uses the pieces
it needs by attribute, so mypy sees every dependency and tests build the same bundle with fakes.
Adding a dependency is one field here and one keyword in `create_app`.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.utils.i18n import I18n

from bot.config import Settings
from bot.db import Database, UsersRepo
from bot.db.choices import ChoicesRepo
from bot.db.confirmations import ConfirmationsRepo
from bot.db.expiry import ExpiryRepo
from bot.db.orders import OrdersRepo
from bot.db.outbox import OutboxRepo
from bot.services.balance import Balances
from bot.services.catalog import Catalog
from bot.services.key_links import KeyLinks
from bot.services.locks import UserLocks
from bot.services.notifier import Notifier
from bot.services.order_actions import OrderActions
from bot.services.outbox import OutboxSender
from bot.services.payments import PaymentRecovery
from bot.services.poller import SmsPoller
from bot.services.renting import Renter
from bot.smspva import SmspvaClient


@dataclass(frozen=True, slots=True, kw_only=True)
class Deps:
    settings: Settings
    i18n: I18n
    db: Database
    # repositories, one name per concern
    users: UsersRepo
    confirmations: ConfirmationsRepo
    orders: OrdersRepo
    choices: ChoicesRepo
    expiry: ExpiryRepo
    outbox: OutboxRepo
    # upstream and request-time services
    smspva: SmspvaClient
    catalog: Catalog
    balances: Balances  # the account balance shown before paying (~30 s cache, None when unreadable)
    renter: Renter
    key_links: KeyLinks  # linking a key: one key, one account
    order_actions: OrderActions
    user_locks: UserLocks
    payments: PaymentRecovery  # settles a confirmation whose outcome never reached the user
    # background services handlers talk to
    sender: OutboxSender
    notifier: Notifier  # the one way into a chat for anything not on the screen being answered
    poller: SmsPoller


def deps_of(data: dict[str, object]) -> Deps:
    """The bundle from a middleware's `data` (handlers simply ask for `deps: Deps`)."""
    deps = data["deps"]
    assert isinstance(deps, Deps)
    return deps
