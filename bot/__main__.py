"""`python -m bot`: configure from the environment, then run until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import gc
import sys

from pydantic import ValidationError

from bot.app import StartupError, create_app
from bot.config import Settings, config_error_line
from bot.crypto import SecretKeyError
from bot.db import DatabaseError
from bot.instance import InstanceLock, InstanceLockError
from bot.logs import setup_logging


async def _run(settings: Settings) -> None:
    app = await create_app(settings)
    # Everything imported and built so far lives for the whole run: move it out of the collector's
    # reach, so a full collection no longer walks aiogram's thousands of models (~70-90 ms pauses).
    gc.freeze()
    try:
        await app.serve()
    finally:
        await app.close()


def main() -> int:
    try:
        settings = Settings()  # values come from the environment
    except ValidationError as error:
        print(config_error_line(error), file=sys.stderr)
        return 2
    setup_logging(settings.log_level)
    lock = InstanceLock(settings.database_path)
    try:
        lock.acquire()  # before anything touches the database; held until this process ends
        asyncio.run(_run(settings))
    except (StartupError, DatabaseError, SecretKeyError, InstanceLockError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        lock.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
