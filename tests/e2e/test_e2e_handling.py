"""How handlers are wired, end to end: typed confirmations, the one error handler, links from settings."""

from __future__ import annotations

import asyncio

import pytest

from bot.callbacks import ConfirmCb, ConfirmKind, MenuAction, MenuCb, OrderAction, OrderCb, RentAction, RentCb
from tests.conftest import API_KEY
from tests.fakes.smspva import FakeSmspva
from tests.fakes.telegram import BotMessage, FakeTelegram, FakeUser
from tests.flows import labels, link_key, press, press_data
from tests.harness import BotRunner


async def delete_preview(tg: FakeTelegram, smspva: FakeSmspva, user: FakeUser) -> tuple[BotMessage, int]:
    smspva.add_account(API_KEY)
    order = smspva.add_order(API_KEY, state=0, days_left=20)
    await link_key(tg, user, API_KEY)
    before = max((m.message_id for m in tg.messages(user.id)), default=0)
    tg.send_text(user, "/orders")
    listing = await tg.wait_message(user.id, after=before)
    card = await press_data(tg, user, listing, OrderCb(action=OrderAction.CARD, order_id=order.id).pack())
    screen = await press_data(tg, user, card, OrderCb(action=OrderAction.DELETE, order_id=order.id).pack())
    return screen, order.id


def confirm_button(message: BotMessage) -> ConfirmCb:
    for row in message.buttons():
        for button in row:
            data = str(button.get("callback_data", ""))
            if data.startswith(ConfirmCb.__prefix__ + ":"):
                return ConfirmCb.unpack(data)
    raise AssertionError(f"no confirm button: {labels(message)}")


