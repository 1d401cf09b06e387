"""The poller's rules and the push texts, without servers: first sight, fingerprints, key re-checks,
long SMS parts, and an order missing from `orders` for a while."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.crypto import KeyBox
from bot.db import Database, UsersRepo
from bot.db.orders import OrdersRepo, UserOrder
from bot.i18n import create_i18n
from bot.pushes import MAX_PUSH_CHARS, sms_pushes, split_text, visible_length
from bot.services.poller import (
    SKEW_TOLERANCE_SECONDS,
    fingerprints,
    is_old,
    legacy_fingerprint,
    next_key_check,
    unseen,
)
from bot.smspva import Order, Sms

T0 = 1_800_000_000


def _row(**changes: object) -> UserOrder:
    values: dict[str, object] = {
        "id": 5,
        "user_id": 1,
        "country": "RU",
        "ccode": "+7",
        "pnumber": "9001234567",
        "service": "opt16",
        "sname": "Instagram",
        "state": 1,
        "until": T0 + 86400,
        "rented_at": None,
        "activated_at": None,
        "sms_synced": False,
        "gone": False,
        "first_seen": T0,
    }
    values.update(changes)
    return UserOrder(**values)  # type: ignore[arg-type]


def _sms(text: str, date: int | None = T0, sender: str = "Bank") -> Sms:
    sms = Sms(text=text, date=T0, sender=sender)
    return sms.model_copy(update={"date": date})


def test_first_sight_is_decided_by_date_with_a_skew_tolerance() -> None:
    row = _row()
    assert is_old(_sms("a", T0 - SKEW_TOLERANCE_SECONDS - 1), row, first_read=True, now=T0)
    assert not is_old(_sms("b", T0 - 60), row, first_read=True, now=T0)  # within the skew: new
    assert not is_old(_sms("c", T0 + 5), row, first_read=False, now=T0 + 30)
    assert not is_old(_sms("d", T0 - 86400), _row(rented_at=T0), first_read=True, now=T0)  # rented here
    assert not is_old(_sms("e", T0 - 86400), _row(first_seen=0), first_read=True, now=T0)  # pre-upgrade


def test_an_undated_sms_is_old_only_at_a_prompt_first_read() -> None:
    row = _row()
    assert is_old(_sms("a", None), row, first_read=True, now=T0 + 2)
    assert not is_old(_sms("a", None), row, first_read=True, now=T0 + 600)
    assert not is_old(_sms("a", None), row, first_read=False, now=T0 + 2)


def test_a_zoneless_date_string_never_makes_a_later_sms_old() -> None:
    """SMSPVA's "YYYY-MM-DD HH:MM:SS" is read as UTC; written in another zone it is hours off."""
    row = _row()
    east = datetime.fromtimestamp(T0 + 30, UTC) + timedelta(hours=3)  # Moscow time: looks 3 h ahead
    west = datetime.fromtimestamp(T0 + 30, UTC) - timedelta(hours=5)  # a zone west of UTC: looks 5 h old
    for shown in (east, west):
        sms = Sms.model_validate({"text": "code", "date": shown.strftime("%Y-%m-%d %H:%M:%S")})
        assert sms.date_doubtful
        assert not is_old(sms, row, first_read=False, now=T0 + 30)
        assert not is_old(sms, row, first_read=True, now=T0 + 600)
        assert is_old(sms, row, first_read=True, now=T0 + 2)  # the very first read's baseline, as undated
    for exact in (T0 - 7200, str(T0 - 7200), "2027-01-15T08:00:00+03:00"):
        sms = Sms.model_validate({"text": "code", "date": exact})
        assert not sms.date_doubtful


def test_fingerprints_keep_missing_fields_and_repeats_apart() -> None:
    entries = [(_sms("same", None), False), (_sms("same", None), False), (_sms("same", None, ""), False)]
    prints = fingerprints(5, entries)
    assert len(set(prints)) == 3
    assert prints == fingerprints(5, entries)  # stable from one read to the next
    assert fingerprints(5, [(_sms("x"), False)]) != fingerprints(6, [(_sms("x"), False)])


