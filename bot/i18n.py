"""Gettext catalogs: compiled from `locales/*.po` at start, and the per-update locale middleware."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18n, I18nMiddleware
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.db import UserRow

log = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
DEFAULT_LOCALE = "en"
# Offered in /language; keys are gettext locale names, values each language's own name.
LANGUAGES: dict[str, str] = {"en": "English", "ru": "Русский", "ar": "العربية"}


def compile_catalogs(path: Path = LOCALES_DIR) -> None:
    """Compile every `<locale>/LC_MESSAGES/messages.po` whose `.mo` is missing or older."""
    for po_path in sorted(path.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        tmp_path = mo_path.with_suffix(".mo.tmp")
        try:
            with tmp_path.open("wb") as mo_file:
                write_mo(mo_file, catalog)
            tmp_path.replace(mo_path)  # atomic: a concurrent start never reads half a file
        except OSError as error:
            if not mo_path.exists():
                raise
            # A read-only install (the Docker image compiles at build time): use what is there.
            log.warning(
                "catalog not recompiled locale=%s reason=%s", po_path.parent.parent.name, error.strerror
            )
            continue
        log.info("compiled catalog locale=%s", po_path.parent.parent.name)


def create_i18n(path: Path = LOCALES_DIR) -> I18n:
    compile_catalogs(path)
    return I18n(path=path, default_locale=DEFAULT_LOCALE, domain=DOMAIN)


def pick_locale(saved: str | None, telegram_code: str | None) -> str:
    """The user's saved choice, else Telegram's language_code (e.g. "ru-RU" -> "ru"), else en."""
    if saved in LANGUAGES:
        return saved
    if telegram_code:
        base = telegram_code.replace("_", "-").split("-")[0].lower()
        if base in LANGUAGES:
            return base
    return DEFAULT_LOCALE


def user_locale(user: UserRow) -> str:
    """For messages the bot sends on its own (no update to read language_code from)."""
    return pick_locale(user.language, user.tg_language)


class LocaleMiddleware(I18nMiddleware):
    """Runs after KnownUserMiddleware, which puts the user's saved row (if any) into `data["user"]`."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: UserRow | None = data.get("user")
        tg_user: User | None = data.get("event_from_user")
        return pick_locale(user.language if user else None, tg_user.language_code if tg_user else None)
