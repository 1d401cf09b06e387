"""Races and odd answers found in review: each SMS still reaches the right chat, once and in order."""

from __future__ import annotations

from tests.e2e.test_e2e_push import linked_with_order, sms_messages
from tests.fakes.smspva import FakeSmspva
from tests.fakes.telegram import FakeTelegram, FakeUser
from tests.harness import BotRunner


async def test_a_5xx_on_a_chats_first_sms_does_not_reorder_the_chat(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    order_id = await linked_with_order(runner, tg, smspva, alice)
    tg.fail_next("sendMessage", error_code=502, description="Bad Gateway", chat_id=alice.id)
    smspva.inject_sms(order_id, "First code 101010", date=smspva.now() - 2)
    smspva.inject_sms(order_id, "Second code 202020", date=smspva.now() - 1)
    await tg.wait_message(alice.id, "101010", timeout=15)
    await tg.wait_message(alice.id, "202020", timeout=15)
    texts = [m.text for m in sms_messages(tg, alice) if "101010" in m.text or "202020" in m.text]
    assert len(texts) == 2
    assert "101010" in texts[0]
