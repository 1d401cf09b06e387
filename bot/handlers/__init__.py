"""One Router per screen; `get_routers()` gives them in the order they must be included."""

from __future__ import annotations

from aiogram import Router

from bot.handlers import account, confirm, errors, fallback, language, rent, settings, start


def get_routers() -> list[Router]:
    # fallback catches everything unhandled, so it goes after every screen; errors goes last.
    return [
        start.router,
        account.router,
        language.router,
        settings.router,
        rent.router,
        confirm.router,
        fallback.router,
        errors.router,
    ]
