"""Logging set up once, with API keys redacted from every record whatever logger emits it."""

from __future__ import annotations

import logging
import sys

from bot.smspva.redact import install_redaction

_FORMAT = "%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"


def setup_logging(level: str) -> None:
    """Configure the root logger for the process (stderr, key=value lines)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request URL at INFO, and SMSPVA keys travel in the URL: the filter
    # rewrites those lines, and we keep httpx at WARNING anyway to spare the log.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("httpcore").setLevel(max(logging.WARNING, root.level))
    install_redaction()