async def test_old_version_confirm_button_is_refused_and_calls_nothing(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    screen, _order_id = await delete_preview(tg, smspva, alice)
    assert labels(screen)[0] == "🗑 Delete"  # the confirm button says what it does
    current = confirm_button(screen)
    assert current.kind is ConfirmKind.DELETE
    old = tg.press(alice, screen, f"k1:{current.token}")  # the token-only layout of older messages
    await tg.wait_for(lambda: tg.answered(old), timeout=5)
    assert "outdated" in str(tg.answered(old))
    await asyncio.sleep(0.3)
    assert smspva.calls_of("delete") == []
    # The token was not spent by the old button: the current one still works, once.
    await press(tg, alice, screen, "🗑 Delete", expect="was deleted", timeout=10)
    assert len(smspva.calls_of("delete")) == 1


async def test_confirm_of_another_kind_is_refused_and_calls_nothing(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    screen, _order_id = await delete_preview(tg, smspva, alice)
    token = confirm_button(screen).token
    for kind in (ConfirmKind.PROLONG, ConfirmKind.RENT, ConfirmKind.RESTORE, ConfirmKind.ADD_SERVICE):
        query = tg.press(alice, screen, ConfirmCb(kind=kind, token=token).pack())
        await tg.wait_for(lambda q=query: tg.answered(q), timeout=5)  # type: ignore[misc]
        assert "expired" in str(tg.answered(query))
    await asyncio.sleep(0.3)
    for method in ("delete", "prolong", "create", "restore_user", "add_service_to_order"):
        assert smspva.calls_of(method) == [], method
    await press(tg, alice, screen, "🗑 Delete", expect="was deleted", timeout=10)
    assert len(smspva.calls_of("delete")) == 1


@pytest.mark.allow_error_logs
async def test_a_crash_during_a_confirmation_says_what_is_known(
    runner: BotRunner,
    tg: FakeTelegram,
    smspva: FakeSmspva,
    alice: FakeUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    screen, _order_id = await delete_preview(tg, smspva, alice)
    assert runner.app is not None
    actions = runner.app.deps.order_actions
    real_delete = actions.delete

    async def delete_then_crash(*args: object, **kwargs: object) -> object:
        await real_delete(*args, **kwargs)  # type: ignore[arg-type]
        raise RuntimeError("bug after the upstream call")

    monkeypatch.setattr(actions, "delete", delete_then_crash)
    before = max(m.message_id for m in tg.messages(alice.id))
    tg.press(alice, screen, str(screen.callback_data("🗑 Delete")))
    told = await tg.wait_message(alice.id, "went wrong", after=before, timeout=10)
    assert "nothing was lost" not in told.text
    assert "carried out" in told.text  # once, not retried; what is known follows
    assert any("My numbers" in label for label in labels(told))
    # ... and it does follow: the deletion went through.
    outcome = await tg.wait_message(alice.id, "it went through", after=before, timeout=10)
    assert "Deletion" in outcome.text
    assert len(smspva.calls_of("delete")) == 1


async def test_upstream_failure_offers_a_retry_that_works(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY)
    smspva.add_order(API_KEY, state=0, days_left=20)
    await link_key(tg, alice, API_KEY)
    tg.send_text(alice, "/start")
    menu = await tg.wait_message(alice.id, "SMS numbers for rent")
    smspva.fail_for("500", 30, method="orders")
    failed = await press_data(tg, alice, menu, MenuCb(action=MenuAction.ORDERS).pack(), expect="try again")
    assert "❌" in failed.text
    assert failed.callback_data("Try again") == MenuCb(action=MenuAction.ORDERS).pack()
    smspva.clear_faults()
    listing = await press(tg, alice, failed, "Try again", expect="My numbers")
    assert "(1)" in listing.text


async def test_a_rejected_key_is_marked_invalid(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    smspva.add_account(API_KEY)
    await link_key(tg, alice, API_KEY)
    smspva.fail_next("status0", method="orders", msg="API KEY NOT FOUND!")
    before = max(m.message_id for m in tg.messages(alice.id))
    tg.send_text(alice, "/orders")
    await tg.wait_message(alice.id, "rejected your API key", after=before)
    assert runner.app is not None
    row = await runner.app.db.fetch_one("SELECT key_invalid FROM users WHERE id = ?", (alice.id,))
    assert row is not None
    assert row["key_invalid"]


async def test_a_missing_key_is_explained_with_the_configured_link(
    runner: BotRunner, tg: FakeTelegram, alice: FakeUser
) -> None:
    tg.send_text(alice, "/archive")
    told = await tg.wait_message(alice.id, "need your SMSPVA API key")
    assert 'href="https://keys.example.org/where"' in told.html
    assert labels(told) == ["🔑 Link my SMSPVA key", "🏠 Menu"]


async def test_the_support_button_uses_the_configured_link(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    tg.send_text(alice, "/rent")
    countries = await tg.wait_message(alice.id, "Choose a country")
    services = await press_data(
        tg,
        alice,
        countries,
        RentCb(action=RentAction.COUNTRY, country="RU").pack(),
        expect="Write to support",
    )
    assert services.button("Write to support").get("url") == "https://help.example.org/"


@pytest.fixture
def bot_overrides() -> dict[str, object]:
    return {"support_url": "https://help.example.org/", "api_key_url": "https://keys.example.org/where"}


async def test_a_typed_command_that_meets_an_outage_offers_a_retry(
    runner: BotRunner, tg: FakeTelegram, smspva: FakeSmspva, alice: FakeUser
) -> None:
    """/orders while SMSPVA is not answering: the error has Try again, which opens the same screen."""
    smspva.add_account(API_KEY)
    smspva.add_order(API_KEY, state=0, days_left=20)
    await link_key(tg, alice, API_KEY)
    smspva.fail_for("500", 30, method="orders")
    before = max(m.message_id for m in tg.messages(alice.id))
    tg.send_text(alice, "/orders")
    failed = await tg.wait_message(alice.id, "try again", after=before, timeout=10)
    assert "❌" in failed.text
    assert failed.callback_data("Try again") == MenuCb(action=MenuAction.ORDERS).pack()
    smspva.clear_faults()
    listing = await press(tg, alice, failed, "Try again", expect="My numbers")
    assert "(1)" in listing.text
