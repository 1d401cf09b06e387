"""Right-to-left: the Unicode bidi algorithm (python-bidi) over Arabic lines and button labels.

Telegram shows each line of a message and each button label as its own bidi paragraph, its
direction taken from the first strong character. `visual()` runs the same algorithm and returns
the characters in the order they appear on screen, left to right (Arabic words come out reversed,
hence `rev()`). The summary and order-list lines are built from the msgids the handlers use
(bot/handlers/rent.py summary_screen, bot/handlers/orders.py order_line, the restore button of
bot/handlers/archive.py render_archive) with the same formatting primitives.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from bidi import get_display  # type: ignore[import-untyped]

from bot.callbacks import RentAction, RentCb
from bot.formatting import (
    back_arrow,
    code_html,
    command,
    country_name,
    flag,
    forward_arrow,
    local_datetime,
    money,
    number,
    period_label,
    phone,
    phone_html,
    rtl_line,
    split_full_number,
    strip_bidi,
)
from bot.i18n import create_i18n
from bot.keyboards import common, orders, rent
from bot.periods import Period
from bot.popular import period_picker
from bot.smspva import Order, PeriodType, Service

CONTROLS = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069\ufe0f]")


def visual(line: str) -> str:
    """What the reader sees, left to right: tags dropped (Telegram renders them), bidi applied."""
    assert "\n" not in line, "one paragraph at a time"
    plain = re.sub(r"<[^>]+>", "", line)
    shown = get_display(plain)
    assert isinstance(shown, str)
    return CONTROLS.sub("", shown).replace("\u00a0", " ")


def rev(arabic: str) -> str:
    return arabic[::-1]


@pytest.fixture(scope="module")
def i18n() -> I18n:
    return create_i18n()


@pytest.fixture
def ar(i18n: I18n) -> Iterator[None]:
    with i18n.context(), i18n.use_locale("ar"):
        yield


@pytest.fixture
def en(i18n: I18n) -> Iterator[None]:
    with i18n.context(), i18n.use_locale("en"):
        yield


AIRBNB = Service.model_validate({"service": "opt46", "name": "Airbnb", "price_day": "6", "count": 359})
ORDER = Order.model_validate(
    {
        "id": 101,
        "pnumber": "9096037108",
        "ccode": "+7",
        "cname": "RU",
        "scode": "opt16",
        "sname": "Instagram",
        "state": 1,
        "until": 1_790_000_000,
        "hasnewsms": True,
    }
)


def _summary_lines() -> list[str]:
    """bot/handlers/rent.py summary_screen, for Russia / Airbnb / 2 weeks."""
    period = Period(PeriodType.WEEK, 2)
    country = f"{flag('RU')} {country_name('RU', 'Россия')}"
    return [
        _("Country: {country}").format(country=country),
        _("Service: {service}").format(service="Airbnb"),
        _("Period: {period} ({days} days)").format(period=period_label(period), days=number(period.days)),
        _("Ends about: {date} ({zone})").format(date=local_datetime(1_790_000_000, "UTC"), zone="UTC"),
        _("Available numbers: {count}").format(count=number(359)),
        _("Price per day: {price}").format(price=money(Decimal("17.5"))),
        _("Discount for this period: {percent}%").format(percent=number(10)),
        _("<b>Total: {total}</b>").format(total=money(Decimal("245"))),
        _("Link your SMSPVA API key to rent: <code>/key YOUR_KEY</code>"),
    ]


@pytest.mark.usefixtures("ar")
def test_arabic_summary_keeps_amounts_counts_and_commands_in_order() -> None:
    lines = [visual(line) for line in _summary_lines()]
    country, service, period, ends, available, price, discount, total, link = lines
    # Every line runs right to left: its Arabic label is at the right end.
    assert country == f"{rev('روسيا')} 🇷🇺 :{rev('البلد')}"
    assert service == f"Airbnb :{rev('الخدمة')}"
    assert period.startswith(")14 :")  # python-bidi leaves mirroring "(" to the renderer
    assert period.endswith(rev("المدة:"))
    assert available == f"359 :{rev('الأرقام المتاحة')}"
    # The bug: Babel's right-to-left mark made "17.50 US$" read "$US 17.50".
    assert price == f"17.50 US$ :{rev('السعر اليومي')}"
    assert "$US" not in price
    assert total == f"245.00 US$ :{rev('المجموع')}"
    assert discount.startswith("%10 :")
    assert ends.startswith(")UTC( ")
    assert ends.endswith(rev("ينتهي تقريبًا في:"))
    # The command keeps its slash in front, left of its (Arabic) placeholder.
    assert link.startswith(f"/key {rev('مفتاحك')} :")


@pytest.mark.usefixtures("ar")
def test_arabic_service_button_keeps_the_count_apart_from_the_price() -> None:
    label = rent.service_button_text(AIRBNB)
    # The bug: "Airbnb · 6.00 US$/359 · يوم" (a left-to-right label, the count glued to the price).
    assert visual(label) == f"359 · {rev('يوم')}/6.00 US$ · Airbnb"
    sold_out = AIRBNB.model_copy(update={"count": 0})
    assert visual(rent.service_button_text(sold_out)).endswith("Airbnb ⛔")


@pytest.mark.usefixtures("ar")
def test_arabic_restore_button_keeps_the_plus_in_front() -> None:
    # bot/handlers/archive.py: the archive's full number in the one phone format (as in My numbers)
    label = "♻️ " + _("Restore {number}").format(number=phone(*split_full_number("UK", "447911123456")))
    assert visual(label) == f"+44 7911123456 {rev('استعادة')} ♻"


@pytest.mark.usefixtures("ar")
def test_arabic_order_list_lines_and_buttons() -> None:
    # bot/handlers/orders.py order_line
    text = _("{state}\n{number} · {service} · until {date}{new}").format(
        state=_("🟢 active — can receive SMS"),
        number=phone_html(ORDER.ccode, ORDER.pnumber),
        service="Instagram",
        date=local_datetime(ORDER.until, "UTC"),
        new=" ✉️",
    )
    state_line, number_line = text.split("\n")
    assert visual(state_line).endswith("🟢")  # the state emoji at the start (right) of the line
    shown = visual(number_line)
    # A right-to-left line: the number (with "+" in front) at the right, the mark at the far left.
    assert shown.startswith("✉ ")
    assert shown.endswith("Instagram · +7 9096037108")
    assert "<code>+7 9096037108</code>" in number_line  # tap-to-copy text without any control
    markup = orders.order_list([ORDER], 0)
    button = markup.inline_keyboard[0][0]
    assert visual(button.text) == "Instagram · +7 9096037108 ✉"


@pytest.mark.usefixtures("ar")
def test_arabic_flag_lines_run_right_to_left() -> None:
    line = _("{country} — choose a service.").format(country=f"{flag('RU')} {country_name('RU', '')}")
    # The full stop at the end of the sentence, i.e. at the left; the flag first, i.e. at the right.
    assert visual(line) == f".{rev('اختر الخدمة')} — {rev('روسيا')} 🇷🇺"
    england = f"{flag('EN')} Airbnb"
    assert visual(england).startswith("Airbnb ")
    assert visual(rtl_line("🌐 Airbnb — " + _("Settings") + ".")).startswith(".")


@pytest.mark.usefixtures("ar")
def test_arabic_arrows_and_rows_are_mirrored() -> None:
    assert back_arrow() == "▶️"
    assert forward_arrow() == "◀️"
    # Telegram lays rows out left to right in every language: the keyboards reverse them.
    markup = rent.services("RU", [AIRBNB] * 20, 1, searching=False, support_url="https://t.me/x")
    nav = next(row for row in markup.inline_keyboard if len(row) == 3)
    pages = {b.text: b.callback_data for b in nav}
    # Next page on the left pointing left, previous on the right pointing right.
    assert [b.text for b in nav] == ["◀️", "⁦2⁩/⁦3⁩", "▶️"]
    assert pages["◀️"] == RentCb(action=RentAction.SERVICES, country="RU", page=2).pack()
    assert pages["▶️"] == RentCb(action=RentAction.SERVICES, country="RU", page=0).pack()
    home, back = markup.inline_keyboard[-1]  # Back on the right, where right-to-left starts
    assert (home.text, back.text) == (common.home_button().text, common.back_button("x").text)
    assert visual(back.text) == f"{rev('رجوع')} ▶"
    menu = common.main_menu().inline_keyboard
    assert [b.text for b in menu[1]] == ["🗄 " + _("Archive"), "📋 " + _("My numbers")]


@pytest.mark.usefixtures("ar")
def test_arabic_archive_and_settings_keyboards_are_mirrored() -> None:
    from bot.keyboards import archive as archive_kb
    from bot.keyboards import settings as settings_kb

    page = archive_kb.archive_page([(7, "+7 9020831944")], 1, has_next=True).inline_keyboard
    following, previous = page[1]  # next page on the left, previous on the right
    assert following.text.endswith("◀️")
    assert previous.text.startswith("▶️")
    preview = archive_kb.restore_preview("t").inline_keyboard[-1]
    assert [b.text for b in preview] == [common.home_button().text, common.back_button("x").text]
    overview = settings_kb.overview(True).inline_keyboard
    assert [b.text for b in overview[0]] == ["🕒 " + _("Time zone"), "🌐 " + _("Language")]
    zones = settings_kb.timezones([("Europe/Berlin", "Berlin (UTC+1)")], offsets=False).inline_keyboard
    assert [b.text for b in zones[-1]] == [common.home_button().text, common.back_button("x").text]


@pytest.mark.usefixtures("en")
def test_english_is_left_alone() -> None:
    assert money(Decimal("17.5")) == "$17.50"
    assert number(1234) == "1,234"
    assert phone("+7", "9096037108") == "+7 9096037108"
    assert flag("RU") == "🇷🇺"
    assert rent.service_button_text(AIRBNB) == "Airbnb · $6.00/day · 359"
    row = common.nav_row(1, 3, lambda page: f"p{page}")
    assert [(b.text, b.callback_data) for b in row] == [("◀️", "p0"), ("2/3", "p1"), ("▶️", "p2")]
    menu = common.main_menu().inline_keyboard
    assert [b.text for b in menu[1]] == ["📋 My numbers", "🗄 Archive"]
    assert command("help") == "/help"
    assert command("key", "YOUR_KEY", copy=True) == "<code>/key YOUR_KEY</code>"


@pytest.mark.usefixtures("ar")
def test_isolates_stay_out_of_code_spans_and_callback_data() -> None:
    assert phone("+7", "9096037108") == "\u2066+7 9096037108\u2069"
    # A confirmation stores phone() and later shows it with ltr_code/code_html: nothing copied.
    assert code_html(phone("+7", "9096037108")) == "<code>+7 9096037108</code>"
    assert command("key", "YOUR_KEY", copy=True) == "\u2066<code>/key YOUR_KEY</code>\u2069"
    assert visual(command("help") + " " + _("Settings")).startswith(rev(_("Settings")))
    for html in (phone_html("+7", "9096037108"), command("key", "K", copy=True)):
        for span in re.findall(r"<code>(.*?)</code>", html):
            assert strip_bidi(span) == span
    markups: list[InlineKeyboardMarkup] = [
        rent.services("RU", [AIRBNB] * 20, 1, searching=True, support_url="https://t.me/x"),
        orders.order_list([ORDER] * 20, 1),
        orders.add_service_list(101, [AIRBNB] * 20, 1, searching=False),
        rent.periods(
            "RU",
            "opt46",
            period_picker([(Period(PeriodType.WEEK, 1), Decimal("42"))]).first,
            more=True,
            back="r1:c",
        ),
    ]
    for markup in markups:
        for row in markup.inline_keyboard:
            for button in row:
                assert (
                    button.callback_data is None or strip_bidi(button.callback_data) == button.callback_data
                )
