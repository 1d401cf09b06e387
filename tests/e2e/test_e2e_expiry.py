"""Expiry, end to end: warnings with one-tap prolong, restore notices, the archive, restore, auto-prolong."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from bot.callbacks import (
    ArchiveAction,
    ArchiveCb,
    ConfirmCb,
    OrderAction,
    OrderCb,
    SettingsAction,
    SettingsCb,
    WarnCb,
)
from bot.messages import restore_error
from bot.smspva import RestoreErrorCode
from tests.conftest import API_KEY
from tests.e2e.test_e2e_rent import to_summary
from tests.fakes.smspva import FakeSmspva
from tests.fakes.telegram import BotMessage, FakeTelegram, FakeUser
from tests.flows import button_with_data, labels, link_key, press, press_data
from tests.harness import BotRunner, ErrorCollector

FAST = {"expiry_check_seconds": 0.3}


def confirm_data(message: BotMessage) -> str:
    return next(
        str(b["callback_data"])
        for row in message.buttons()
        for b in row
        if str(b.get("callback_data")).startswith(ConfirmCb.__prefix__ + ":")
    )


async def wait_synced(runner: BotRunner, tg: FakeTelegram, order_id: int) -> None:
    assert runner.app is not None
    db = runner.app.db

    async def known() -> bool:
        return await db.fetch_one("SELECT 1 FROM user_orders WHERE id = ?", (order_id,)) is not None

    await tg.wait_for(known, timeout=10)


def warnings(tg: FakeTelegram, user: FakeUser) -> list[BotMessage]:
    return [m for m in tg.messages(user.id) if m.text.startswith("⏰") and "expires in" in m.text]


async def known_for_days(runner: BotRunner, tg: FakeTelegram, order_id: int, days: float = 3) -> None:
    """The bot has known the order for `days` (its thresholds passed while the bot was down, not
    before the bot first saw it): only then is a passed threshold still worth a warning."""
    await wait_synced(runner, tg, order_id)
    assert runner.app is not None
    await runner.app.db.execute(
        "UPDATE user_orders SET first_seen = first_seen - ? WHERE id = ?", (int(days * 86400), order_id)
    )


@pytest.mark.parametrize("bot_overrides", [FAST])
async def test_two_hours_left_one_warning_working_prolong_no_repeat_after_restart(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY, balance=1000)
    order = smspva.add_order(API_KEY, state=0, days_left=(2 * 3600 + 50 * 60 + 20) / 86400)
    await link_key(tg, alice, API_KEY)
    await known_for_days(runner, tg, order.id)
    warning = await tg.wait_message(alice.id, "expires in", timeout=10)
    # 2 h 50 min left is never "2 hours" nor "1 hour".
    assert "2 hours and 50 minutes" in warning.text
    await asyncio.sleep(1)
    assert len(warnings(tg, alice)) == 1
    await runner.restart()
    await asyncio.sleep(1.5)
    assert len(warnings(tg, alice)) == 1
    screen = await press(tg, alice, warning, "Prolong")
    week = OrderCb(action=OrderAction.PROLONG_PERIOD, order_id=order.id, dtype="week", dcount=1).pack()
    preview = await press_data(tg, alice, screen, week, expect="New end date")
    data = confirm_data(preview)
    tg.press(alice, preview, data)
    tg.press(alice, preview, data)
    await tg.wait_message(alice.id, "Prolonged", timeout=10)
    assert len(smspva.calls_of("prolong")) == 1


@pytest.mark.parametrize("bot_overrides", [{**FAST, "expiry_warn_hours": "168,24"}])
async def test_switching_a_threshold_off_never_triggers_another_warning(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY)
    order = smspva.add_order(API_KEY, state=0, days_left=0.5)
    await link_key(tg, alice, API_KEY)
    await known_for_days(runner, tg, order.id)
    warning = await tg.wait_message(alice.id, "expires in", timeout=10)
    assert "12 hours" in warning.text or "11 hours and 59 minutes" in warning.text
    # The 24 h warning went out; switching 24 h off must not bring the (passed) 168 h one instead.
    tg.send_text(alice, "/settings")
    settings = await tg.wait_message(alice.id, "Settings", after=warning.message_id)
    screen = await press_data(tg, alice, settings, SettingsCb(action=SettingsAction.WARNINGS).pack())
    screen = await press_data(tg, alice, screen, WarnCb(hours=24).pack())
    assert "❌" in str(button_with_data(screen, WarnCb(hours=24).pack())["text"])
    await asyncio.sleep(1.5)
    assert len(warnings(tg, alice)) == 1
    assert runner.app is not None
    user = await runner.app.deps.users.get(alice.id)
    assert user is not None
    assert 24 in user.warn_off


@pytest.mark.parametrize("bot_overrides", [{**FAST, "expiry_warn_hours": "168,24"}])
async def test_a_threshold_switched_off_is_not_replaced_by_a_larger_one(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    assert runner.app is not None
    await runner.app.db.execute(
        "INSERT INTO users (id, created_at, updated_at, warn_off) VALUES (?, 0, 0, '24')", (alice.id,)
    )
    smspva.add_account(API_KEY)
    order = smspva.add_order(API_KEY, state=0, days_left=0.5)
    await link_key(tg, alice, API_KEY)
    await known_for_days(runner, tg, order.id)
    await asyncio.sleep(1.5)
    assert warnings(tg, alice) == []


@pytest.mark.parametrize("bot_overrides", [FAST])
async def test_no_warning_for_thresholds_passed_before_the_bot_knew_the_order(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    """A 1-week number rented a second ago is not "expiring in 6 days"; a number first seen with
    2 hours left gets no 24 h warning (its card says when it ends)."""
    smspva.add_account(API_KEY, balance=1000)
    seen_late = smspva.add_order(API_KEY, state=0, days_left=2 / 24)
    await link_key(tg, alice, API_KEY)
    await wait_synced(runner, tg, seen_late.id)
    summary = await to_summary(tg, alice)
    await press(tg, alice, summary, "✅", expect="Number rented", timeout=10)
    await asyncio.sleep(2)
    assert warnings(tg, alice) == []
    assert not any("expires in" in m.text for m in tg.messages(alice.id))


@pytest.mark.parametrize("bot_overrides", [FAST])
async def test_expired_order_gets_one_restore_notice(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY, balance=1000)
    order = smspva.add_order(API_KEY, state=0, days_left=4 / 86400)  # ends in 4 seconds
    await link_key(tg, alice, API_KEY)
    await wait_synced(runner, tg, order.id)
    notice = await tg.wait_message(alice.id, "has expired", timeout=15)
    assert any("Restore" in label for label in labels(notice))
    await asyncio.sleep(1)
    assert sum("has expired" in m.text for m in tg.messages(alice.id)) == 1
    preview = await press(tg, alice, notice, "Restore", expect="Overdue days")
    assert "$" in preview.text


async def test_archive_pages_through_25_rows(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY)
    items = smspva.add_history(API_KEY, count=25)
    await link_key(tg, alice, API_KEY)
    tg.send_text(alice, "/archive")
    page = await tg.wait_message(alice.id, "Archive")
    seen: set[str] = set()
    for number in range(1, 6):
        assert f"page {number}" in page.text
        rows = [line for line in page.text.splitlines() if "→" in line]
        assert len(rows) == 5
        seen.update(rows)
        assert "Instagram" in page.text  # service name resolved from the code via the catalog
        if number < 5:
            page = await press(tg, alice, page, f"Page {number + 1}", expect=f"page {number + 1}")
    assert len(seen) == 25
    assert not any(f"Page {6}" in label for label in labels(page))
    assert all(f"{item.order_id}" for item in items)


async def test_empty_archive(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY)
    await link_key(tg, alice, API_KEY)
    tg.send_text(alice, "/archive")
    await tg.wait_message(alice.id, "No matching records found")


async def test_restore_preview_then_exactly_one_restore(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY, balance=100)
    item = smspva.add_history(API_KEY, outdays=10, price_day=Decimal("0.06"))[0]
    await link_key(tg, alice, API_KEY)
    tg.send_text(alice, "/archive")
    page = await tg.wait_message(alice.id, "Archive")
    restore = ArchiveCb(action=ArchiveAction.RESTORE, order_id=item.order_id).pack()
    preview = await press_data(tg, alice, page, restore, expect="Overdue days")
    assert "$2.40" in preview.text
    assert "30 days" in preview.text
    assert smspva.calls_of("restore_user") == []
    data = confirm_data(preview)
    first = tg.press(alice, preview, data)
    await asyncio.sleep(0.01)
    second = tg.press(alice, preview, data)
    await tg.wait_message(alice.id, "Restored", timeout=10)
    await tg.wait_for(lambda: tg.answered(first) and tg.answered(second))
    assert len(smspva.calls_of("restore_user")) == 1
    assert smspva.balance(API_KEY) == Decimal("97.60")


CODES = [code.value for code in RestoreErrorCode]


@pytest.mark.parametrize("lang", ["en", "ru", "ar"])
@pytest.mark.parametrize("code", CODES)
async def test_each_restore_error_is_explained(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, lang: str, code: str
) -> None:
    user = FakeUser(id=5000 + CODES.index(code) * 10 + ["en", "ru", "ar"].index(lang), language_code=lang)
    smspva.add_account(API_KEY)
    item = smspva.add_history(API_KEY)[0]
    smspva.set_restore_error(item.order_id, code)
    await link_key(tg, user, API_KEY)
    tg.send_text(user, "/archive")
    page = await tg.wait_message(user.id, "+")
    restore = ArchiveCb(action=ArchiveAction.RESTORE, order_id=item.order_id).pack()
    answer = await press_data(tg, user, page, restore, expect="❌")
    assert runner.app is not None
    i18n = runner.app.i18n
    with i18n.context(), i18n.use_locale(lang):
        expected = restore_error(RestoreErrorCode(code))
    with i18n.context(), i18n.use_locale("en"):
        english = restore_error(RestoreErrorCode(code))
    assert expected.split("\n")[0][:40] in answer.text
    if lang != "en":
        assert expected != english
    assert smspva.calls_of("restore_user") == []


@pytest.mark.parametrize("bot_overrides", [{**FAST, "smspva_timeout_seconds": 1.0}])
async def test_auto_prolong_charges_once_across_a_restart(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY, balance=1000)
    order = smspva.add_order(API_KEY, state=0, days_left=8)
    await link_key(tg, alice, API_KEY)
    await wait_synced(runner, tg, order.id)
    listing_before = max(m.message_id for m in tg.messages(alice.id))
    tg.send_text(alice, "/orders")
    listing = await tg.wait_message(alice.id, "My numbers", after=listing_before)
    card = await press_data(tg, alice, listing, OrderCb(action=OrderAction.CARD, order_id=order.id).pack())
    screen = await press_data(
        tg, alice, card, OrderCb(action=OrderAction.AUTO_PROLONG, order_id=order.id).pack()
    )
    week = OrderCb(action=OrderAction.AUTO_PROLONG_SET, order_id=order.id, dtype="week", dcount=1).pack()
    preview = await press_data(tg, alice, screen, week, expect="First charge")  # a payment: confirm it
    enabled = await press(tg, alice, preview, "✅", expect="Auto-prolong is on")
    assert "$" in enabled.text  # today's price for that period
    # The window opens (6 days left); the prolong call is slow: it takes effect, the answer never comes
    # in time, and the bot is stopped mid-way.
    smspva.timeout_sleep = 5
    smspva.fail_next("timeout_after", method="prolong")
    smspva.orders[order.id].until = smspva.now() + 6 * 86400
    assert runner.app is not None
    runner.app.poller.poke(alice.id)
    await tg.wait_for(lambda: smspva.calls_of("prolong"), timeout=10)
    await runner.stop()
    await runner.start()
    assert runner.app is not None
    db = runner.app.db

    async def debug() -> str:
        rows = await db.fetch_all("SELECT * FROM auto_prolong")
        out = await db.fetch_all("SELECT kind, sent_at, failed, error FROM outbox")
        return str([dict(r) for r in rows]) + str([dict(r) for r in out])

    try:
        report = await tg.wait_message(alice.id, "Auto-prolong", after=enabled.message_id, timeout=15)
    except AssertionError:
        raise AssertionError(await debug()) from None
    assert "prolonged" in report.text
    await asyncio.sleep(1.5)
    assert len(smspva.calls_of("prolong")) == 1
    assert smspva.orders[order.id].until >= smspva.now() + 12 * 86400


@pytest.mark.allow_error_logs
@pytest.mark.parametrize("bot_overrides", [FAST])
async def test_a_warning_whose_write_failed_is_sent_next_round(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser, error_logs: ErrorCollector
) -> None:
    """The warning is recorded as sent only together with its outbox row: a failed write (a full
    disk, an I/O error) leaves it for the next round instead of marking it sent forever."""
    assert runner.app is not None
    db = runner.app.db
    await db.execute(
        "CREATE TRIGGER test_outbox_fails BEFORE INSERT ON outbox"
        " BEGIN SELECT RAISE(ABORT, 'disk I/O error (test)'); END"
    )
    smspva.add_account(API_KEY)
    order = smspva.add_order(API_KEY, state=0, days_left=2 / 24)
    await link_key(tg, alice, API_KEY)
    await known_for_days(runner, tg, order.id)
    await tg.wait_for(lambda: any("expiry" in r.getMessage() for r in error_logs.records), timeout=10)
    await db.execute("DROP TRIGGER test_outbox_fails")
    await tg.wait_message(alice.id, "expires in", timeout=10)
    await asyncio.sleep(1)
    assert len(warnings(tg, alice)) == 1
