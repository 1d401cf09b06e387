"""`python -m bot.rotate_keys`: re-encrypt every stored API key with the first key of SECRET_KEY,
and re-compute the keyed hashes that find one key linked from two accounts (they use that key too).

Rotation: set SECRET_KEY="NEW_KEY,OLD_KEY", run this once (the bot may keep running: it reads
both), then set SECRET_KEY="NEW_KEY". Generate a key with
`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`.
"""

from __future__ import annotations

import asyncio
import sys

from pydantic import ValidationError

from bot.config import Settings, config_error_line
from bot.crypto import KeyBox, SecretKeyError, load_secret_keys
from bot.db import Database, DatabaseError, UsersRepo


async def rotate(settings: Settings) -> int:
    keybox = KeyBox(
        *load_secret_keys(
            settings.secret_key.get_secret_value() if settings.secret_key else None,
            settings.database_path.parent / "secret.key",
            may_generate=False,  # rotating needs the secret the keys were made with, never a new one
        )
    )
    db = Database(settings.database_path)
    await db.connect()
    try:
        users = UsersRepo(db, keybox)
        count = await users.reencrypt_keys()
        await users.hash_keys()  # one key, one account keeps working under the new key
        return count
    finally:
        await db.close()


def main() -> int:
    try:
        settings = Settings()
    except ValidationError as error:
        print(config_error_line(error), file=sys.stderr)
        return 2
    try:
        count = asyncio.run(rotate(settings))
    except (DatabaseError, SecretKeyError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"re-encrypted {count} API keys with the first SECRET_KEY")
    return 0


if __name__ == "__main__":
    sys.exit(main())
