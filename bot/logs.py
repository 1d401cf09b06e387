"""Logging set up once, with API keys redacted from every record whatever logger emits it."""

from __future__ import annotations

import logging
import sys

from bot.smspva.redact import install_redaction

_FORMAT = "%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"

# Libraries that log what we must never log: httpx/httpcore print request URLs (the SMSPVA key
# travels in the query string); aiosqlite prints every statement with its parameters (SMS texts,
# phone numbers) at DEBUG. They stay at WARNING whatever LOG_LEVEL says.
_CHATTY_LIBRARIES = ("httpx", "httpcore", "aiosqlite")


def tame_libraries(level: int) -> None:
    for name in _CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, level))


def setup_logging(level: str) -> None:
    """Configure the root logger for the process (stderr, key=value lines)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    tame_libraries(root.level)
    install_redaction()  # and the key is still rewritten to apikey=*** should a URL get through
