"""README pictures: the real bot, driven through the fakes, its chat rendered and photographed.

    python scripts/screenshots.py            # every screen, English and Arabic -> docs/screens/
    python scripts/screenshots.py --html-only # just the HTML pages (no Chromium needed)

The bot is assembled exactly as in the end-to-end tests (tests/harness.py: create_app against
FakeSmspva and FakeTelegram started in-process). Each screen is read back from the Telegram fake's
record of what the bot sent (text as sent with parse_mode=HTML, and the inline keyboard), rendered as
a chat bubble with its buttons — every line its own bidi paragraph, as Telegram shows it, the page
`dir="rtl"` for Arabic, keyboard rows left to right in every language as Telegram lays them out (the
bot mirrors them itself) — and photographed with headless Chromium (Debian's `chromium`).

A tool for the team, not part of CI.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.callbacks import ConfirmCb, OrderAction, OrderCb, RentAction, RentCb  # noqa: E402
from tests.fakes.smspva import FakeSmspva  # noqa: E402
from tests.fakes.telegram import BotMessage, FakeTelegram, FakeUser  # noqa: E402
from tests.flows import find_on_pages, link_key, press, press_data  # noqa: E402
from tests.harness import BotRunner, make_settings  # noqa: E402

OUT = ROOT / "docs" / "screens"
API_KEY = "demoKey1234567890abcdefABCDEF12"
LANGS = ("en", "ar")
COUNTRY_LABEL = {"en": "Russia", "ar": "روسيا"}
WIDTH = 420  # CSS pixels, about a phone's chat column
SCALE = 2


@dataclass(frozen=True)
class Bubble:
    """One message in the picture: the user's (plain text) or the bot's (HTML and keyboard)."""

    html: str
    from_user: bool = False
    buttons: tuple[tuple[str, ...], ...] = ()
    date: int = 0


def snapshot(message: BotMessage) -> Bubble:
    rows = tuple(tuple(str(b.get("text", "")) for b in row) for row in message.buttons())
    return Bubble(html=message.html, buttons=rows, date=message.edit_date or message.date)


def said(text: str) -> Bubble:
    return Bubble(html=html.escape(text), from_user=True, date=int(datetime.now(UTC).timestamp()))


# --- driving the bot ----------------------------------------------------------------------------


async def newest(tg: FakeTelegram, user: FakeUser, contains: str, after: int = 0) -> BotMessage:
    return await tg.wait_message(user.id, contains, after=after, timeout=10)


def last_id(tg: FakeTelegram, user: FakeUser) -> int:
    return max((m.message_id for m in tg.messages(user.id)), default=0)


def _edited(tg: FakeTelegram, user: FakeUser, message_id: int, contains: str) -> BotMessage | None:
    """The message once the bot has edited it to show `contains`."""
    for current in tg.messages(user.id):
        if current.message_id == message_id and contains in current.text:
            return current
    return None


async def record(lang: str, workdir: Path) -> dict[str, list[Bubble]]:
    """Talk to the real bot in `lang` and return the chat of every screen."""
    smspva = FakeSmspva(activation_delay=0.5, online_duration=600)
    tg = FakeTelegram()
    await smspva.start()
    await tg.start()
    (workdir / lang).mkdir(parents=True, exist_ok=True)
    settings = make_settings(workdir / lang, tg, smspva, expiry_check_seconds=0.3, log_level="WARNING")
    runner = BotRunner(settings, tg)
    await runner.start()
    screens: dict[str, list[Bubble]] = {}
    try:
        user = FakeUser(id=4242, first_name="Amal" if lang == "ar" else "Alex", language_code=lang)
        smspva.add_account(API_KEY, balance=250)

        # 1. Welcome.
        tg.send_text(user, "/start")
        welcome = await tg.wait_for(lambda: next((m for m in tg.messages(user.id) if m.buttons()), None))
        screens["welcome"] = [said("/start"), snapshot(welcome)]

        # 2. Rent: country -> service -> 2 weeks -> summary.
        await link_key(tg, user, API_KEY)
        before = last_id(tg, user)
        tg.send_text(user, "/rent")
        screen = await newest(tg, user, "", after=before)
        screen = await find_on_pages(tg, user, screen, COUNTRY_LABEL[lang])
        screen = await press(tg, user, screen, COUNTRY_LABEL[lang])
        airbnb = RentCb(action=RentAction.SERVICE, country="RU", service="opt46").pack()
        screen = await press_data(tg, user, screen, airbnb)
        two_weeks = RentCb(
            action=RentAction.PERIOD, country="RU", service="opt46", dtype="week", dcount=2
        ).pack()
        summary = await press_data(tg, user, screen, two_weeks, expect="$")
        screens["summary"] = [snapshot(summary)]

        # 3. Confirm, then an SMS arrives and is pushed.
        confirm = next(
            str(b["callback_data"])
            for row in summary.buttons()
            for b in row
            if str(b.get("callback_data", "")).startswith(ConfirmCb.__prefix__ + ":")
        )
        before = last_id(tg, user)
        tg.press(user, summary, confirm)
        order = await tg.wait_for(lambda: next(iter(smspva.orders.values()), None), timeout=10)
        rented = await tg.wait_for(lambda: _edited(tg, user, summary.message_id, order.pnumber), timeout=10)
        smspva.inject_sms(order.id, "Your Airbnb verification code is 671094. Don't share it.", "Airbnb")
        push = await newest(tg, user, "671094", after=before)
        screens["sms"] = [snapshot(rented), snapshot(push)]

        # 4. The order card.
        before = last_id(tg, user)
        tg.send_text(user, "/orders")
        listing = await newest(tg, user, order.pnumber, after=before)
        card = await press_data(tg, user, listing, OrderCb(action=OrderAction.CARD, order_id=order.id).pack())
        screens["order"] = [said("/orders"), snapshot(card)]

        # 5. An expiry warning: a second number with 20 hours left.
        expiring = smspva.add_order(API_KEY, service="opt29", state=1, days_left=20 / 24)
        assert runner.app is not None
        db = runner.app.db

        async def known_for_days() -> bool:
            # A threshold that passed before the bot knew the order is never warned about: make it a
            # number the bot has known for three days (its 24 h threshold passed while it was down).
            updated = await db.execute(
                "UPDATE user_orders SET first_seen = first_seen - 259200 WHERE id = ? AND first_seen > ?",
                (expiring.id, int(datetime.now(UTC).timestamp()) - 86400),
            )
            return updated > 0

        await tg.wait_for(known_for_days, timeout=15)
        warning = await newest(tg, user, f"{expiring.pnumber}", after=last_id(tg, user))
        screens["expiry"] = [snapshot(warning)]
    finally:
        await runner.stop()
        await tg.stop()
        await smspva.stop()
    return screens


# --- rendering ----------------------------------------------------------------------------------

_TAG = re.compile(r"<(/?)([a-zA-Z-]+)([^>]*)>")

CSS = """
* { box-sizing: border-box; }
html, body { margin: 0; }
html { background: #9cbad3; }
body { width: %(width)dpx; background: #9cbad3;
  font: 15px/1.38 "Noto Sans", "Noto Sans Arabic", "Noto Color Emoji", sans-serif; color: #111; }
[dir=rtl] body, body[dir=rtl] { font-family: "Noto Sans Arabic", "Noto Sans", "Noto Color Emoji", sans-serif; }
.top { display: flex; align-items: center; gap: 10px; background: #517da2; color: #fff; padding: 10px 14px; }
.avatar { width: 38px; height: 38px; border-radius: 50%%; background: #f5a623; display: flex; align-items: center;
  justify-content: center; font-size: 20px; }
.name { font-weight: 600; font-size: 16px; } .sub { font-size: 12.5px; opacity: .8; }
.chat { padding: 10px 8px 14px; display: flex; flex-direction: column; gap: 8px; }
.msg { max-width: 88%%; align-self: flex-start; }
.msg.user { align-self: flex-end; }
.bubble { background: #fff; border-radius: 14px; padding: 7px 11px 6px; box-shadow: 0 1px 1px rgba(0,0,0,.15); }
.user .bubble { background: #e1fec6; }
.line { min-height: 1.38em; overflow-wrap: anywhere; }
.time { font-size: 11px; color: #8a9aa8; text-align: end; margin-top: 2px; }
.user .time { color: #5fa35a; }
code, pre { font-family: "Liberation Mono", "Noto Sans Arabic", monospace; font-size: 13.5px; color: #b0306a; }
pre { display: inline; margin: 0; }
a { color: #2678b6; text-decoration: none; }
blockquote { margin: 0; border-inline-start: 3px solid #4a90c8; padding-inline-start: 8px; }
.kb { display: flex; flex-direction: column; gap: 4px; margin-top: 4px; direction: ltr; }
.row { display: flex; gap: 4px; }
.btn { flex: 1 1 0; min-width: 0; background: rgba(60, 95, 120, .42); color: #fff; border-radius: 9px; padding: 8px 6px;
  text-align: center; font-size: 14px; font-weight: 500; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
"""


def html_lines(text: str) -> list[str]:
    """Telegram HTML split into lines, each closed and reopened around its tags, so every line can be
    its own bidi paragraph (`dir="auto"`: its first strong character decides, as in Telegram)."""
    lines: list[str] = []
    stack: list[tuple[str, str]] = []
    for raw in text.split("\n"):
        opened = "".join(tag for _name, tag in stack)
        for match in _TAG.finditer(raw):
            name = match.group(2).lower()
            if match.group(1):
                for index in range(len(stack) - 1, -1, -1):
                    if stack[index][0] == name:
                        del stack[index]
                        break
            else:
                stack.append((name, match.group(0)))
        closed = "".join(f"</{name}>" for name, _tag in reversed(stack))
        lines.append(opened + raw + closed)
    return lines


def clock(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp or 0, UTC).strftime("%H:%M")


def render(bubbles: list[Bubble], lang: str) -> str:
    parts: list[str] = []
    for bubble in bubbles:
        lines = "".join(
            f'<div class="line" dir="auto">{line or "&nbsp;"}</div>' for line in html_lines(bubble.html)
        )
        keyboard = ""
        if bubble.buttons:
            rows = "".join(
                '<div class="row">'
                + "".join(f'<div class="btn" dir="auto">{html.escape(label)}</div>' for label in row)
                + "</div>"
                for row in bubble.buttons
            )
            keyboard = f'<div class="kb">{rows}</div>'
        who = "msg user" if bubble.from_user else "msg"
        parts.append(
            f'<div class="{who}"><div class="bubble">{lines}<div class="time">{clock(bubble.date)}</div></div>'
            f"{keyboard}</div>"
        )
    direction = "rtl" if lang == "ar" else "ltr"
    subtitle = "بوت" if lang == "ar" else "bot"
    return (
        f'<!doctype html><html lang="{lang}" dir="{direction}"><head><meta charset="utf-8">'
        f"<style>{CSS % {'width': WIDTH}}</style></head><body>"
        f'<div class="top"><div class="avatar">📱</div><div><div class="name">SMSPVA Rent</div>'
        f'<div class="sub">{subtitle}</div></div></div>'
        f'<div class="chat">{"".join(parts)}</div>'
        "<script>document.title = String(Math.ceil(document.body.getBoundingClientRect().bottom));</script>"
        "</body></html>"
    )


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit("no Chromium: apt-get install -y chromium (or run with --html-only)")


def photograph(page: Path, png: Path, profile: Path) -> None:
    """Measure the page's height, then screenshot exactly that much of it."""
    base = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=3000",
    ]
    dom = subprocess.run(
        [*base, f"--window-size={WIDTH},800", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    found = re.search(r"<title>(\d+)</title>", dom)
    height = int(found.group(1)) if found else 900
    png.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            *base,
            f"--force-device-scale-factor={SCALE}",
            f"--window-size={WIDTH},{height}",
            f"--screenshot={png}",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--html-only", action="store_true", help="write the HTML pages, take no screenshots")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="screens-") as tmp:
        workdir = Path(tmp)
        for lang in LANGS:
            screens = await record(lang, workdir)
            for name, bubbles in screens.items():
                page = (args.out if args.html_only else workdir) / lang / f"{name}.html"
                page.parent.mkdir(parents=True, exist_ok=True)
                page.write_text(render(bubbles, lang), encoding="utf-8")
                if not args.html_only:
                    photograph(page, args.out / lang / f"{name}.png", workdir / "profile")
                print(f"{lang}/{name}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
