"""One Router per screen; `get_routers()` gives them in the order they must be included."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import (
    account,
    admin,
    archive,
    errors,
    fallback,
    language,
    membership,
    orders,
    rent,
    settings,
    start,
    watches,
)


def _detached(router: Router) -> Router:
    """Module-level routers may be included by more than one Dispatcher in one process (a restart
    inside the test suite, a benchmark): release them from the previous one first."""
    parent = router.parent_router
    if parent is not None:
        parent.sub_routers.remove(router)
        router._parent_router = None
    return router


def get_routers() -> list[Router]:
    # fallback catches everything unhandled, so it goes after every screen; errors goes last.
    routers = [
        start.router,
        admin.router,
        account.router,
        language.router,
        settings.router,
        watches.router,
        rent.router,
        orders.router,
        archive.router,
        membership.router,
        fallback.router,
        errors.router,
    ]
    return [_detached(router) for router in routers]
