"""Recent rent choices ("Rent again", recent countries first) and availability watches."""

from __future__ import annotations

import time
from dataclasses import dataclass

import aiosqlite

from bot.db.database import Database

RECENT_KEEP = 3
RECENT_ROWS = 10  # rows kept per user (the recent services of a country come from them)
WATCH_DAYS = 7


@dataclass(frozen=True, slots=True)
class RecentChoice:
    country: str
    service: str
    dtype: str
    dcount: int


@dataclass(frozen=True, slots=True)
class Watch:
    id: int
    user_id: int
    country: str
    service: str
    service_name: str
    expires_at: int


class ChoicesRepo:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def remember(self, user_id: int, country: str, service: str, dtype: str, dcount: int) -> None:
        await self._db.execute(
            "INSERT INTO recent_choices (user_id, country, service, dtype, dcount, used_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET used_at = excluded.used_at",
            (user_id, country, service, dtype, dcount, time.time_ns()),
        )
        # Keep only the newest few per user.
        await self._db.execute(
            "DELETE FROM recent_choices WHERE user_id = ? AND rowid NOT IN ("
            " SELECT rowid FROM recent_choices WHERE user_id = ? ORDER BY used_at DESC LIMIT ?)",
            (user_id, user_id, RECENT_ROWS),
        )

    async def recent(self, user_id: int, limit: int = RECENT_KEEP) -> list[RecentChoice]:
        rows = await self._db.fetch_all(
            "SELECT country, service, dtype, dcount FROM recent_choices WHERE user_id = ?"
            " ORDER BY used_at DESC LIMIT ?",
            (user_id, limit),
        )
        return [RecentChoice(r["country"], r["service"], r["dtype"], int(r["dcount"])) for r in rows]

    async def recent_countries(self, user_id: int) -> list[str]:
        rows = await self._db.fetch_all(
            "SELECT country, MAX(used_at) AS last FROM recent_choices WHERE user_id = ?"
            " GROUP BY country ORDER BY last DESC",
            (user_id,),
        )
        return [row["country"] for row in rows]

    # --- watches ---------------------------------------------------------------------------

    async def add_watch(self, user_id: int, country: str, service: str, service_name: str) -> None:
        now = int(time.time())
        await self._db.execute(
            "INSERT INTO watches (user_id, country, service, service_name, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET expires_at = excluded.expires_at",
            (user_id, country, service, service_name, now, now + WATCH_DAYS * 86400),
        )

    async def watches_for_user(self, user_id: int) -> list[Watch]:
        rows = await self._db.fetch_all(
            "SELECT id, user_id, country, service, service_name, expires_at FROM watches"
            " WHERE user_id = ? AND expires_at > ? ORDER BY created_at",
            (user_id, int(time.time())),
        )
        return [_watch(row) for row in rows]

    async def active_watches(self) -> list[Watch]:
        rows = await self._db.fetch_all(
            "SELECT id, user_id, country, service, service_name, expires_at FROM watches WHERE expires_at > ?",
            (int(time.time()),),
        )
        return [_watch(row) for row in rows]

    async def delete_watch(self, watch_id: int, user_id: int | None = None) -> bool:
        if user_id is None:
            return await self._db.execute("DELETE FROM watches WHERE id = ?", (watch_id,)) > 0
        return (
            await self._db.execute("DELETE FROM watches WHERE id = ? AND user_id = ?", (watch_id, user_id))
            > 0
        )

    async def purge_expired_watches(self) -> int:
        return await self._db.execute("DELETE FROM watches WHERE expires_at <= ?", (int(time.time()),))


def _watch(row: aiosqlite.Row) -> Watch:
    return Watch(
        id=int(row["id"]),
        user_id=int(row["user_id"]),
        country=row["country"],
        service=row["service"],
        service_name=row["service_name"],
        expires_at=int(row["expires_at"]),
    )
