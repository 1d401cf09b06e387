"""Renting a number: country → service (searchable) → period → summary → one `create`, one
module per step."""

from __future__ import annotations

from aiogram import Router

from bot.handlers.rent import countries, periods, result, services, summary

router = Router(name=__name__)
router.include_routers(countries.router, services.router, periods.router, summary.router, result.router)
