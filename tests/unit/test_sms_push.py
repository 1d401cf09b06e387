"""The SMS push and the SMS screen without servers: short local times, pages under Telegram's limit."""

from __future__ import annotations

from bot.formatting import short_time
from bot.handlers.orders.sms import sms_screen
from bot.i18n import create_i18n
from bot.pushes import MAX_PUSH_CHARS, visible_length
from bot.smspva import Order, Sms

T0 = 1_800_000_000  # 2027-01-15 08:00 UTC


def test_short_time_today_this_year_and_before() -> None:
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("en"):
        assert short_time(T0, "UTC", now=T0 + 3600) == "08:00"
        assert short_time(T0, "Asia/Tokyo", now=T0) == "17:00"
        assert short_time(T0 - 86400, "UTC", now=T0) == "Jan 14 08:00"
        assert short_time(T0 - 30 * 86400, "UTC", now=T0) == "Dec 16, 2026 08:00"


def test_sms_screen_pages_hold_every_word_of_a_long_sms() -> None:
    order = Order(id=5, state=1, until=T0, pnumber="9001234567", ccode="+7", scode="opt16", sname="Instagram")
    words = [f"w{n:04d}" for n in range(2000)]
    own = [Sms(text=" ".join(words), date=T0, sender="Bank"), Sms(text="Code 1234", date=T0 - 60, sender="X")]
    other = [Sms(text="<b>&</b> 5678", date=T0, sender="Telegram")]
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("ar"):
        pages = sms_screen(order, own, other, "UTC")
    assert len(pages) >= 3
    assert all(visible_length(page) <= MAX_PUSH_CHARS for page in pages)
    joined = "".join(pages)
    assert all(word in joined for word in words)
    assert "&lt;b&gt;&amp;&lt;/b&gt; 5678" in pages[-1]
