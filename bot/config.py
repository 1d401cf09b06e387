"""Runtime configuration, read only from environment variables (and an optional `.env`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Telegram tokens look like "123456789:AA...": a numeric bot id, a colon, a URL-safe secret.
_TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{1,100}$")

# Links shown to users; SMSPVA's own site unless the operator points them elsewhere.
DEFAULT_SUPPORT_URL = "https://smspva.com/"
DEFAULT_TOP_UP_URL = "https://smspva.com/"
DEFAULT_API_KEY_URL = "https://smspva.com/"


def _parse_id_list(value: object) -> object:
    """Accept "1, 2,3" (the documented form), a single int, or an already parsed list."""
    if isinstance(value, int):
        return {value}
    if isinstance(value, str):
        parts = [part.strip() for part in value.split(",")]
        return {int(part) for part in parts if part}
    return value


def _parse_hours(value: object) -> object:
    if isinstance(value, str):
        parts = [part.strip() for part in value.split(",")]
        return sorted({int(part) for part in parts if part}, reverse=True)
    return value


class Settings(BaseSettings):
    """Every knob of the bot. Names are a public interface: never rename them."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr
    telegram_api_url: str = "https://api.telegram.org"
    smspva_api_url: str = "https://smspva.com/api/rent.php"
    # The account balance comes from SMSPVA's activation API (same key, in an `apikey` header).
    smspva_balance_url: str = "https://api.smspva.com/activation/balance"
    smspva_min_interval_seconds: float = Field(default=1.0, ge=0)
    smspva_timeout_seconds: float = Field(default=20.0, gt=0)
    database_path: Path = Path("data/bot.sqlite3")
    secret_key: SecretStr | None = None
    poll_active_seconds: float = Field(default=5.0, gt=0)
    poll_idle_seconds: float = Field(default=30.0, gt=0)
    watch_check_seconds: float = Field(default=60.0, gt=0)
    expiry_check_seconds: float = Field(default=60.0, gt=0)
    allowed_user_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    expiry_warn_hours: Annotated[tuple[int, ...], NoDecode] = (168, 24, 1)
    log_level: str = "INFO"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_host: str = "0.0.0.0"
    webhook_port: int = Field(default=8080, gt=0, lt=65536)
    health_port: int | None = Field(default=None, gt=0, lt=65536)
    throttle_per_minute: int = Field(default=40, gt=0)
    support_url: str = DEFAULT_SUPPORT_URL
    top_up_url: str = DEFAULT_TOP_UP_URL
    api_key_url: str = DEFAULT_API_KEY_URL

    @field_validator("bot_token")
    @classmethod
    def _check_token(cls, value: SecretStr) -> SecretStr:
        if not _TOKEN_RE.match(value.get_secret_value().strip()):
            raise ValueError("BOT_TOKEN is malformed: expected '<digits>:<secret>' as issued by @BotFather")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("allowed_user_ids", "admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        return _parse_id_list(value)

    @field_validator("expiry_warn_hours", mode="before")
    @classmethod
    def _split_hours(cls, value: object) -> object:
        return _parse_hours(value)

    @field_validator("expiry_warn_hours")
    @classmethod
    def _check_hours(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(hour <= 0 for hour in value):
            raise ValueError("EXPIRY_WARN_HOURS must be positive whole hours, e.g. 168,24,1")
        return tuple(sorted(set(value), reverse=True))

    @field_validator("webhook_url", "health_port", "webhook_secret", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("webhook_secret")
    @classmethod
    def _check_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram's secret_token: 1-256 characters, A-Z a-z 0-9 _ -
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError("WEBHOOK_SECRET is required when WEBHOOK_URL is set")
        if self.webhook_url and not self.webhook_url.startswith(("http://", "https://")):
            raise ValueError("WEBHOOK_URL must be an http(s) URL")
        return self

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("support_url", "top_up_url", "api_key_url")
    @classmethod
    def _check_link(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("telegram_api_url", "smspva_api_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")


def config_error_line(error: ValidationError) -> str:
    """One line for stderr naming every bad variable (`python -m bot` and `python -m bot.rotate_keys`)."""
    problems = []
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"]).upper() or "?"
        reason = "is required" if item["type"] == "missing" else item["msg"].removeprefix("Value error, ")
        problems.append(f"{name} {reason}")
    return "configuration error: " + "; ".join(problems)
