"""Push delivery, end to end: every SMS reaches the chat once, through faults and restarts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import API_KEY
from tests.fakes.smspva import FakeSmspva
from tests.fakes.telegram import BotMessage, FakeTelegram, FakeUser
from tests.flows import link_key
from tests.harness import BotRunner, ErrorCollector


def sms_messages(tg: FakeTelegram, user: FakeUser, contains: str = "") -> list[BotMessage]:
    # The code comes first; the "✉️ SMS · number · service" line is the first or the second.
    return [
        m for m in tg.messages(user.id) if "✉️ SMS" in " ".join(m.text.split("\n")[:2]) and contains in m.text
    ]


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


# --- every SMS, once: the paths that used to lose one ------------------------------------------------


async def wait_synced(runner: BotRunner, tg: FakeTelegram, *order_ids: int) -> None:
    assert runner.app is not None
    db = runner.app.db

    async def synced() -> bool:
        marks = ",".join("?" * len(order_ids))
        row = await db.fetch_one(
            f"SELECT COUNT(*) FROM user_orders WHERE sms_synced = 1 AND id IN ({marks})", order_ids
        )
        return bool(row and row[0] == len(order_ids))

    await tg.wait_for(synced, timeout=10)


async def test_sms_arriving_after_first_listing_but_before_the_first_read_is_pushed(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    """A key linked while a number is online; the code arrives seconds later, before the bot's first
    `sms` read of the order went through. Only what was there before the bot knew it is old."""
    smspva.add_account(API_KEY)
    order = smspva.add_order(API_KEY, state=1, days_left=20)
    smspva.inject_sms(order.id, "Old code 111111", "OLD", date=smspva.now() - 3600)
    smspva.fail_next("status0", method="sms", count=2, msg="Server is busy")  # the first reads fail
    await link_key(tg, alice, API_KEY)
    await tg.wait_for(lambda: smspva.calls_of("sms"), timeout=10)
    smspva.inject_sms(order.id, "Your code is 303030", "Bank")
    await tg.wait_message(alice.id, "303030", timeout=10)
    await asyncio.sleep(1)
    assert len(sms_messages(tg, alice, "303030")) == 1
    assert not sms_messages(tg, alice, "111111")


async def test_sms_of_a_number_rented_through_the_bot_is_never_taken_as_old(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    """The `create` answer comes late: the running poller lists the new order first (and its first
    `sms` read fails); an SMS arriving then is still the user's first SMS, not a baseline."""
    from tests.e2e.test_e2e_rent import to_summary

    smspva.add_account(API_KEY, balance=1000)
    smspva.latency = 0.0
    await link_key(tg, alice, API_KEY)
    summary = await to_summary(tg, alice)
    smspva.timeout_sleep = 2.5  # create takes effect at once, its answer is late (the bot reconciles)
    smspva.fail_next("timeout_after", method="create")
    smspva.fail_next("status0", method="sms", count=2, msg="Server is busy")
    tg.press_button(alice, summary, "✅")
    await tg.wait_for(lambda: smspva.calls_of("sms"), timeout=10)
    (order_id,) = smspva.accounts[API_KEY].order_ids
    smspva.inject_sms(order_id, "Welcome code 404040", "Airbnb")
    await tg.wait_message(alice.id, "404040", timeout=15)
    await asyncio.sleep(1)
    assert len(sms_messages(tg, alice, "404040")) == 1


def _refuse_sms_for(smspva: FakeSmspva, order_id: int) -> Callable[[], None]:
    """Test-local fault: SMSPVA refuses `sms` for one order (status 0) until the returned undo runs."""
    real = smspva._keyed["sms"]

    def sms(params: dict[str, str], account: Any) -> dict[str, Any]:
        if params.get("id") == str(order_id):
            return {"status": 0, "msg": "Order is temporarily unavailable"}
        return real(params, account)

    smspva._keyed["sms"] = sms
    return lambda: smspva._keyed.__setitem__("sms", real)


