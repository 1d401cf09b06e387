"""Operations: webhook secret, /healthz, throttling, /stats, key rotation, secrets kept out of logs."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.db import Database
from tests.conftest import API_KEY
from tests.e2e.test_e2e_push import linked_with_order, sms_messages
from tests.fakes.smspva import FakeSmspva
from tests.fakes.telegram import FakeTelegram, FakeUser
from tests.flows import link_key
from tests.harness import TOKEN, BotRunner, ErrorCollector, free_port, make_settings, webhook_overrides

ROOT = Path(__file__).resolve().parents[2]


async def _get_json(url: str) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, json.loads(await response.text())


@pytest.mark.parametrize("bot_mode", ["webhook"])
async def test_webhook_rejects_a_wrong_secret_and_serves_healthz(runner: BotRunner, tg: FakeTelegram) -> None:
    settings = runner.settings
    assert settings.webhook_url
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            settings.webhook_url,
            json={
                "update_id": 1,
                "message": {"message_id": 1, "date": 1, "chat": {"id": 1, "type": "private"}},
            },
            headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"},
        ) as response,
    ):
        assert response.status == 401
    status, body = await _get_json(f"http://127.0.0.1:{settings.webhook_port}/healthz")
    assert status == 200
    assert body["database"] is True
    assert body["mode"] == "webhook"
    assert "poller_lag_seconds" in body
    assert tg.webhook_url == settings.webhook_url


HEALTH_PORT = free_port()


@pytest.mark.parametrize("bot_mode", ["polling"])
@pytest.mark.parametrize("bot_overrides", [{"health_port": HEALTH_PORT, "webhook_host": "127.0.0.1"}])
async def test_polling_mode_healthz_on_health_port(runner: BotRunner) -> None:
    status, body = await _get_json(f"http://127.0.0.1:{HEALTH_PORT}/healthz")
    assert status == 200
    assert body["status"] == "ok"
    assert body["mode"] == "polling"
    assert body["outbox_backlog"] == 0


@pytest.mark.parametrize("bot_overrides", [{"throttle_per_minute": 5}])
async def test_a_flooding_user_is_slowed_others_are_not(
    runner: BotRunner, tg: FakeTelegram, alice: FakeUser, boris: FakeUser
) -> None:
    for _ in range(15):
        tg.send_text(alice, "/help")
    await tg.wait_message(alice.id, "going a bit fast", timeout=10)
    await asyncio.sleep(0.5)
    helps = [m for m in tg.messages(alice.id) if "FAQ" in m.text or "Help" in m.text]
    notices = [m for m in tg.messages(alice.id) if "going a bit fast" in m.text]
    assert len(helps) == 5
    assert len(notices) == 1
    tg.send_text(boris, "/start")
    await tg.wait_message(boris.id, "SMS", timeout=5)


@pytest.mark.parametrize("bot_overrides", [{"admin_ids": "1001"}])
async def test_stats_for_admins_only(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser, boris: FakeUser
) -> None:
    smspva.add_account(API_KEY)
    smspva.add_order(API_KEY, state=1, days_left=10)
    await link_key(tg, alice, API_KEY)
    await asyncio.sleep(1)
    tg.send_text(alice, "/stats")
    stats = await tg.wait_message(alice.id, "Stats")
    for fragment in ("Users: ", "Linked keys: 1", "Active orders: 1", "Outbox backlog: 0", "SMSPVA calls"):
        assert fragment in stats.text
    tg.send_text(boris, "/stats")
    await tg.wait_message(boris.id, "Не понял")


async def test_secret_key_rotation_keeps_keys_readable(
    tmp_path: Path, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    smspva.add_account(API_KEY)
    first = BotRunner(make_settings(tmp_path, tg, smspva, secret_key=old), tg)
    await first.start()
    await link_key(tg, alice, API_KEY)
    await first.stop()
    env = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
        "SECRET_KEY": f"{new},{old}",
    }
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot.rotate_keys"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "re-encrypted 1" in result.stdout
    second = BotRunner(make_settings(tmp_path, tg, smspva, secret_key=new), tg)
    app = await second.start()
    try:
        assert await app.deps.users.api_key(alice.id) == API_KEY
    finally:
        await second.stop()


def test_webhook_mode_requires_a_secret(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBHOOK", "BOT_TOKEN"))}
    env.update(
        {"BOT_TOKEN": TOKEN, "WEBHOOK_URL": "https://example.org/hook", "DATABASE_PATH": str(tmp_path / "d")}
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1
    assert "WEBHOOK_SECRET" in result.stderr


def test_webhook_overrides_are_valid() -> None:
    assert webhook_overrides()["webhook_url"].startswith("http://127.0.0.1:")


# --- supervision of background loops ----------------------------------------------------------------


def _failing_queries(
    monkeypatch: pytest.MonkeyPatch, target: object, marker: str, times: int | None
) -> Callable[[], None]:
    """`fetch_all` of `target` (a Database, or the class) raises a disk error for SQL containing `marker`,
    `times` times (None: until healed). Returns the healing switch."""
    original = target.fetch_all  # type: ignore[attr-defined]
    state = {"left": times, "on": True}

    async def fetch_all(*args: Any, **kwargs: Any) -> Any:
        sql = args[1] if isinstance(target, type) else args[0]
        if state["on"] and marker in sql and (state["left"] is None or state["left"] > 0):
            if state["left"] is not None:
                state["left"] -= 1
            raise sqlite3.OperationalError("disk I/O error")
        return await original(*args, **kwargs)

    monkeypatch.setattr(target, "fetch_all", fetch_all)

    def heal() -> None:
        state["on"] = False

    return heal


def _health_url(runner: BotRunner) -> str:
    settings = runner.settings
    port = settings.webhook_port if settings.webhook_url else settings.health_port
    return f"http://127.0.0.1:{port}/healthz"


SUPERVISED_HEALTH_PORT = free_port()


@pytest.mark.allow_error_logs
@pytest.mark.parametrize("bot_overrides", [{"health_port": SUPERVISED_HEALTH_PORT}])
async def test_the_outbox_sender_survives_a_database_error_and_healthz_shows_it(
    runner: BotRunner,
    tg: FakeTelegram,
    smspva: FakeSmspva,
    alice: FakeUser,
    error_logs: ErrorCollector,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order_id = await linked_with_order(runner, tg, smspva, alice)
    assert runner.app is not None
    status, body = await _get_json(_health_url(runner))
    assert status == 200, body
    assert body["stale_loops"] == []
    loops = body["loops"]
    assert isinstance(loops, dict)
    assert set(loops) == {"outbox", "poller", "outbox-prune", "confirmations", "expiry", "watches"}
    runner.app.background.heartbeats["outbox"].stale_after = 1.5  # production: two minutes
    heal = _failing_queries(monkeypatch, runner.app.db, "FROM outbox o", None)
    smspva.inject_sms(order_id, "Code 262626 after a disk error", "Bank")

    async def unhealthy() -> dict[str, object] | None:
        status, body = await _get_json(_health_url(runner))
        return body if status == 503 else None

    body = await tg.wait_for(unhealthy, timeout=10)
    assert body["stale_loops"] == ["outbox"]
    assert not sms_messages(tg, alice, "262626")
    heal()
    await tg.wait_message(alice.id, "262626", timeout=20)
    status, body = await _get_json(_health_url(runner))
    assert status == 200, body
    outbox = body["loops"]["outbox"]  # type: ignore[index]
    assert outbox["restarts"] >= 1
    assert outbox["last_error"] == "OperationalError"
    crashes = [
        line for line in error_logs.all if "background loop crashed" in line and "service=outbox" in line
    ]
    assert crashes
    assert "Traceback" in crashes[0]
    assert "disk I/O error" in crashes[0]
    await asyncio.sleep(1)
    assert len(sms_messages(tg, alice, "262626")) == 1


@pytest.mark.allow_error_logs
@pytest.mark.parametrize("bot_overrides", [{"expiry_check_seconds": 0.3}])
async def test_the_expiry_loop_survives_a_failing_start_up_step(
    runner: BotRunner,
    tg: FakeTelegram,
    smspva: FakeSmspva,
    alice: FakeUser,
    error_logs: ErrorCollector,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    smspva.add_account(API_KEY, balance=100)
    await link_key(tg, alice, API_KEY)
    # The start-up reconciliation of interrupted auto-prolongs hits a disk error once...
    _failing_queries(monkeypatch, Database, "attempt_status = 'running'", 1)
    await runner.restart()
    await tg.wait_for(
        lambda: any("crashed" in line and "service=expiry" in line for line in error_logs.all),
        timeout=10,
    )
    # ...and expiry warnings still work afterwards (for a number the bot has known for days: a
    # threshold passed before the bot first saw a number is never warned about).
    order = smspva.add_order(API_KEY, state=0, days_left=2 / 24)
    assert runner.app is not None
    db = runner.app.db

    async def known_for_days() -> bool:
        moved = await db.execute(
            "UPDATE user_orders SET first_seen = first_seen - 259200 WHERE id = ? AND first_seen > ?",
            (order.id, int(time.time()) - 86400),
        )
        return moved > 0

    await tg.wait_for(known_for_days, timeout=10)
    await tg.wait_message(alice.id, "expires in", timeout=15)


# --- one process per database ------------------------------------------------------------------------


def _process_env(tmp_path: Path, tg: FakeTelegram, smspva: FakeSmspva, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBHOOK", "HEALTH", "SECRET_KEY"))}
    env.update(
        {
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": tg.base_url,
            "SMSPVA_API_URL": smspva.url,
            "SMSPVA_BALANCE_URL": smspva.balance_url,
            "DATABASE_PATH": str(tmp_path / "bot.sqlite3"),
            "LOG_LEVEL": "WARNING",
            **extra,
        }
    )
    return env


def _run_once(env: dict[str, str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


async def test_a_second_process_on_the_same_database_exits_at_once(
    tmp_path: Path, tg: FakeTelegram, smspva: FakeSmspva
) -> None:
    env = _process_env(tmp_path, tg, smspva)
    first = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=ROOT, env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        await tg.wait_for(lambda: tg.calls_of("getUpdates"), timeout=20)
        get_me = len(tg.calls_of("getMe"))
        second = await asyncio.to_thread(_run_once, env, 15)
        assert second.returncode != 0
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1, second.stderr
        assert "already running" in lines[0]
        assert f"pid {first.pid}" in lines[0]
        assert len(tg.calls_of("getMe")) == get_me  # it never reached Telegram, let alone sent anything
        assert first.returncode is None  # the first one is unaffected
    finally:
        first.send_signal(signal.SIGTERM)
        await asyncio.wait_for(first.wait(), timeout=20)
    # The lock goes with its process: the next start works.
    tg.calls.clear()
    again = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", cwd=ROOT, env=env)
    try:
        await tg.wait_for(lambda: tg.calls_of("getUpdates"), timeout=20)
    finally:
        again.send_signal(signal.SIGKILL)
        await again.wait()


# --- the secret rule ---------------------------------------------------------------------------------


async def _link_and_stop(
    tmp_path: Path, tg: FakeTelegram, smspva: FakeSmspva, user: FakeUser, **overrides: Any
) -> None:
    smspva.add_account(API_KEY)
    first = BotRunner(make_settings(tmp_path, tg, smspva, **overrides), tg)
    await first.start()
    try:
        await link_key(tg, user, API_KEY)
    finally:
        await first.stop()


async def test_a_missing_secret_key_file_beside_stored_keys_refuses_to_start(
    tmp_path: Path, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    await _link_and_stop(tmp_path, tg, smspva, alice)  # no SECRET_KEY: secret.key is generated
    key_file = tmp_path / "secret.key"
    key_file.unlink()  # lost in a botched backup restore
    result = await asyncio.to_thread(_run_once, _process_env(tmp_path, tg, smspva), 15)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "secret.key is missing" in lines[0]
    assert not key_file.exists()  # no new secret that would orphan the stored keys


async def test_a_secret_key_that_opens_none_of_the_stored_keys_refuses_to_start(
    tmp_path: Path, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    from cryptography.fernet import Fernet

    await _link_and_stop(tmp_path, tg, smspva, alice, secret_key=Fernet.generate_key().decode())
    env = _process_env(tmp_path, tg, smspva, SECRET_KEY=Fernet.generate_key().decode())
    result = await asyncio.to_thread(_run_once, env, 15)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "cannot decrypt any of the 1 API keys" in lines[0]


async def test_one_undecryptable_key_pauses_that_user_alone_told_once(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser, boris: FakeUser
) -> None:
    from cryptography.fernet import Fernet

    await linked_with_order(runner, tg, smspva, alice)
    assert runner.app is not None
    # Alice's stored key becomes one this bot cannot open (a damaged row, or a rotation run with a key
    # the bot was not given).
    foreign = Fernet(Fernet.generate_key()).encrypt(API_KEY.encode())
    await runner.app.db.execute("UPDATE users SET api_key_enc = ? WHERE id = ?", (foreign, alice.id))
    # Boris links his key afterwards: the poller must take him on, not stall on Alice's row.
    boris_key = "borisKey1234567890abcdefABCDEF12"
    smspva.add_account(boris_key)
    boris_order = smspva.add_order(boris_key, state=1, days_left=20)
    await link_key(tg, boris, boris_key)
    notice = await tg.wait_message(alice.id, "can no longer read the API key", timeout=15)
    assert "/key" in notice.text
    db = runner.app.db

    async def boris_synced() -> bool:
        row = await db.fetch_one("SELECT sms_synced FROM user_orders WHERE id = ?", (boris_order.id,))
        return bool(row and row["sms_synced"])

    await tg.wait_for(boris_synced, timeout=10)
    smspva.inject_sms(boris_order.id, "Code 484848 for Boris", "Bank")
    await tg.wait_message(boris.id, "484848", timeout=10)
    polls = len(smspva.calls_of("orders"))
    await asyncio.sleep(1.5)
    alice_calls = [c for c in smspva.calls_of("orders")[polls:] if c.params.get("apikey") == API_KEY]
    assert alice_calls == []  # paused: nothing retries her key
    await runner.restart()  # at start the row is found again: still paused, not told twice
    await asyncio.sleep(1.5)
    assert sum("can no longer read" in m.text for m in tg.messages(alice.id)) == 1
    # Linking the key again resumes her.
    await link_key(tg, alice, API_KEY)
    await tg.wait_for(
        lambda: [c for c in smspva.calls_of("orders")[polls:] if c.params.get("apikey") == API_KEY][1:],
        timeout=10,
    )


def test_rotate_keys_never_generates_a_secret(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update({"BOT_TOKEN": TOKEN, "DATABASE_PATH": str(tmp_path / "bot.sqlite3")})
    result = subprocess.run(
        [sys.executable, "-m", "bot.rotate_keys"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "secret.key is missing" in result.stderr
    assert not (tmp_path / "secret.key").exists()
