"""Trust boundaries, end to end: who may use the bot, whose key is whose, what a message may carry."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.callbacks import OrderAction, OrderCb, RentAction, RentCb
from bot.crypto import KeyBox, load_secret_keys
from bot.db import Database
from bot.db.expiry import ExpiryRepo
from bot.rotate_keys import rotate
from tests.conftest import API_KEY
from tests.fakes.smspva import Country, FakeSmspva, Service
from tests.fakes.telegram import FakeTelegram, FakeUser
from tests.flows import find_on_pages, has_button, labels, link_key, press, press_data
from tests.harness import BotRunner, ErrorCollector, make_settings, secrets_in_logs, webhook_overrides

MakeRunner = Callable[..., BotRunner]


@pytest.fixture
async def make_runner(
    tmp_path: Path,
    tg: FakeTelegram,
    smspva: FakeSmspva,
    error_logs: ErrorCollector,
    bot_mode: str,
) -> AsyncIterator[MakeRunner]:
    """Several runs of the bot on one database (a restart with other settings), in the test's mode,
    with the same checks as the `runner` fixture: no error logged, no secret in any log."""
    made: list[BotRunner] = []

    def make(**overrides: Any) -> BotRunner:
        mode = webhook_overrides() if bot_mode == "webhook" else {}
        made.append(BotRunner(make_settings(tmp_path, tg, smspva, **mode, **overrides), tg))
        return made[-1]

    yield make
    for bot_runner in made:
        await bot_runner.stop()
    assert not [f"{r.name}: {r.getMessage()}" for r in error_logs.records], "the bot logged errors"
    assert not secrets_in_logs(error_logs.all, smspva), "secrets reached the logs"


# --- 9. ALLOWED_USER_IDS ---------------------------------------------------------------------------


@pytest.mark.parametrize("bot_overrides", [{"allowed_user_ids": "1001", "throttle_per_minute": 3}])
async def test_refused_users_leave_no_row_and_are_throttled(
    runner: BotRunner, tg: FakeTelegram, alice: FakeUser, boris: FakeUser
) -> None:
    for _ in range(8):
        tg.send_text(boris, "/start")
    await tg.wait_message(boris.id, "Слишком быстро", timeout=10)
    await asyncio.sleep(0.5)
    texts = [m.text for m in tg.messages(boris.id)]
    assert sum("закрытый" in text for text in texts) == 3  # the throttle runs before the gate's reply
    assert sum("Слишком быстро" in text for text in texts) == 1
    tg.press(boris, tg.messages(boris.id)[0], "m1:s")  # a button press stores nothing either
    pasted = tg.send_text(boris, f"/key {API_KEY}")  # throttled and refused, yet deleted at once
    await tg.wait_for(lambda: tg.user_message_deleted(boris.id, pasted))
    assert runner.app is not None
    assert await runner.app.db.fetch_one("SELECT id FROM users WHERE id = ?", (boris.id,)) is None
    tg.send_text(alice, "/start")
    await tg.wait_message(alice.id, "SMS numbers for rent")
    assert await runner.app.db.fetch_one("SELECT id FROM users WHERE id = ?", (alice.id,)) is not None
    rows = await runner.app.db.fetch_all("SELECT id FROM users")
    assert [row["id"] for row in rows] == [alice.id]


@pytest.mark.parametrize("bot_overrides", [{"throttle_per_minute": 4}])
async def test_the_throttle_answers_in_the_saved_language(
    runner: BotRunner, tg: FakeTelegram, alice: FakeUser
) -> None:
    tg.send_text(alice, "/language")
    screen = await tg.wait_message(alice.id, "language")
    tg.press_button(alice, screen, "Русский")
    await tg.wait_message(alice.id, "по-русски")
    for _ in range(5):
        tg.send_text(alice, "/help")
    await tg.wait_message(alice.id, "Слишком быстро", timeout=10)


async def test_removing_an_id_stops_polling_pushes_and_auto_prolong(
    make_runner: MakeRunner, tmp_path: Path, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY)
    order = smspva.add_order(API_KEY, state=1, days_left=10)
    first = make_runner(allowed_user_ids="1001")
    await first.start()
    await link_key(tg, alice, API_KEY)
    assert first.app is not None
    db = first.app.db
    await tg.wait_for(lambda: db.fetch_one("SELECT id FROM user_orders WHERE id = ?", (order.id,)))
    await first.stop()
    # While the bot is down: the order nears its end with auto-prolong on, and an SMS arrives.
    smspva.orders[order.id].until = smspva.now() + 5 * 86400
    await _enable_auto_prolong(tmp_path, order.id, alice.id)
    seen_before = len(tg.messages(alice.id))
    calls_before = len(smspva.calls)
    second = make_runner(allowed_user_ids="1002", expiry_check_seconds=0.2, expiry_warn_hours="300")
    await second.start()
    smspva.inject_sms(order.id, "Your code is 424242")
    await asyncio.sleep(3)
    assert [c.method for c in smspva.calls[calls_before:] if c.params.get("apikey") == API_KEY] == []
    assert tg.messages(alice.id)[seen_before:] == []
    assert smspva.calls_of("prolong") == []


async def _enable_auto_prolong(tmp_path: Path, order_id: int, user_id: int) -> None:
    db = Database(tmp_path / "bot.sqlite3")
    await db.connect()
    try:
        await ExpiryRepo(db).set_auto(order_id, user_id, "week", 1)
        until = int(time.time()) + 5 * 86400  # inside the prolong window: auto-prolong would fire
        await db.execute("UPDATE user_orders SET until = ? WHERE id = ?", (until, order_id))
    finally:
        await db.close()


# --- 10. Keys pasted in the wrong place ------------------------------------------------------------

RUSSIA = RentCb(action=RentAction.COUNTRY, country="RU").pack()


async def test_a_key_pasted_into_search_or_time_zone_is_deleted_never_echoed(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser, amal: FakeUser
) -> None:
    smspva.add_account(API_KEY)
    # In the service search: deleted, explained, not searched for; the search still works after.
    tg.send_text(alice, "/rent")
    screen = await tg.wait_message(alice.id, "country")
    for _ in range(3):
        if any(b.get("callback_data") == RUSSIA for row in screen.buttons() for b in row):
            break
        screen = await press(tg, alice, screen, "▶️")
    screen = await press_data(tg, alice, screen, RUSSIA)
    pasted = tg.send_text(alice, API_KEY)
    note = await tg.wait_message(alice.id, "looked like an API key", after=screen.message_id)
    assert "/key" in note.text
    assert tg.user_message_deleted(alice.id, pasted)
    tg.send_text(alice, "INSTA")
    await tg.wait_message(alice.id, "«INSTA»", after=note.message_id)
    # At the time zone prompt, inside a sentence, in Arabic; the prompt still takes a zone after.
    tg.send_text(amal, "/settings")
    settings = await tg.wait_message(amal.id, "الإعدادات")
    prompt = await press(tg, amal, settings, "🕒")
    pasted = tg.send_text(amal, f"my key: {API_KEY}")
    note = await tg.wait_message(amal.id, "/key", after=prompt.message_id)
    assert tg.user_message_deleted(amal.id, pasted)
    tg.send_text(amal, "Europe/Istanbul")
    await tg.wait_message(amal.id, "Istanbul", after=note.message_id)
    # Never echoed, never sent upstream.
    for user in (alice, amal):
        assert not [m.text for m in tg.messages(user.id) if API_KEY in m.text or API_KEY[:12] in m.text]
    assert not [call for call in smspva.calls if call.params.get("apikey") == API_KEY]
    # /key itself is left to its handler, which links (and deletes) as before.
    await link_key(tg, alice, API_KEY)
    assert [call.params.get("apikey") for call in smspva.calls_of("orders")][:1] == [API_KEY]


# --- 11. Upstream text in HTML ---------------------------------------------------------------------

ODD_COUNTRY = "Isles <b>& Co"
ODD_SERVICE = "Shop <b>&"
ODD_EMPTY = "Mall <i>&"


@pytest.mark.parametrize("bot_overrides", [{"watch_check_seconds": 0.3}])
async def test_upstream_names_with_html_are_shown_literally(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY, balance=500)
    smspva.countries["QQ"] = Country(
        "QQ",
        ODD_COUNTRY,
        "+999",
        {
            "opt1": Service("opt1", ODD_SERVICE, Decimal("1.00"), 50),
            "opt2": Service("opt2", ODD_EMPTY, Decimal("1.00"), 0),
        },
    )
    await link_key(tg, alice, API_KEY)
    tg.send_text(alice, "/rent")
    screen = await tg.wait_message(alice.id, "country")
    screen = await find_on_pages(tg, alice, screen, ODD_COUNTRY)  # a button: plain text, as is
    services = await press(tg, alice, screen, ODD_COUNTRY, expect=ODD_COUNTRY)
    # The screen with the watch offer for the empty service, then the summary of the other one.
    offer = await press_data(
        tg, alice, services, RentCb(action=RentAction.SERVICE, country="QQ", service="opt2").pack()
    )
    assert ODD_EMPTY in offer.text
    assert ODD_COUNTRY in offer.text
    query = tg.press_button(alice, offer, "Notify me")
    await tg.wait_for(lambda: tg.answered(query))
    tg.send_text(alice, "/rent")
    screen = await find_on_pages(tg, alice, await tg.wait_message(alice.id, "country"), ODD_COUNTRY)
    services = await press(tg, alice, screen, ODD_COUNTRY, expect=ODD_COUNTRY)
    periods = await press_data(
        tg, alice, services, RentCb(action=RentAction.SERVICE, country="QQ", service="opt1").pack()
    )
    summary = await press_data(
        tg,
        alice,
        periods,
        RentCb(action=RentAction.PERIOD, country="QQ", service="opt1", dtype="week", dcount=1).pack(),
        expect="$",
    )
    assert ODD_COUNTRY in summary.text
    assert ODD_SERVICE in summary.text
    confirm = next(label for label in labels(summary) if label.startswith("✅"))
    rented = await press(tg, alice, summary, confirm, expect="Number rented", timeout=10)
    assert ODD_SERVICE in rented.text
    # The order card, and the watch notification pushed on its own.
    order_id = max(smspva.orders)
    tg.send_text(alice, "/orders")
    listing = await tg.wait_message(alice.id, after=rented.message_id)
    card = await press_data(tg, alice, listing, OrderCb(action=OrderAction.CARD, order_id=order_id).pack())
    assert ODD_COUNTRY in card.text
    assert ODD_SERVICE in card.text
    smspva.set_count("QQ", "opt2", 3)
    note = await tg.wait_message(alice.id, "available again", timeout=10)
    assert ODD_COUNTRY in note.text
    assert ODD_EMPTY in note.text
    # What a user saw is the literal text: every `<` and `&` reached Telegram escaped.
    for message in tg.messages(alice.id):
        assert "<b>&" not in message.html


# --- 8. One key, one account -----------------------------------------------------------------------

MOVED = "another Telegram account"


async def test_one_key_two_accounts_the_newer_link_wins(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser, boris: FakeUser
) -> None:
    smspva.add_account(API_KEY)
    order = smspva.add_order(API_KEY, state=1, days_left=10)
    await link_key(tg, alice, API_KEY)
    await tg.wait_for(lambda: smspva.calls_of("sms"), timeout=10)  # alice's poller knows the order
    smspva.inject_sms(order.id, "First code 111222")
    await tg.wait_message(alice.id, "111222", timeout=10)
    await link_key(tg, boris, API_KEY)
    smspva.inject_sms(order.id, "Second code 333444")  # right away: nothing falls between the two
    notice = await tg.wait_message(alice.id, MOVED, timeout=10)
    assert "/key" in notice.text
    assert has_button(notice, "API key")
    await tg.wait_message(boris.id, "333444", timeout=10)
    smspva.inject_sms(order.id, "Third code 555666")
    await tg.wait_message(boris.id, "555666", timeout=10)
    await asyncio.sleep(1.5)  # a few more poll rounds
    alice_texts = [m.text for m in tg.messages(alice.id)]
    assert not [text for text in alice_texts if "333444" in text or "555666" in text]
    assert sum(MOVED in text for text in alice_texts) == 1
    assert not [m.text for m in tg.messages(boris.id) if "111222" in m.text]  # seen before: not repeated
    assert runner.app is not None
    row = await runner.app.db.fetch_one(
        "SELECT api_key_enc, api_key_last4 FROM users WHERE id = ?", (alice.id,)
    )
    assert row is not None
    assert (row["api_key_enc"], row["api_key_last4"]) == (None, None)
    # Alice links it again: now Boris is told, in Russian, and Alice gets the SMS.
    await link_key(tg, alice, API_KEY)
    await tg.wait_message(boris.id, "другого аккаунта Telegram", timeout=10)
    smspva.inject_sms(order.id, "Fourth code 777888")
    await tg.wait_message(alice.id, "777888", timeout=10)
    await asyncio.sleep(1)
    assert not [m.text for m in tg.messages(boris.id) if "777888" in m.text]


async def test_keys_shared_before_the_rule_are_settled_at_start_up(
    make_runner: MakeRunner,
    tmp_path: Path,
    tg: FakeTelegram,
    smspva: FakeSmspva,
    alice: FakeUser,
    boris: FakeUser,
) -> None:
    smspva.add_account(API_KEY)
    order = smspva.add_order(API_KEY, state=1, days_left=10)
    first = make_runner()
    await first.start()
    await link_key(tg, alice, API_KEY)
    tg.send_text(boris, "/start")
    await tg.wait_message(boris.id, "Аренда номеров")
    assert first.app is not None
    known = first.app.db
    await tg.wait_for(lambda: known.fetch_one("SELECT 1 FROM user_orders WHERE sms_synced = 1"), timeout=10)
    await first.stop()
    # As a database from before key hashes: Boris linked the same key later, and no hash exists.
    db = Database(tmp_path / "bot.sqlite3")
    await db.connect()
    keybox = KeyBox(*load_secret_keys(None, tmp_path / "secret.key"))
    now = int(time.time())
    await db.execute(
        "UPDATE users SET api_key_enc = ?, api_key_last4 = ?, updated_at = ? WHERE id = ?",
        (keybox.encrypt(API_KEY), API_KEY[-4:], now + 60, boris.id),
    )
    await db.execute("DELETE FROM key_hashes")
    await db.close()
    second = make_runner()
    await second.start()
    await tg.wait_message(alice.id, MOVED, timeout=10)
    assert second.app is not None
    rows = await second.app.db.fetch_all("SELECT id FROM users WHERE api_key_enc IS NOT NULL")
    assert [row["id"] for row in rows] == [boris.id]
    hashed = await second.app.db.fetch_all("SELECT user_id, hash FROM key_hashes")
    assert [(row["user_id"], row["hash"]) for row in hashed] == [(boris.id, keybox.key_hash(API_KEY))]
    smspva.inject_sms(order.id, "Code 909090")
    await tg.wait_message(boris.id, "909090", timeout=10)
    await asyncio.sleep(1)
    assert not [m.text for m in tg.messages(alice.id) if "909090" in m.text]


async def test_secret_key_rotation_keeps_one_key_one_account(
    make_runner: MakeRunner,
    tmp_path: Path,
    tg: FakeTelegram,
    smspva: FakeSmspva,
    alice: FakeUser,
    boris: FakeUser,
) -> None:
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    smspva.add_account(API_KEY)
    first = make_runner(secret_key=old)
    await first.start()
    await link_key(tg, alice, API_KEY)
    await first.stop()
    assert await rotate(first.settings.model_copy(update={"secret_key": SecretStr(f"{new},{old}")})) == 1
    db = Database(tmp_path / "bot.sqlite3")
    await db.connect()
    hashed = await db.fetch_one("SELECT hash FROM key_hashes WHERE user_id = ?", (alice.id,))
    await db.close()
    assert hashed is not None
    assert hashed["hash"] == KeyBox(new.encode()).key_hash(API_KEY)  # rotate_keys re-hashed it
    second = make_runner(secret_key=new)
    await second.start()
    await link_key(tg, boris, API_KEY)
    await tg.wait_message(alice.id, MOVED, timeout=10)


async def test_typed_text_echoed_in_html_is_shown_literally(
    runner: BotRunner, tg: FakeTelegram, alice: FakeUser
) -> None:
    tg.send_text(alice, "/settings")
    settings = await tg.wait_message(alice.id, "Settings")
    prompt = await press(tg, alice, settings, "🕒")
    tg.send_text(alice, "Mars &lt;b&gt; & <i>")
    reply = await tg.wait_message(alice.id, "don't know", after=prompt.message_id)
    assert "«Mars &lt;b&gt; & <i>»" in reply.text
