"""Payments, end to end: after money moves the user is told (whatever Telegram does), and nobody pays
more than they saw — re-pricing at the Confirm, confirmations bound to their key and order state,
one activation at a time."""

from __future__ import annotations

import asyncio
import signal
from decimal import Decimal
from pathlib import Path

import pytest

from bot.callbacks import OrderAction, OrderCb
from bot.periods import Period
from bot.smspva import PeriodType
from tests.conftest import API_KEY
from tests.e2e.test_e2e_orders import cb, confirm_data, open_card
from tests.e2e.test_e2e_rent import to_summary
from tests.e2e.test_faults import _bot_env, _spawn
from tests.fakes.smspva import FakeSmspva
from tests.fakes.telegram import BotMessage, FakeTelegram, FakeUser
from tests.flows import labels, link_key, press, press_data
from tests.harness import BotRunner, webhook_overrides

NOTHING_LOST = "nothing was lost"


def all_texts(tg: FakeTelegram, user: FakeUser) -> str:
    return "\n".join(m.text for m in tg.messages(user.id))


@pytest.mark.parametrize("fault", ["502", "429", "bad_gateway", "disconnect"])
async def test_result_reaches_the_user_when_telegram_fails_after_create(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser, fault: str
) -> None:
    """Item 1: the edit that shows the rented number fails; the number still arrives (outbox), once."""
    smspva.add_account(API_KEY, balance=500)
    await link_key(tg, alice, API_KEY)
    summary = await to_summary(tg, alice)
    # The first editMessageText is the "⏳ Renting…" screen; the second, the result, fails.
    if fault == "502":
        tg.fail_next("editMessageText", error_code=502, description="Bad Gateway", chat_id=alice.id, skip=1)
    elif fault == "429":
        tg.fail_next("editMessageText", error_code=429, retry_after=5, chat_id=alice.id, skip=1)
    elif fault == "bad_gateway":
        tg.bad_gateway_next("editMessageText", chat_id=alice.id, skip=1)
    else:
        tg.disconnect_next("editMessageText", chat_id=alice.id, skip=1)
    tg.press(alice, summary, confirm_data(summary))
    await tg.wait_for(lambda: smspva.orders and max(smspva.orders) > 0, timeout=10)
    order = smspva.orders[max(smspva.orders)]
    rented = await tg.wait_message(alice.id, order.pnumber, timeout=15)
    assert "Number rented" in rented.text
    assert len(smspva.calls_of("create")) == 1
    assert NOTHING_LOST not in all_texts(tg, alice)


