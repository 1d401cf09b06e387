"""The SMS push, code first, and the "All SMS" screen: readable entries, and a long SMS in full."""

from __future__ import annotations

import re

from bot.callbacks import FROM_NOTIFICATION, OrderAction, OrderCb
from bot.pushes import MAX_PUSH_CHARS
from tests.e2e.test_e2e_push import linked_with_order
from tests.fakes.smspva import FakeSmspva
from tests.fakes.telegram import BotMessage, FakeTelegram, FakeUser
from tests.flows import next_arrow, press
from tests.harness import BotRunner


async def test_code_first_with_copy_button_then_number_service_sender_time(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    order_id = await linked_with_order(runner, tg, smspva, alice)
    smspva.inject_sms(order_id, "Your Instagram code is 671 094. Don't share it.", "Instagram")
    push = await tg.wait_message(alice.id, "Don't share it", timeout=10)
    lines = push.text.split("\n")
    assert lines[0] == "🔑 671094"
    assert push.html.startswith("🔑 <code>671094</code>\n")
    assert push.copy_text("Copy") == "671094"
    order = smspva.orders[order_id]
    assert order.pnumber in lines[1]
    assert "Instagram" in lines[1]
    assert lines[1].index(order.pnumber) < lines[1].index("Instagram")
    assert re.fullmatch(r"From Instagram · \d{2}:\d{2}", lines[2]), lines[2]  # today: the time only
    assert lines[3] == ""
    assert lines[4] == "Your Instagram code is 671 094. Don't share it."


async def test_another_services_sms_names_that_service(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.variants.sms_object = True  # OtherSms exist only in the {"SmsList", "OtherSms"} shape
    order_id = await linked_with_order(runner, tg, smspva, alice)  # an Instagram number
    smspva.inject_sms(order_id, "Telegram code 55555", "Telegram", other=True)
    push = await tg.wait_message(alice.id, "55555", timeout=10)
    header = push.text.split("\n")[1]
    assert "another service" in header
    assert "Telegram" in header
    assert "Instagram" not in push.text


async def test_arabic_push_keyboard_reads_right_to_left(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, amal: FakeUser
) -> None:
    order_id = await linked_with_order(runner, tg, smspva, amal)
    smspva.inject_sms(order_id, "Code 246810", "Instagram")
    push = await tg.wait_message(amal.id, "246810", timeout=10)
    assert push.copy_text("📋") == "246810"
    last_row = push.buttons()[-1]
    # Open order is the first button in reading order: on the right, i.e. last in the row.
    assert (
        last_row[0]["callback_data"]
        == FROM_NOTIFICATION + OrderCb(action=OrderAction.SMS, order_id=order_id).pack()
    )
    assert (
        last_row[-1]["callback_data"]
        == FROM_NOTIFICATION + OrderCb(action=OrderAction.CARD, order_id=order_id).pack()
    )
    assert "\u2066" in push.text or "\u2068" in push.text  # the number and names are isolated


async def open_sms_list(tg: FakeTelegram, user: FakeUser, push: BotMessage) -> BotMessage:
    return await press(tg, user, push, "All SMS", expect="🕒", timeout=10)


async def test_all_sms_entries_are_separated_by_a_blank_line(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    order_id = await linked_with_order(runner, tg, smspva, alice)
    smspva.inject_sms(order_id, "First code 111222", "Instagram", date=smspva.now() - 60)
    smspva.inject_sms(order_id, "Second code 333444", "Instagram")
    await tg.wait_message(alice.id, "111222", timeout=10)
    push = await tg.wait_message(alice.id, "333444", timeout=10)
    screen = await open_sms_list(tg, alice, push)
    assert screen.text.count("🕒") == 2
    assert "Second code 333444\n\n🕒" in screen.text


async def test_a_long_sms_is_shown_in_full_on_the_sms_screen(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    order_id = await linked_with_order(runner, tg, smspva, alice)
    words = [f"w{n:04d}" for n in range(1500)]  # 9,000 characters: over Telegram's 4,096
    smspva.inject_sms(order_id, "Code 909090 " + " ".join(words), "Bank")
    await tg.wait_message(alice.id, "w1499", timeout=15)  # the push arrives in parts
    push = next(m for m in tg.messages(alice.id) if "909090" in m.text and m.buttons())
    screen = await open_sms_list(tg, alice, push)
    seen = screen.text
    for _ in range(10):
        assert len(screen.text.encode("utf-16-le")) // 2 <= MAX_PUSH_CHARS
        if not any(next_arrow(alice) == b["text"] for row in screen.buttons() for b in row):
            break
        screen = await press(tg, alice, screen, next_arrow(alice))
        seen += screen.text
    assert "Part 1 of" in seen
    missing = [word for word in words if word not in seen]
    assert not missing, f"{len(missing)} words not shown, first {missing[:3]}"
