"""Run the fake by hand: ``python -m tests.fakes.telegram --port 8081``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from tests.fakes.telegram.server import FakeTelegram
from tests.fakes.telegram.state import DEFAULT_TOKEN

DESCRIPTION = "A fake Telegram Bot API server that the real aiogram ``Bot`` talks HTTP to."


async def _serve(token: str, port: int, bot_username: str, rate_limits: bool) -> None:
    prefix = token.split(":", 1)[0]
    fake = FakeTelegram(token, bot_id=int(prefix) if prefix.isdigit() else 123456, bot_username=bot_username)
    fake.enforce_rate_limits = rate_limits
    base_url = await fake.start(port=port)
    print(f"Fake Telegram Bot API on {base_url} (token {token})", flush=True)
    print(
        f"  bot:   Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base({base_url!r})))\n"
        f"  write: curl '{base_url}/_admin/send?user_id=1001&lang=en' --data-urlencode 'text=/start'\n"
        f"  press: curl '{base_url}/_admin/press?user_id=1001&message_id=2&data=...'  (or &button=<label part>)\n"
        f"  read:  curl '{base_url}/_admin/messages?chat_id=1001'   (and /_admin/calls?limit=20)",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await fake.stop()
        print("Fake Telegram stopped", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.telegram", description=DESCRIPTION)
    parser.add_argument("--port", type=int, default=8081, help="port on 127.0.0.1 (default 8081, 0: any)")
    parser.add_argument(
        "--token", default=DEFAULT_TOKEN, help=f"the bot token to accept (default {DEFAULT_TOKEN})"
    )
    parser.add_argument("--bot-username", default="smspva_test_bot")
    parser.add_argument("--rate-limits", action="store_true", help="answer 429 on Telegram's flood limits")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.token, args.port, args.bot_username, args.rate_limits))