async def test_one_order_whose_sms_call_fails_does_not_hold_back_the_others(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY)
    bad = smspva.add_order(API_KEY, state=1, days_left=20)
    good = smspva.add_order(API_KEY, state=1, days_left=20)
    assert bad.id < good.id  # listed first: it used to stop the poll before the good one
    await link_key(tg, alice, API_KEY)
    await wait_synced(runner, tg, bad.id, good.id)
    undo = _refuse_sms_for(smspva, bad.id)
    smspva.inject_sms(bad.id, "Code 505050 on the bad order", "Bank")
    smspva.inject_sms(good.id, "Code 606060 on the good order", "Bank")
    await tg.wait_message(alice.id, "606060", timeout=5)
    undo()
    await tg.wait_message(alice.id, "505050", timeout=15)
    await asyncio.sleep(1)
    assert len(sms_messages(tg, alice, "505050")) == 1
    assert len(sms_messages(tg, alice, "606060")) == 1


def _odd_sms_items(smspva: FakeSmspva) -> None:
    """Test-local shape fault: SMS items the live API was seen to send without `date`, with a string
    date, or without `sender` (marked by words in their text)."""
    real = smspva._sms_list

    def listing(messages: list[Any]) -> list[dict[str, Any]]:
        items = real(messages)
        for item in items:
            if "undated" in item["text"]:
                del item["date"]
            if "textdate" in item["text"]:
                # The SMS's own date as a string (read as UTC): not before the bot knew the order. It
                # is the item's date, so it stays the same in every answer (formatted from it, not
                # from the clock, which may pass a minute boundary between two reads).
                item["date"] = datetime.fromtimestamp(int(item["date"]), UTC).strftime("%d.%m.%Y %H:%M")
            if "anonymous" in item["text"]:
                del item["sender"]
        return items

    smspva._sms_list = listing  # type: ignore[method-assign]


