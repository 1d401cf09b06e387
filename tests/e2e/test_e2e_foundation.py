"""Foundation, end to end: the real bot against the SMSPVA and Telegram fakes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import API_KEY
from tests.fakes.smspva import FakeSmspva
from tests.fakes.telegram import FakeTelegram, FakeUser
from tests.harness import BotRunner

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("language_code", "expected"),
    [("en", "SMS numbers for rent"), ("ru", "Аренда номеров для SMS"), ("ar", "أرقام للإيجار")],
)
async def test_start_answers_in_the_users_language(
    runner: BotRunner, tg: FakeTelegram, language_code: str, expected: str
) -> None:
    user = FakeUser(id=2000 + len(language_code), language_code=language_code)
    tg.send_text(user, "/start")
    message = await tg.wait_message(user.id, expected)
    labels = [button["text"] for row in message.buttons() for button in row]
    assert len(labels) == 6  # the five screens, and "Link my SMSPVA key" on top until a key is linked
    assert labels[0].startswith("🔑")


async def test_unknown_telegram_language_falls_back_to_english(runner: BotRunner, tg: FakeTelegram) -> None:
    user = FakeUser(id=2100, language_code="de")
    tg.send_text(user, "/start")
    await tg.wait_message(user.id, "SMS numbers for rent")


async def test_key_is_validated_stored_encrypted_and_deleted(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY)
    message_id = tg.send_text(alice, f"/key {API_KEY}")
    await tg.wait_message(alice.id, "Key linked")
    assert tg.user_message_deleted(alice.id, message_id)
    orders_calls = smspva.calls_of("orders")
    assert [call.params.get("apikey") for call in orders_calls] == [API_KEY]
    assert runner.app is not None
    row = await runner.app.db.fetch_one(
        "SELECT api_key_enc, api_key_last4 FROM users WHERE id = ?", (alice.id,)
    )
    assert row is not None
    stored = bytes(row["api_key_enc"])
    assert API_KEY.encode() not in stored
    assert row["api_key_last4"] == API_KEY[-4:]
    # Settings shows it masked.
    tg.send_text(alice, "/settings")
    settings_message = await tg.wait_message(alice.id, "Settings")
    assert API_KEY[-4:] in settings_message.text
    assert API_KEY not in settings_message.text


async def test_bad_key_is_refused_and_nothing_stored(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, boris: FakeUser
) -> None:
    message_id = tg.send_text(boris, "/key wrongKey000000000000000000")
    await tg.wait_message(boris.id, "не принимает")
    assert tg.user_message_deleted(boris.id, message_id)
    assert runner.app is not None
    row = await runner.app.db.fetch_one("SELECT api_key_enc FROM users WHERE id = ?", (boris.id,))
    assert row is not None
    assert row["api_key_enc"] is None


async def test_garbage_key_is_refused_without_upstream_call(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    message_id = tg.send_text(alice, "/key not a key at all")
    await tg.wait_message(alice.id, "does not look like")
    assert tg.user_message_deleted(alice.id, message_id)
    assert smspva.calls_of("orders") == []


async def test_key_pasted_after_settings_prompt(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, amal: FakeUser
) -> None:
    smspva.add_account(API_KEY)
    tg.send_text(amal, "/settings")
    screen = await tg.wait_message(amal.id, "الإعدادات")
    tg.press_button(amal, screen, "🔑")
    key_screen = await tg.wait_message(amal.id, "لم يُربط")
    tg.press(amal, key_screen, key_screen.buttons()[0][0]["callback_data"])
    await tg.wait_message(amal.id, "أرسل")
    message_id = tg.send_text(amal, API_KEY)
    await tg.wait_message(amal.id, API_KEY[-4:], after=key_screen.message_id)
    assert tg.user_message_deleted(amal.id, message_id)


async def test_smspva_down_gets_try_again_later(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY)
    smspva.fail_for("500", 30)
    tg.send_text(alice, f"/key {API_KEY}")
    await tg.wait_message(alice.id, "try again")
    assert runner.app is not None
    row = await runner.app.db.fetch_one("SELECT api_key_enc FROM users WHERE id = ?", (alice.id,))
    assert row is not None
    assert row["api_key_enc"] is None


async def test_language_switch_persists(runner: BotRunner, tg: FakeTelegram, alice: FakeUser) -> None:
    tg.send_text(alice, "/language")
    screen = await tg.wait_message(alice.id, "language")
    tg.press_button(alice, screen, "Русский")
    await tg.wait_message(alice.id, "по-русски")
    tg.send_text(alice, "/start")
    await tg.wait_message(alice.id, "Аренда номеров для SMS")


async def test_commands_are_set_per_language(runner: BotRunner, tg: FakeTelegram) -> None:
    private = {"type": "all_private_chats"}
    await tg.wait_for(lambda: tg.commands("ar", scope=private))
    assert any(command["command"] == "rent" for command in tg.commands("ru", scope=private))
    english = {c["command"]: c["description"] for c in tg.commands("en", scope=private)}
    russian = {c["command"]: c["description"] for c in tg.commands("ru", scope=private)}
    assert (
        set(english)
        == set(russian)
        >= {"start", "rent", "orders", "archive", "settings", "help", "language", "key"}
    )
    assert russian["help"] != english["help"]
    assert tg.commands(scope=private) == tg.commands("en", scope=private)


async def test_help_lists_the_faq(runner: BotRunner, tg: FakeTelegram, alice: FakeUser) -> None:
    tg.send_text(alice, "/help")
    message = await tg.wait_message(alice.id, "90 days")
    for fragment in ("7 days", "10–15 minutes", "Restore cost", "refund"):
        assert fragment.lower() in message.text.lower()


@pytest.mark.parametrize("bot_overrides", [{"allowed_user_ids": "1001"}])
async def test_allowed_user_ids_are_enforced(
    runner: BotRunner, tg: FakeTelegram, alice: FakeUser, boris: FakeUser
) -> None:
    tg.send_text(boris, "/start")
    await tg.wait_message(boris.id, "закрытый")
    tg.send_text(alice, "/start")
    await tg.wait_message(alice.id, "SMS numbers for rent")


async def test_unknown_text_and_forged_callback(
    runner: BotRunner, tg: FakeTelegram, alice: FakeUser, smspva: FakeSmspva
) -> None:
    tg.send_text(alice, "/start")
    menu = await tg.wait_message(alice.id, "SMS numbers for rent")
    tg.send_text(alice, "x" * 4000)
    await tg.wait_message(alice.id, "didn't understand")
    query_id = tg.press(alice, menu, "zz9:garbage")
    await tg.wait_for(lambda: tg.answered(query_id))
    assert "outdated" in str(tg.answered(query_id))


def _run_bot(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN"}}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot"], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )


def test_missing_token_exits_with_one_clear_line(tmp_path: Path) -> None:
    result = _run_bot({"DATABASE_PATH": str(tmp_path / "db.sqlite3")})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "BOT_TOKEN" in lines[0]


def test_malformed_token_exits_with_one_clear_line(tmp_path: Path) -> None:
    result = _run_bot({"BOT_TOKEN": "nonsense", "DATABASE_PATH": str(tmp_path / "db.sqlite3")})
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1
    assert "malformed" in result.stderr


def test_unreachable_telegram_exits_with_one_clear_line(tmp_path: Path) -> None:
    result = _run_bot(
        {
            "BOT_TOKEN": "123:abc",
            "TELEGRAM_API_URL": "http://127.0.0.1:9",
            "DATABASE_PATH": str(tmp_path / "db.sqlite3"),
            "LOG_LEVEL": "CRITICAL",
        }
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "cannot reach" in lines[0]
