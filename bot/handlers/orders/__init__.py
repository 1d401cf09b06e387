"""My numbers: the order list, the order card and every order action, one module per action.

Callback data is never trusted: `OwnedOrderMiddleware`, on this package's router, re-reads the
user's orders from SMSPVA with their own key for every order button (but the list), and an order
id that is not among them is refused before any handler runs.
"""

from __future__ import annotations

from aiogram import Router

from bot.handlers.orders import (
    activate,
    add_service,
    auto_prolong,
    card,
    delete,
    listing,
    prolong,
    sms,
)
from bot.handlers.orders.ownership import OwnedOrderMiddleware

router = Router(name=__name__)
router.callback_query.middleware(OwnedOrderMiddleware())
router.include_routers(
    listing.router,
    card.router,
    activate.router,
    sms.router,
    prolong.router,
    add_service.router,
    delete.router,
    auto_prolong.router,
)
