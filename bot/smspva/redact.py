"""Keep SMSPVA API keys out of logs.

The rent API takes the key in the query string, and httpx logs every request URL at INFO on the "httpx"
logger. Nothing in :mod:`bot.smspva.client` logs a URL, but third-party lines and exception texts may, so
logging setup (``bot/logs.py``) calls :func:`install_redaction` once its handlers exist.

``redact`` replaces the value after ``apikey=`` (also ``api_key``/``api-key``, any case, and the
``'apikey': '...'`` form of a logged dict) up to the next ``&``, whitespace or quote with ``***``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Final

__all__ = ["ApiKeyRedactingFilter", "install_redaction", "redact", "uninstall_redaction"]

_API_KEY_VALUE = re.compile(
    r"""(?P<prefix>api[-_]?key(?:%3D|['"]?\s*[:=]\s*['"]?))(?P<value>[^&\s'"]+)""",
    re.IGNORECASE,
)
_MASK: Final = "***"

# Loggers that get the filter themselves, so that records they emit are clean before any handler sees them
# (logger-level filters do not apply to records propagated from child loggers, hence the explicit children).
_THIRD_PARTY_LOGGERS: Final = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
)


def redact(text: str) -> str:
    """``text`` with every API key value replaced by ``***``."""
    return _API_KEY_VALUE.sub(lambda match: match.group("prefix") + _MASK, text)


class ApiKeyRedactingFilter(logging.Filter):
    """Rewrites a record in place so that neither its message nor its exception text shows an API key.

    Arguments are redacted one by one when possible (keeping ``%d`` and friends working); objects such as
    httpx's ``URL`` are redacted through ``str()``. If the rendered message still matches, the record is
    flattened to its redacted message. Never drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        elif record.msg is not None:
            text = str(record.msg)
            if redact(text) != text:
                record.msg = redact(text)
        args = record.args
        if isinstance(args, Mapping):
            record.args = {key: _redact_arg(value) for key, value in args.items()}
        elif isinstance(args, tuple):
            record.args = tuple(_redact_arg(value) for value in args)

        try:
            message = record.getMessage()
        except Exception:  # broken format/args: the handler reports it; a filter must not raise
            message = None
        if message is not None and redact(message) != message:
            record.msg, record.args = redact(message), None

        if record.exc_info and not record.exc_text:
            # Render now (as Formatter.format would, and it reuses a set exc_text) so it can be redacted.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def _redact_arg(value: object) -> object:
    if isinstance(value, bool | int | float) or value is None:
        return value
    try:
        text = str(value)
    except Exception:  # an argument whose __str__ fails: leave it for logging's own error reporting
        return value
    redacted = redact(text)
    return value if redacted == text else redacted


def install_redaction(logger: logging.Logger | None = None) -> ApiKeyRedactingFilter:
    """Add one :class:`ApiKeyRedactingFilter` to every handler of ``logger`` (default: the root logger)
    and to the httpx/httpcore loggers. Idempotent; returns the filter (e.g. to remove it in tests).

    Call it after the handlers are configured: handlers added later are not covered.
    """
    target = logging.getLogger() if logger is None else logger
    existing = _find_filter(target)
    flt = existing if existing is not None else ApiKeyRedactingFilter()
    for handler in target.handlers:
        if not any(isinstance(f, ApiKeyRedactingFilter) for f in handler.filters):
            handler.addFilter(flt)
    for name in _THIRD_PARTY_LOGGERS:
        third_party = logging.getLogger(name)
        if not any(isinstance(f, ApiKeyRedactingFilter) for f in third_party.filters):
            third_party.addFilter(flt)
    return flt


def _find_filter(logger: logging.Logger) -> ApiKeyRedactingFilter | None:
    candidates = [*logger.handlers, *(logging.getLogger(name) for name in _THIRD_PARTY_LOGGERS)]
    for holder in candidates:
        for flt in holder.filters:
            if isinstance(flt, ApiKeyRedactingFilter):
                return flt
    return None


def uninstall_redaction(flt: ApiKeyRedactingFilter, logger: logging.Logger | None = None) -> None:
    """Undo :func:`install_redaction` (tests)."""
    target = logging.getLogger() if logger is None else logger
    for handler in target.handlers:
        handler.removeFilter(flt)
    for name in _THIRD_PARTY_LOGGERS:
        logging.getLogger(name).removeFilter(flt)
