"""Push delivery, end to end: every SMS reaches the chat once, through faults and restarts."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import API_KEY
from tests.fakes.smspva import FakeSmspva
from tests.fakes.telegram import BotMessage, FakeTelegram, FakeUser
from tests.flows import link_key
from tests.harness import BotRunner


def sms_messages(tg: FakeTelegram, user: FakeUser, contains: str = "") -> list[BotMessage]:
    return [m for m in tg.messages(user.id) if "SMS" in m.text.split("\n")[0] and contains in m.text]


async def linked_with_order(
    runner: BotRunner,
    tg: FakeTelegram,
    smspva: FakeSmspva,
    user: FakeUser,
    *,
    state: int = 1,
    old_sms: str | None = None,
) -> int:
    """A user with a linked key and one order the poller has already taken a baseline of."""
    smspva.add_account(API_KEY, balance=100)
    order = smspva.add_order(API_KEY, service="opt16", state=state, days_left=20)
    if old_sms is not None:  # received an hour before the key was linked: the user saw it elsewhere
        smspva.inject_sms(order.id, old_sms, "OLD", date=smspva.now() - 3600)
    await link_key(tg, user, API_KEY)
    assert runner.app is not None
    db = runner.app.db

    async def synced() -> bool:
        row = await db.fetch_one("SELECT sms_synced FROM user_orders WHERE id = ?", (order.id,))
        return bool(row and row["sms_synced"])

    await tg.wait_for(synced, timeout=10)
    return int(order.id)


async def test_existing_sms_are_not_pushed_and_ten_new_ones_each_once(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    order_id = await linked_with_order(runner, tg, smspva, alice, old_sms="Old code 111111")
    for n in range(10):
        smspva.inject_sms(order_id, f"Your Instagram code is {100000 + n}", "Instagram")
        await asyncio.sleep(0.05)
    await tg.wait_for(lambda: len(sms_messages(tg, alice)) >= 10, timeout=20)
    await asyncio.sleep(1.0)  # a few more polls: nothing is sent twice
    texts = [m.text for m in sms_messages(tg, alice)]
    assert len(texts) == 10
    for n in range(10):
        assert sum(f"{100000 + n}" in text for text in texts) == 1
    assert not any("111111" in text for text in texts)
    first = sms_messages(tg, alice)[0]
    assert "<code>100000</code>" in first.html
    assert "Open order" in str(first.buttons())


async def test_sms_text_is_shown_exactly_as_written(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    order_id = await linked_with_order(runner, tg, smspva, alice)
    text = "<b>Code</b> 1234 & <script>x</script>"
    smspva.inject_sms(order_id, text, "Service")
    message = await tg.wait_message(alice.id, "<script>x</script>", timeout=10)
    assert text in message.text
    assert "<code>1234</code>" in message.html


@pytest.mark.parametrize("fault", ["500", "invalid_json", "timeout"])
async def test_sms_during_an_outage_is_delivered_once_after_recovery(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser, fault: str
) -> None:
    order_id = await linked_with_order(runner, tg, smspva, alice)
    smspva.timeout_sleep = 3
    smspva.fail_for(fault, 10)
    smspva.inject_sms(order_id, "Code 424242 during the outage", "Bank")
    await asyncio.sleep(10)
    message = await tg.wait_message(alice.id, "424242", timeout=25)
    assert message
    await asyncio.sleep(1)
    assert len(sms_messages(tg, alice, "424242")) == 1


async def test_429_on_first_send_is_honoured(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    order_id = await linked_with_order(runner, tg, smspva, alice)
    tg.fail_next("sendMessage", error_code=429, retry_after=2, chat_id=alice.id)
    smspva.inject_sms(order_id, "Code 777888", "Google")
    message = await tg.wait_message(alice.id, "777888", timeout=15)
    sends = [c for c in tg.calls_of("sendMessage") if "777888" in str(c.params.get("text"))]
    assert len(sends) == 2
    assert sends[1].at - sends[0].at >= 2.0
    assert message
    await asyncio.sleep(0.5)
    assert len(sms_messages(tg, alice, "777888")) == 1


async def test_sms_arriving_while_the_bot_is_down_is_delivered_once_after_restart(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    order_id = await linked_with_order(runner, tg, smspva, alice)
    smspva.inject_sms(order_id, "Code 100001 before", "A")
    await tg.wait_message(alice.id, "100001", timeout=10)
    await runner.stop()
    smspva.inject_sms(order_id, "Code 200002 while down", "B")
    await runner.start()
    await tg.wait_message(alice.id, "200002", timeout=15)
    await asyncio.sleep(1)
    assert len(sms_messages(tg, alice, "100001")) == 1
    assert len(sms_messages(tg, alice, "200002")) == 1


async def test_state_notices_on_activation_cycle(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    order_id = await linked_with_order(runner, tg, smspva, alice, state=0)
    smspva.set_state(order_id, 2)
    await asyncio.sleep(1.5)
    smspva.set_state(order_id, 1)
    await tg.wait_message(alice.id, "online now", timeout=10)
    smspva.set_state(order_id, 0)
    offline = await tg.wait_message(alice.id, "went offline", timeout=10)
    assert "Activate again" in str(offline.buttons())
    smspva.set_state(order_id, -1)
    await tg.wait_message(alice.id, "no longer in the SMSPVA system", timeout=10)
    await asyncio.sleep(1)
    texts = [m.text for m in tg.messages(alice.id)]
    assert sum("online now" in t for t in texts) == 1
    assert sum("went offline" in t for t in texts) == 1


async def test_other_service_sms_are_marked_and_can_be_switched_off(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.variants.sms_object = True  # OtherSms exist only in the {"SmsList", "OtherSms"} shape
    order_id = await linked_with_order(runner, tg, smspva, alice)
    smspva.inject_sms(order_id, "Telegram code 55555", "Telegram", other=True)
    message = await tg.wait_message(alice.id, "55555", timeout=10)
    assert "another service" in message.text
    assert runner.app is not None
    await runner.app.db.execute("UPDATE users SET other_sms = 0 WHERE id = ?", (alice.id,))
    smspva.inject_sms(order_id, "Telegram code 66666", "Telegram", other=True)
    smspva.inject_sms(order_id, "Own code 77777", "Instagram")
    await tg.wait_message(alice.id, "77777", timeout=10)
    assert not any("66666" in m.text for m in tg.messages(alice.id))


async def test_blocked_user_is_paused_until_start(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    order_id = await linked_with_order(runner, tg, smspva, alice)
    tg.block(alice.id)
    smspva.inject_sms(order_id, "Code 909090", "Bank")
    assert runner.app is not None
    db = runner.app.db

    async def blocked() -> bool:
        row = await db.fetch_one("SELECT bot_blocked FROM users WHERE id = ?", (alice.id,))
        return bool(row and row["bot_blocked"])

    await tg.wait_for(blocked, timeout=10)
    tg.unblock(alice.id)
    tg.send_text(alice, "/start")
    await tg.wait_message(alice.id, "909090", timeout=10)


async def test_rejected_key_pauses_polling_and_tells_once(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    await linked_with_order(runner, tg, smspva, alice)
    del smspva.accounts[API_KEY]
    await tg.wait_message(alice.id, "no longer accepts your API key", timeout=10)
    calls_after_notice = len(smspva.calls_of("orders"))
    await asyncio.sleep(2)
    assert len(smspva.calls_of("orders")) == calls_after_notice
    assert sum("no longer accepts" in m.text for m in tg.messages(alice.id)) == 1
    smspva.add_account(API_KEY)
    await link_key(tg, alice, API_KEY)
    await tg.wait_for(lambda: len(smspva.calls_of("orders")) > calls_after_notice + 1, timeout=10)


async def test_sms_read_elsewhere_first_is_still_pushed_by_the_sweep(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    """The web page read the SMS before we did, so `hasnewsms` is already cleared: the sweep of
    online numbers (once per POLL_IDLE_SECONDS) still finds it."""
    order_id = await linked_with_order(runner, tg, smspva, alice)
    smspva.inject_sms(order_id, "Code 818181 read on the web page", "Bank")
    smspva.orders[order_id].hasnewsms = False
    await tg.wait_message(alice.id, "818181", timeout=10)