def test_an_sms_moved_from_other_services_to_the_orders_own_list_is_not_new() -> None:
    code = _sms("Telegram code 123456")
    first = unseen(5, [(code, True)], set())  # read once among OtherSms
    assert len(first) == 1
    seen = {first[0][2]}
    assert unseen(5, [(code, False)], seen) == []  # then in SmsList, once its service was added
    assert unseen(5, [(code, False), (code, True)], set())[0][1] is False  # both at once: one SMS, own


def test_fingerprints_stored_before_the_upgrade_still_count_as_seen() -> None:
    code, twice = _sms("Your code 1"), _sms("same", None)
    entries = [(code, True), (twice, False), (twice, False)]
    stored = {
        legacy_fingerprint(5, code, other=True),
        legacy_fingerprint(5, twice, other=False),
        legacy_fingerprint(5, twice, other=False, repeat=2),
    }
    assert unseen(5, entries, stored) == []
    assert unseen(5, [(code, False)], stored) == []  # and after SMSPVA moved it to the own list
    assert len(unseen(5, [*entries, (twice, False)], stored)) == 1  # a third equal text is new


def test_key_rechecks_back_off_then_go_hourly_then_daily() -> None:
    offsets = (60.0, 300.0, 1800.0, 3600.0, 7200.0)
    assert next_key_check(0, 0, offsets) == 60
    assert next_key_check(0, 60, offsets) == 300
    assert next_key_check(0, 4000, offsets) == 7200
    assert next_key_check(0, 7200, offsets) == 7200 + 86400
    assert next_key_check(0, 7200 + 86400 + 1, offsets) == 7200 + 2 * 86400


def test_split_text_never_drops_a_character_and_respects_the_budget() -> None:
    text = "word " * 1000 + "😀" * 500 + "x" * 3000
    pieces = split_text(text, 1000)
    assert "".join(pieces) == text
    assert all(len(piece.encode("utf-16-le")) // 2 <= 1000 for piece in pieces)
    assert not any(piece.endswith(" ") for piece in pieces[:-1])


def test_a_long_sms_becomes_numbered_parts_under_telegrams_limit() -> None:
    order = Order(id=5, state=1, until=T0, pnumber="9001234567", ccode="+7", scode="opt16", sname="Instagram")
    text = "Code 123456. " + "<&> " * 3000
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("en"):
        parts = sms_pushes(order, _sms(text), "UTC", other_service=False, read_at=T0)
        short = sms_pushes(order, _sms("Code 1234", None, ""), "UTC", other_service=False, read_at=T0)
    assert len(parts) == 4
    assert all(visible_length(part.text) <= MAX_PUSH_CHARS for part in parts)
    assert parts[0].markup is not None
    assert parts[0].text.startswith("🔑 <code>123456</code>\n")
    assert len(short) == 1
    assert "From ? · " in short[0].text


@pytest.fixture
async def db(tmp_path: Path) -> Database:
    database = Database(tmp_path / "bot.sqlite3")
    await database.connect()
    return database


async def test_an_order_is_gone_only_after_several_missing_polls_over_time(db: Database) -> None:
    users = UsersRepo(db, KeyBox(Fernet.generate_key()))
    orders = OrdersRepo(db)
    await users.get_or_create(1)
    order = Order(id=5, state=1, until=T0, pnumber="9001234567", ccode="+7", scode="opt16")
    await orders.upsert_seen(1, order)
    first = await orders.get(5)
    assert first is not None
    assert await orders.mark_missing([5], polls=3, seconds=0) == []
    assert await orders.mark_missing([5], polls=3, seconds=3600) == []
    assert await orders.mark_missing([5], polls=3, seconds=3600) == []  # 3 polls, but not an hour
    await orders.upsert_seen(1, order)  # back in the list: the count starts over, first sight stays
    back = await orders.get(5)
    assert back is not None
    assert back.missing_polls == 0
    assert back.first_seen == first.first_seen
    for _ in range(2):
        assert await orders.mark_missing([5], polls=3, seconds=0) == []
    assert await orders.mark_missing([5], polls=3, seconds=0) == [5]
    await db.close()