async def test_telegram_failing_on_the_progress_screen_does_not_strand_the_payment(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    """The "⏳ Renting…" edit failing must neither stop the claimed call nor leave it `running`."""
    smspva.add_account(API_KEY, balance=500)
    await link_key(tg, alice, API_KEY)
    summary = await to_summary(tg, alice)
    tg.fail_next("editMessageText", error_code=500, description="Internal Server Error", chat_id=alice.id)
    tg.press(alice, summary, confirm_data(summary))
    await tg.wait_message(alice.id, "Number rented", timeout=10)
    assert len(smspva.calls_of("create")) == 1
    assert runner.app is not None
    assert await runner.app.deps.confirmations.running() == []


async def test_price_change_between_summary_and_confirm_shows_a_new_summary(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    """Item 3: the Confirm re-prices; a changed price is a new Summary, not a `create`."""
    smspva.add_account(API_KEY, balance=500)
    await link_key(tg, alice, API_KEY)
    summary = await to_summary(tg, alice)
    assert "$42.00" in summary.text  # Airbnb at 6/day for a week
    smspva.set_price("RU", "opt46", 7)
    assert runner.app is not None
    # Someone's screen refreshed the 30-second catalog meanwhile (or the cache aged out); linked
    # users are priced with their own key.
    await runner.app.deps.catalog.services("RU", Period(PeriodType.WEEK, 1), refresh=True, apikey=API_KEY)
    again = await press(tg, alice, summary, "✅", expect="changed", timeout=10)
    assert smspva.calls_of("create") == []
    assert "$49.00" in again.text
    assert "Nothing was charged" in again.text
    # The new Summary's Confirm rents at the new price, once.
    result = await press(tg, alice, again, "✅", expect="Number rented", timeout=10)
    assert len(smspva.calls_of("create")) == 1
    assert "Price (as quoted): $49.00" in result.text
    assert "Charged" not in result.text


async def test_no_numbers_left_at_confirm_is_not_a_create(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY, balance=500)
    await link_key(tg, alice, API_KEY)
    summary = await to_summary(tg, alice)
    smspva.set_count("RU", "opt46", 0)
    assert runner.app is not None
    await runner.app.deps.catalog.services("RU", Period(PeriodType.WEEK, 1), refresh=True, apikey=API_KEY)
    again = await press(tg, alice, summary, "✅", expect="changed", timeout=10)
    assert "No numbers are available" in again.text
    assert smspva.calls_of("create") == []


async def test_prolong_price_change_and_prolonged_since_expire_the_preview(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    """Items 3 and 6: a prolong preview re-prices at Confirm and dies when the order was prolonged since."""
    smspva.add_account(API_KEY, balance=1000)
    order = smspva.add_order(API_KEY, state=0, days_left=5)
    await link_key(tg, alice, API_KEY)
    card = await open_card(tg, alice, order.id)
    screen = await press_data(tg, alice, card, cb(OrderAction.PROLONG, order.id))
    week = OrderCb(action=OrderAction.PROLONG_PERIOD, order_id=order.id, dtype="week", dcount=1).pack()
    preview = await press_data(tg, alice, screen, week, expect="New end date")
    # Prolonged elsewhere (the website) after the preview: its Confirm must not prolong again.
    smspva.orders[order.id].until += 7 * 86400
    stale = await press(tg, alice, preview, "✅", expect="out of date", timeout=10)
    assert "Nothing was charged" in stale.text
    assert smspva.calls_of("prolong") == []
    # A price change: a new preview with the new price, no prolong.
    smspva.orders[order.id].until -= 7 * 86400
    card = await open_card(tg, alice, order.id)
    screen = await press_data(tg, alice, card, cb(OrderAction.PROLONG, order.id))
    preview = await press_data(tg, alice, screen, week, expect="New end date")
    smspva.set_price("RU", "opt16", 9)
    assert runner.app is not None
    await runner.app.deps.catalog.services("RU", Period(PeriodType.WEEK, 1), refresh=True)
    fresh = await press(tg, alice, preview, "✅", expect="price changed", timeout=10)
    assert smspva.calls_of("prolong") == []
    assert "$63.00" in fresh.text
    done = await press(tg, alice, fresh, "✅", expect="Prolonged", timeout=10)
    assert len(smspva.calls_of("prolong")) == 1
    assert "Price (as quoted): $63.00" in done.text


async def test_a_successful_prolong_expires_other_previews_of_that_order(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY, balance=1000)
    order = smspva.add_order(API_KEY, state=0, days_left=5)
    await link_key(tg, alice, API_KEY)
    assert runner.app is not None
    deps = runner.app.deps
    card = await open_card(tg, alice, order.id)
    screen = await press_data(tg, alice, card, cb(OrderAction.PROLONG, order.id))
    week = OrderCb(action=OrderAction.PROLONG_PERIOD, order_id=order.id, dtype="week", dcount=1).pack()
    preview = await press_data(tg, alice, screen, week, expect="New end date")
    # Another preview of the same order still pending (as a second chat screen would hold it).
    other = await deps.confirmations.issue(
        alice.id, "prolong", {"order_id": order.id, "until": order.until}, supersede=False
    )
    await press(tg, alice, preview, "✅", expect="Prolonged", timeout=10)
    status = await deps.confirmations.status(other, alice.id)
    assert status is not None
    assert status.value == "expired"


async def test_relinking_the_key_expires_the_confirmation(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    """Item 6: a Summary built under one key is never paid with another."""
    other_key = "otherKey1234567890abcdefABCDE"
    smspva.add_account(API_KEY, balance=500)
    smspva.add_account(other_key, balance=500)
    await link_key(tg, alice, API_KEY)
    summary = await to_summary(tg, alice)
    await link_key(tg, alice, other_key)
    query = tg.press(alice, summary, confirm_data(summary))
    await tg.wait_for(lambda: tg.answered(query), timeout=5)
    assert "expired" in str(tg.answered(query))
    await asyncio.sleep(0.3)
    assert smspva.calls_of("create") == []


async def test_double_tap_on_activate_makes_one_call(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    """Item 5: one activation at a time per order; the second tap answers "already activating"."""
    smspva.add_account(API_KEY)
    order = smspva.add_order(API_KEY, state=0, days_left=20)
    await link_key(tg, alice, API_KEY)
    card = await open_card(tg, alice, order.id)
    smspva.latency = 0.3
    data = cb(OrderAction.ACTIVATE, order.id)
    first = tg.press(alice, card, data)
    await asyncio.sleep(0.05)
    second = tg.press(alice, card, data)
    await tg.wait_for(lambda: tg.answered(first) and tg.answered(second), timeout=10)
    await tg.wait_message(alice.id, "Activation requested", timeout=10)
    await asyncio.sleep(1.5)  # anything the second tap might still do
    assert len(smspva.calls_of("activate")) == 1
    assert "Already activating" in str(tg.answered(second))
    screen = next(m for m in tg.messages(alice.id) if m.message_id == card.message_id)
    assert "Activation requested" in screen.text
    assert "❌" not in all_texts(tg, alice)


# --- restarts mid-payment (item 2): the bot as its own process ------------------------------------


def _mode_env(tmp_path: Path, tg: FakeTelegram, smspva: FakeSmspva, mode: str) -> dict[str, str]:
    env = _bot_env(tmp_path, tg, smspva)
    env["SMSPVA_TIMEOUT_SECONDS"] = "10"
    if mode == "webhook":
        env.update({key.upper(): str(value) for key, value in webhook_overrides().items()})
    return env


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), timeout=40)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def _summary_in_process(
    tg: FakeTelegram, smspva: FakeSmspva, user: FakeUser, env: dict[str, str]
) -> tuple[asyncio.subprocess.Process, BotMessage]:
    proc = await _spawn(env)
    ready = "setWebhook" if "WEBHOOK_URL" in env else "getUpdates"
    await tg.wait_for(lambda: tg.calls_of(ready), timeout=20)
    smspva.add_account(API_KEY, balance=500)
    await link_key(tg, user, API_KEY)
    return proc, await to_summary(tg, user)


async def test_sigterm_during_a_slow_create_finishes_it_within_the_grace(
    tmp_path: Path, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser, bot_mode: str
) -> None:
    env = _mode_env(tmp_path, tg, smspva, bot_mode)
    env["SMSPVA_TIMEOUT_SECONDS"] = "22"  # a slow answer is still an answer
    proc, summary = await _summary_in_process(tg, smspva, alice, env)
    try:
        # The create takes effect at once; its answer comes 17 s later — longer than the background
        # loops' own stop timeout (15 s), within the payment grace (25 s).
        smspva.timeout_sleep = 17
        smspva.fail_next("timeout_after", method="create")
        tg.press(alice, summary, confirm_data(summary))
        await tg.wait_for(lambda: smspva.calls_of("create"), timeout=10)
        await asyncio.sleep(0.5)
        proc.send_signal(signal.SIGTERM)  # a deploy, mid-payment
        await asyncio.wait_for(proc.wait(), timeout=40)
        assert proc.returncode == 0
        order = smspva.orders[max(smspva.orders)]
        await tg.wait_message(alice.id, order.pnumber, timeout=5)  # shown before the process ended
        # A restart finds nothing left running: no second outcome, no second create.
        proc = await _spawn(env)
        await asyncio.sleep(3)
        assert len(smspva.calls_of("create")) == 1
        outcomes = [m.text for m in tg.messages(alice.id) if "rented" in m.text or "went through" in m.text]
        assert len(outcomes) == 1, outcomes
    finally:
        await _stop(proc)


@pytest.mark.parametrize("happened", [True, False])
async def test_sigkill_during_create_then_restart_pushes_the_outcome(
    tmp_path: Path, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser, bot_mode: str, happened: bool
) -> None:
    env = _mode_env(tmp_path, tg, smspva, bot_mode)
    proc, summary = await _summary_in_process(tg, smspva, alice, env)
    try:
        smspva.timeout_sleep = 30  # the answer never comes in time
        smspva.fail_next("timeout_after" if happened else "timeout", method="create")
        confirm = confirm_data(summary)
        tg.press(alice, summary, confirm)
        await tg.wait_for(lambda: smspva.calls_of("create"), timeout=10)
        await tg.wait_message(alice.id, "Renting", timeout=5)
        proc.send_signal(signal.SIGKILL)  # no grace at all
        await proc.wait()
        before = max(m.message_id for m in tg.messages(alice.id))
        proc = await _spawn(env)
        if happened:
            order = smspva.orders[max(smspva.orders)]
            told = await tg.wait_message(alice.id, order.pnumber, after=before, timeout=20)
            assert "went through" in told.text
        else:
            told = await tg.wait_message(alice.id, "did not go through", after=before, timeout=20)
            assert smspva.orders == {}
        assert NOTHING_LOST not in told.text
        await asyncio.sleep(1)
        assert len(smspva.calls_of("create")) == 1
        # The old button is no longer "in progress" for good.
        query = tg.press(alice, summary, confirm)
        await tg.wait_for(lambda: tg.answered(query), timeout=10)
        assert "Already done" in str(tg.answered(query))
    finally:
        await _stop(proc)


# --- auto-prolong is a payment (item 4) --------------------------------------------------------------


@pytest.mark.parametrize("bot_overrides", [{"expiry_check_seconds": 0.5}])
async def test_enabling_auto_prolong_needs_a_confirm_and_says_when_it_charges(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY, balance=1000)
    order = smspva.add_order(API_KEY, state=0, days_left=5)  # inside the prolong window
    await link_key(tg, alice, API_KEY)
    card = await open_card(tg, alice, order.id)
    periods = await press_data(tg, alice, card, cb(OrderAction.AUTO_PROLONG, order.id))
    week = OrderCb(action=OrderAction.AUTO_PROLONG_SET, order_id=order.id, dtype="week", dcount=1).pack()
    preview = await press_data(tg, alice, periods, week, expect="First charge")
    assert "now" in preview.text  # the window is open: it charges within a minute
    assert "$8.40" in preview.text  # opt16 at 1.20/day, a week
    assert any("Pay $8.40" in label for label in labels(preview))
    await asyncio.sleep(1.5)  # several expiry rounds: nothing is charged before the Confirm
    assert smspva.calls_of("prolong") == []
    await press(tg, alice, preview, "✅", expect="Auto-prolong is on", timeout=10)
    await tg.wait_for(lambda: smspva.calls_of("prolong"), timeout=10)
    await asyncio.sleep(1.5)
    assert len(smspva.calls_of("prolong")) == 1


async def test_auto_prolong_outside_the_window_names_the_first_charge_date(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY, balance=1000)
    order = smspva.add_order(API_KEY, state=0, days_left=20)
    await link_key(tg, alice, API_KEY)
    card = await open_card(tg, alice, order.id)
    periods = await press_data(tg, alice, card, cb(OrderAction.AUTO_PROLONG, order.id))
    week = OrderCb(action=OrderAction.AUTO_PROLONG_SET, order_id=order.id, dtype="week", dcount=1).pack()
    preview = await press_data(tg, alice, periods, week, expect="First charge")
    assert "when prolonging opens" in preview.text
    assert runner.app is not None
    assert not await runner.app.deps.expiry.is_enabled(order.id)


# --- balance before paying ----------------------------------------------------------------------------


async def test_balance_on_the_menu_summary_and_previews(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY, balance=Decimal("123.45"))
    order = smspva.add_order(API_KEY, state=0, days_left=5)
    await link_key(tg, alice, API_KEY)
    before = max(m.message_id for m in tg.messages(alice.id))
    tg.send_text(alice, "/start")
    menu = await tg.wait_message(alice.id, "balance", after=before)
    assert "$123.45" in menu.text
    summary = await to_summary(tg, alice)
    assert "balance: $123.45" in summary.text
    assert any("Pay $42.00" in label for label in labels(summary))
    assert "Not enough" not in summary.text
    card = await open_card(tg, alice, order.id)
    screen = await press_data(tg, alice, card, cb(OrderAction.PROLONG, order.id))
    week = OrderCb(action=OrderAction.PROLONG_PERIOD, order_id=order.id, dtype="week", dcount=1).pack()
    preview = await press_data(tg, alice, screen, week, expect="New end date")
    assert "balance: $123.45" in preview.text
    assert any("Pay $8.40" in label for label in labels(preview))
    # ~30 s cache: one read served the menu, the summary and the preview.
    assert len(smspva.balance_calls) == 1
    assert smspva.balance_calls[0].params["apikey"] == API_KEY


async def test_a_shortfall_shows_before_the_pay_button_with_a_top_up_link(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY, balance=Decimal("17.50"))
    await link_key(tg, alice, API_KEY)
    summary = await to_summary(tg, alice)
    assert "Not enough balance" in summary.text
    assert "$24.50 more" in summary.text
    assert "smspva.com" in summary.html
    assert any("Top up" in label for label in labels(summary))
    assert smspva.calls_of("create") == []


async def test_a_failing_balance_endpoint_is_simply_not_shown(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY, balance=500)
    smspva.balance_fails = True
    await link_key(tg, alice, API_KEY)
    summary = await to_summary(tg, alice)
    assert "balance" not in summary.text.lower()
    assert "$42.00" in summary.text
    result = await press(tg, alice, summary, "✅", expect="Number rented", timeout=10)
    assert "❌" not in result.text


@pytest.mark.allow_error_logs
async def test_a_crash_inside_the_money_call_is_reconciled_and_told(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug strikes after `create` reached SMSPVA, before the bot saw the answer: the token is not
    left `running`; `orders` is read once and the number is pushed."""
    smspva.add_account(API_KEY, balance=500)
    await link_key(tg, alice, API_KEY)
    summary = await to_summary(tg, alice)
    assert runner.app is not None
    client = runner.app.deps.smspva
    real_create = client.create

    async def create_then_crash(*args: object, **kwargs: object) -> object:
        await real_create(*args, **kwargs)  # type: ignore[arg-type]
        raise RuntimeError("bug while reading the answer")

    monkeypatch.setattr(client, "create", create_then_crash)
    tg.press(alice, summary, confirm_data(summary))
    await tg.wait_for(lambda: smspva.orders, timeout=10)
    order = smspva.orders[max(smspva.orders)]
    pushed = await tg.wait_message(alice.id, order.pnumber, timeout=10)
    assert "went through" in pushed.text
    told = await tg.wait_message(alice.id, "went wrong", timeout=10)
    assert NOTHING_LOST not in told.text
    assert await runner.app.deps.confirmations.running() == []
    assert len(smspva.calls_of("create")) == 1
