"""One aiosqlite connection in WAL mode, with migrations applied at start."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from bot.db.migrations import MIGRATIONS


class DatabaseError(RuntimeError):
    """The database file cannot be opened or migrated; the message says why, for an operator."""


class Database:
    """Owns the connection; repositories borrow it."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._conn: aiosqlite.Connection | None = None
        # One connection is shared by every coroutine. Each operation (and each multi-statement
        # transaction) holds this lock from first statement to commit, so coroutines never
        # interleave statements inside one another's transactions — an interleaved commit or
        # rollback would otherwise commit or undo someone else's half-done work.
        self._lock = asyncio.Lock()

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise DatabaseError("database is not connected")
        return self._conn

    async def connect(self) -> None:
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(self.path, timeout=5.0)
        self._conn = conn  # from here on, close() releases its thread whatever fails
        try:
            conn.row_factory = aiosqlite.Row
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute("PRAGMA busy_timeout=5000")
            await self._check_integrity()
            await self._migrate()
        except sqlite3.DatabaseError as error:
            await self.close()
            raise DatabaseError(f"cannot open database {self.path}: {error}") from error

    async def _check_integrity(self) -> None:
        async with self.conn.execute("PRAGMA quick_check") as cursor:
            row = await cursor.fetchone()
        if row is None or row[0] != "ok":
            raise DatabaseError(f"database {self.path} failed its integrity check: {row[0] if row else '?'}")

    async def _migrate(self) -> None:
        async with self.conn.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        current = int(row[0]) if row else 0
        if current > len(MIGRATIONS):
            raise DatabaseError(
                f"database {self.path} has schema version {current}, newer than this bot "
                f"({len(MIGRATIONS)}): upgrade the bot or restore a backup"
            )
        for version in range(current + 1, len(MIGRATIONS) + 1):
            await self.conn.executescript(
                f"BEGIN;\n{MIGRATIONS[version - 1]}\nPRAGMA user_version = {version};\nCOMMIT;"
            )

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        async with self._lock, self.conn.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        async with self._lock, self.conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement and commit; return the number of rows changed."""
        async with self.transaction() as conn, conn.execute(sql, params) as cursor:
            return int(cursor.rowcount)

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.transaction() as conn:
            await conn.executemany(sql, rows)

    async def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run an INSERT and commit; return the new row id."""
        async with self.transaction() as conn, conn.execute(sql, params) as cursor:
            return int(cursor.lastrowid or 0)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Statements inside run alone and commit together, or roll back together."""
        async with self._lock:
            try:
                yield self.conn
            except BaseException:
                await self.conn.rollback()
                raise
            await self.conn.commit()
