"""``python -m tests.fakes.telegram --port 8081``: the fake Telegram Bot API, standalone."""

from tests.fakes.telegram.cli import main

main()
