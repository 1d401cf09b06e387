"""The HTTP side: the webhook endpoint (webhook mode) and /healthz (both modes)."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import urlsplit

from aiohttp import web

from bot.db import Database
from bot.db.outbox import OutboxRepo
from bot.services.background import Heartbeat
from bot.services.poller import SmsPoller

HealthCheck = Callable[[], Awaitable[tuple[bool, dict[str, object]]]]


def webhook_path(webhook_url: str) -> str:
    """The path Telegram posts to: the path part of WEBHOOK_URL, "/webhook" if it has none."""
    path = urlsplit(webhook_url).path
    return path if path and path != "/" else "/webhook"


def health_check(
    db: Database,
    poller: SmsPoller,
    outbox: OutboxRepo,
    lag_limit: float,
    mode: str,
    loops: Mapping[str, Heartbeat],
) -> HealthCheck:
    """200 while the database answers, the poller is on time and every background loop has completed
    a round recently (its own `stale_after`); 503 otherwise, with each loop's last good round."""
    started = time.monotonic()

    async def check() -> tuple[bool, dict[str, object]]:
        try:
            await db.fetch_one("SELECT 1")
            database_ok = True
            backlog: int | None = await outbox.backlog()
        except Exception:  # any database failure is exactly what /healthz must report
            database_ok, backlog = False, None
        lag = round(poller.lag, 3)
        stale = sorted(name for name, beat in loops.items() if beat.stale())
        healthy = database_ok and lag <= lag_limit and not stale
        return healthy, {
            "status": "ok" if healthy else "degraded",
            "mode": mode,
            "database": database_ok,
            "poller_lag_seconds": lag,
            "outbox_backlog": backlog,
            "uptime_seconds": round(time.monotonic() - started),
            "stale_loops": stale,
            "loops": {name: beat.report() for name, beat in loops.items()},
        }

    return check


def add_health_route(app: web.Application, check: HealthCheck) -> None:
    async def healthz(_request: web.Request) -> web.Response:
        healthy, body = await check()
        return web.Response(
            text=json.dumps(body), content_type="application/json", status=200 if healthy else 503
        )

    app.router.add_get("/healthz", healthz)