async def test_sms_items_without_date_or_sender_are_still_pushed_once(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    order_id = await linked_with_order(runner, tg, smspva, alice)
    _odd_sms_items(smspva)
    smspva.inject_sms(order_id, "undated code 717272", "Bank")
    smspva.inject_sms(order_id, "textdate code 727373", "Bank")
    smspva.inject_sms(order_id, "anonymous code 737474", "Bank")
    for code in ("717272", "727373", "737474"):
        await tg.wait_message(alice.id, code, timeout=10)
    await asyncio.sleep(2)  # more polls and sweeps: none of them is pushed twice
    for code in ("717272", "727373", "737474"):
        assert len(sms_messages(tg, alice, code)) == 1


async def test_sms_longer_than_telegram_allows_arrives_in_numbered_parts(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    order_id = await linked_with_order(runner, tg, smspva, alice)
    text = "Your code is 919293. " + " ".join(f"word{n} <&>" for n in range(900))
    assert len(text) > 9000
    smspva.inject_sms(order_id, text, "Bank")
    await tg.wait_for(lambda: len(sms_messages(tg, alice)) >= 3, timeout=10)
    await asyncio.sleep(1)
    parts = sms_messages(tg, alice)
    assert len(parts) == 3
    assert "Part 1 of 3" in parts[0].text
    assert "<code>919293</code>" in parts[0].html
    assert "Open order" in str(parts[0].buttons())
    assert "Part 2 of 3" in parts[1].text
    assert "Part 3 of 3" in parts[2].text
    assert all(len(part.text) <= 4096 for part in parts)
    assert "".join(part.text.split("\n\n", 1)[1] for part in parts) == text


async def test_a_rejected_key_is_rechecked_and_resumes_by_itself(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    order_id = await linked_with_order(runner, tg, smspva, alice)
    assert runner.app is not None
    runner.app.poller.key_recheck_offsets = (1.0, 2.0, 3.0)  # 1, 5, 30 minutes… in a test's seconds
    account = smspva.accounts.pop(API_KEY)
    await tg.wait_message(alice.id, "no longer accepts your API key", timeout=10)
    await asyncio.sleep(1.5)  # a re-check or two, still rejected
    smspva.accounts[API_KEY] = account
    smspva.inject_sms(order_id, "Code 828282 while paused", "Bank")
    smspva.orders[order_id].hasnewsms = False  # read on the web page meanwhile
    await tg.wait_message(alice.id, "accepts your API key again", timeout=10)
    await tg.wait_message(alice.id, "828282", timeout=10)
    await asyncio.sleep(1)
    texts = [m.text for m in tg.messages(alice.id)]
    assert sum("no longer accepts" in t for t in texts) == 1
    assert sum("accepts your API key again" in t for t in texts) == 1
    assert len(sms_messages(tg, alice, "828282")) == 1


async def _fail_outbox_writes(runner: BotRunner) -> Callable[[], Awaitable[None]]:
    """Test-local fault: every outbox insert fails (a full disk, an I/O error) until undone."""
    assert runner.app is not None
    db = runner.app.db
    await db.execute(
        "CREATE TRIGGER test_outbox_fails BEFORE INSERT ON outbox"
        " BEGIN SELECT RAISE(ABORT, 'disk I/O error (test)'); END"
    )

    async def undo() -> None:
        await db.execute("DROP TRIGGER test_outbox_fails")

    return undo


@pytest.mark.allow_error_logs
async def test_sms_read_but_not_written_is_read_again_next_round(
    runner: BotRunner,
    tg: FakeTelegram,
    smspva: FakeSmspva,
    alice: FakeUser,
    error_logs: ErrorCollector,
) -> None:
    """Reading cleared `hasnewsms` upstream; the write failed; the number is not online, so no sweep
    would read it again — the order still owes a read."""
    order_id = await linked_with_order(runner, tg, smspva, alice, state=0)
    undo = await _fail_outbox_writes(runner)
    smspva.inject_sms(order_id, "Code 939393 read then lost", "Bank")
    await tg.wait_for(lambda: error_logs.records, timeout=10)
    assert not smspva.orders[order_id].hasnewsms  # it was read
    await undo()
    await tg.wait_message(alice.id, "939393", timeout=10)
    await asyncio.sleep(1)
    assert len(sms_messages(tg, alice, "939393")) == 1


@pytest.mark.parametrize("mode", ["status0", "429"])
async def test_a_rate_limited_key_keeps_its_pace_and_every_sms_arrives_once(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser, mode: str
) -> None:
    """SMSPVA refuses calls of the key closer than 0.6 s while the bot would poll every 0.3 s (no
    spacing of its own): the poller waits each refusal out, learns the pace and keeps to it (a
    refusal or two, not one every few calls), and every SMS still arrives once, no failure shown."""
    order_id = await linked_with_order(runner, tg, smspva, alice)
    smspva.set_rate_limit(0.6, mode=mode)
    first = len(smspva.calls)
    codes = [str(610000 + n) for n in range(6)]
    for code in codes:
        smspva.inject_sms(order_id, f"Your code is {code}", "Bank")
        await tg.wait_message(alice.id, code, timeout=20)
    await asyncio.sleep(1.5)  # a few more rounds: nothing twice
    for code in codes:
        assert len(sms_messages(tg, alice, code)) == 1
    calls = smspva.calls[first:]
    rejected = [call for call in calls if call.rate_limited]
    assert rejected, "the test must have hit the rate limit"
    assert len(rejected) <= 3, f"{len(rejected)} of {len(calls)} calls refused"
    assert smspva.calls_of("sms")[-1].at > calls[0].at  # the online number is still read
    texts = " ".join(m.text for m in tg.messages(alice.id))
    assert "try again" not in texts.lower()  # a read was never shown as failed
    assert "rejected your API key" not in texts
