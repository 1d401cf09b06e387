"""Shared by the benchmarks: result files, percentiles, /proc readings, the bot as a child process,
seeding linked users straight into the bot's database, and watching the Telegram fake's sendMessage log.

Everything binds 127.0.0.1 only. Times compared across processes use ``time.monotonic()``, which on
Linux is CLOCK_MONOTONIC and therefore the same clock in every process of the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import platform
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config import Settings
from tests.fakes.telegram import ApiCall, FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
TOKEN = "123456:TEST-token"  # the Telegram fake's default token
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Every setting of the bot (its env var is the field name upper-cased): a child bot gets exactly what the
# benchmark sets, nothing inherited from the calling shell.
BOT_ENV_NAMES = frozenset(name.upper() for name in Settings.model_fields)


# --------------------------------------------------------------------------------------------- numbers


def summarize(values: Iterable[float], scale: float = 1.0, digits: int = 3) -> dict[str, Any]:
    """n, min, p50, p95, max, mean (nearest-rank percentiles), each multiplied by ``scale``."""
    ordered = sorted(v * scale for v in values)
    if not ordered:
        return {"n": 0}

    def rank(p: float) -> float:
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    return {
        "n": len(ordered),
        "min": round(ordered[0], digits),
        "p50": round(rank(50), digits),
        "p95": round(rank(95), digits),
        "max": round(ordered[-1], digits),
        "mean": round(statistics.fmean(ordered), digits),
    }


def git_state() -> dict[str, Any]:
    """The commit measured, and whether bot/ had uncommitted changes at the time."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "bot"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"commit": commit, "bot_dirty": bool(dirty)}


# The bot code may change while a long benchmark runs (a shared working tree): record both ends.
GIT_AT_START = git_state()


