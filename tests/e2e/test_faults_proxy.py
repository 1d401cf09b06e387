"""Faults of what stands between the bot and Telegram: a proxy answering its own HTML error page."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.e2e.test_e2e_push import linked_with_order, sms_messages
from tests.fakes.smspva import FakeSmspva
from tests.fakes.telegram import FakeTelegram, FakeUser
from tests.harness import BotRunner
from tests.telegram_proxy import TelegramProxy


@pytest.fixture
async def proxy(tg: FakeTelegram) -> AsyncIterator[TelegramProxy]:
    front = TelegramProxy(tg.base_url)
    await front.start()
    yield front
    await front.stop()


@pytest.fixture
def bot_overrides(proxy: TelegramProxy) -> dict[str, object]:
    return {"telegram_api_url": proxy.base_url}  # every Bot API call of this module goes through it


async def test_an_html_502_page_is_backed_off_like_a_5xx(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser, proxy: TelegramProxy
) -> None:
    order_id = await linked_with_order(runner, tg, smspva, alice)
    proxy.html_error("sendMessage", count=10_000)  # the proxy cannot reach Telegram for a while
    smspva.inject_sms(order_id, "Code 454545 behind a broken proxy", "Bank")
    await tg.wait_for(lambda: proxy.faults["sendmessage:html"] >= 1, timeout=10)
    await asyncio.sleep(4)
    # Backed off (2 s, then 4 s) instead of retried at the outbox's full 25/s (~100 tries).
    assert proxy.faults["sendmessage:html"] <= 3
    proxy.calm()
    await tg.wait_message(alice.id, "454545", timeout=15)
    await asyncio.sleep(1)
    assert len(sms_messages(tg, alice, "454545")) == 1