def write_result(name: str, data: dict[str, Any]) -> Path:
    """Write bench/results/<name>-<stamp>.json and a copy as bench/results/<name>.json (the latest)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": name,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "argv": sys.argv,
        },
        "git": {"at_start": GIT_AT_START, "at_end": git_state()},
        **data,
    }
    text = json.dumps(payload, indent=2, ensure_ascii=False, default=str)
    path = RESULTS_DIR / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(text, encoding="utf-8")
    (RESULTS_DIR / f"{name}.json").write_text(text, encoding="utf-8")
    return path


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# ---------------------------------------------------------------------------------------------- /proc


@dataclass(frozen=True)
class ProcSample:
    at: float  # time.monotonic()
    cpu_seconds: float  # utime + stime
    rss_mb: float  # VmRSS
    hwm_mb: float  # VmHWM: peak resident set size so far
    threads: int


def proc_sample(pid: int) -> ProcSample:
    """CPU and memory of a live process, from /proc/<pid>/stat and /proc/<pid>/status."""
    status: dict[str, str] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        status[key] = value.strip()
    stat = Path(f"/proc/{pid}/stat").read_text()
    rest = stat[stat.rindex(")") + 2 :].split()  # rest[0] is field 3 (state)
    cpu = (int(rest[11]) + int(rest[12])) / CLK_TCK  # fields 14 utime, 15 stime
    return ProcSample(
        at=time.monotonic(),
        cpu_seconds=cpu,
        rss_mb=int(status["VmRSS"].split()[0]) / 1024,
        hwm_mb=int(status["VmHWM"].split()[0]) / 1024,
        threads=int(status["Threads"]),
    )


def self_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


class ProcMonitor:
    """Samples a process every ``interval`` seconds in the background; keeps the series (thinned)."""

    def __init__(self, pid: int, interval: float = 1.0) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[ProcSample] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"monitor-{self.pid}")

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(FileNotFoundError, ProcessLookupError, KeyError, ValueError):
                self.samples.append(proc_sample(self.pid))
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @property
    def peak_rss_mb(self) -> float:
        return max((s.hwm_mb for s in self.samples), default=0.0)

    def series(self, since: float, every: float = 5.0) -> list[dict[str, float]]:
        """[{t, cpu_s, rss_mb}] relative to ``since``, one point per ``every`` seconds."""
        points: list[dict[str, float]] = []
        next_t = -math.inf
        for sample in self.samples:
            t = sample.at - since
            if t >= next_t:
                points.append(
                    {
                        "t": round(t, 1),
                        "cpu_s": round(sample.cpu_seconds, 2),
                        "rss_mb": round(sample.rss_mb, 1),
                    }
                )
                next_t = t + every
        return points


# -------------------------------------------------------------------------------------- child processes


def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in BOT_ENV_NAMES}
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def bot_env(
    *,
    telegram_api_url: str,
    smspva_api_url: str,
    database_path: Path,
    poll_active_seconds: float = 5.0,
    poll_idle_seconds: float = 30.0,
    min_interval_seconds: float = 1.0,
    log_level: str = "INFO",
    **extra: str,
) -> dict[str, str]:
    values = {
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": telegram_api_url,
        "SMSPVA_API_URL": smspva_api_url,
        "SMSPVA_BALANCE_URL": smspva_api_url.replace("/api/rent.php", "/activation/balance"),
        "DATABASE_PATH": str(database_path),
        "POLL_ACTIVE_SECONDS": str(poll_active_seconds),
        "POLL_IDLE_SECONDS": str(poll_idle_seconds),
        "SMSPVA_MIN_INTERVAL_SECONDS": str(min_interval_seconds),
        "LOG_LEVEL": log_level,
    }
    values.update(extra)
    return values


class BotProcess:
    """`python -m bot` as a child process (cwd = a scratch directory, so no stray .env is read)."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.env = env
        self.log_path = workdir / "bot.log"
        self.proc: asyncio.subprocess.Process | None = None
        self.started_at = 0.0
        self.ready_at = 0.0
        self.returncode: int | None = None
        self.stop_seconds: float | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self, tg: FakeTelegram, timeout: float = 60.0) -> None:
        """Start it and wait for its first getUpdates (the dispatcher is polling, background tasks run)."""
        polls_before = len(tg.calls_of("getUpdates"))
        with self.log_path.open("ab") as log:
            self.started_at = time.monotonic()
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                cwd=self.workdir,
                env=child_env(self.env),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + timeout
        while len(tg.calls_of("getUpdates")) <= polls_before:
            if self.proc.returncode is not None:
                raise RuntimeError(f"the bot exited with {self.proc.returncode}; see {self.log_path}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the bot did not start polling within {timeout}s; see {self.log_path}")
            await asyncio.sleep(0.05)
        self.ready_at = time.monotonic()

    async def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (a clean stop), SIGKILL after ``timeout``; returns the exit code."""
        if self.proc is None or self.proc.returncode is not None:
            self.returncode = self.proc.returncode if self.proc else None
            return self.returncode
        began = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.returncode = await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            self.proc.kill()
            self.returncode = await self.proc.wait()
        self.stop_seconds = round(time.monotonic() - began, 2)
        return self.returncode

    def log_levels(self) -> dict[str, int]:
        """How many lines the bot logged per level (ERROR lines are worth a look)."""
        counts: dict[str, int] = {}
        if self.log_path.exists():
            for line in self.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
                marker = line.find("level=")
                if marker >= 0:
                    level = line[marker + 6 :].split(" ", 1)[0]
                    counts[level] = counts.get(level, 0) + 1
        return counts

    def error_lines(self, limit: int = 5) -> list[str]:
        if not self.log_path.exists():
            return []
        lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return [line[:300] for line in lines if "level=ERROR" in line or "Traceback" in line][:limit]


# ------------------------------------------------------------------------------------------ bot database


async def seed_users(database_path: Path, entries: Sequence[tuple[int, str]], language: str = "en") -> float:
    """Create users with linked keys the way the bot does (UsersRepo.set_api_key); returns seconds taken.

    The secret key is generated into secret.key beside the database, where the bot will find it.
    """
    from bot.crypto import KeyBox, load_secret_keys
    from bot.db import Database, UsersRepo

    began = time.monotonic()
    db = Database(database_path)
    await db.connect()
    try:
        keybox = KeyBox(*load_secret_keys(None, database_path.parent / "secret.key"))
        users = UsersRepo(db, keybox)
        for user_id, apikey in entries:
            await users.get_or_create(user_id, language)
            await users.set_api_key(user_id, apikey)
    finally:
        await db.close()
    return time.monotonic() - began


def count_synced(database_path: Path) -> int:
    """Orders the poller has taken its SMS baseline of (read-only; WAL lets us read beside the bot)."""
    try:
        conn = sqlite3.connect(f"file:{database_path}?mode=ro", uri=True, timeout=5)
    except sqlite3.OperationalError:
        return 0
    try:
        row = conn.execute("SELECT COUNT(*) FROM user_orders WHERE sms_synced = 1 AND gone = 0").fetchone()
        return int(row[0]) if row else 0
    except sqlite3.OperationalError:  # table not there yet
        return 0
    finally:
        conn.close()


async def wait_synced(
    database_path: Path, expected: int, timeout: float, progress: Callable[[int], None] | None = None
) -> float:
    """Wait until ``expected`` orders are baselined; returns the seconds waited (raises on timeout)."""
    began = time.monotonic()
    last_report = began
    while True:
        synced = await asyncio.to_thread(count_synced, database_path)
        if synced >= expected:
            return time.monotonic() - began
        now = time.monotonic()
        if now - began > timeout:
            raise TimeoutError(f"only {synced}/{expected} orders baselined after {timeout:.0f}s")
        if progress is not None and now - last_report >= 10:
            progress(synced)
            last_report = now
        await asyncio.sleep(0.5)


# ------------------------------------------------------------------------------------ Telegram sendMessage


@dataclass
class SendWatcher:
    """Reads the Telegram fake's call log incrementally and collects successful sendMessage calls."""

    tg: FakeTelegram
    sends: list[ApiCall] = field(default_factory=list)
    failed: list[ApiCall] = field(default_factory=list)
    _index: int = 0

    def skip_existing(self) -> None:
        self._index = len(self.tg.calls)

    def poll(self) -> list[ApiCall]:
        """New finished sendMessage calls since the last poll (stops at one still being handled)."""
        fresh: list[ApiCall] = []
        calls = self.tg.calls
        while self._index < len(calls):
            call = calls[self._index]
            if call.method.lower() == "sendmessage":
                if call.response is None:
                    break  # still in its handler: look again next time
                if call.response.get("ok"):
                    fresh.append(call)
                else:
                    self.failed.append(call)
            self._index += 1
        self.sends.extend(fresh)
        return fresh


def chat_of(call: ApiCall) -> int:
    return int(call.params.get("chat_id", 0))


def text_of(call: ApiCall) -> str:
    return str(call.params.get("text", ""))


def bot_process_for(
    args: Any, workdir: Path, telegram_api_url: str, smspva_api_url: str, database_path: Path
) -> BotProcess:
    """The bot child process configured from a benchmark's common command-line options."""
    return BotProcess(
        workdir,
        bot_env(
            telegram_api_url=telegram_api_url,
            smspva_api_url=smspva_api_url,
            database_path=database_path,
            poll_active_seconds=args.poll_active,
            poll_idle_seconds=args.poll_idle,
            min_interval_seconds=args.min_interval,
            log_level=args.log_level,
        ),
    )
