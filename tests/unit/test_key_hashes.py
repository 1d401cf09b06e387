"""One key, one account at the storage level: keyed hashes, the newer link wins, rotation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.crypto import KeyBox
from bot.db import Database, UsersRepo
from bot.db.orders import OrdersRepo

KEY = "demoKey1234567890abcdefABCDEF12"
OTHER = "otherKey1234567890abcdefABCDE99"


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(tmp_path / "bot.sqlite3")
    await database.connect()
    yield database
    await database.close()


def test_key_hash_is_keyed_stable_and_names_its_secret() -> None:
    first, second = Fernet.generate_key(), Fernet.generate_key()
    box = KeyBox(first)
    assert box.key_hash(KEY) == box.key_hash(KEY) == KeyBox(first, second).key_hash(KEY)
    assert box.key_hash(KEY) != box.key_hash(OTHER)
    assert KeyBox(second, first).key_hash(KEY) != box.key_hash(KEY)  # a new primary: a new hash
    assert box.key_hash(KEY).startswith(box.hash_kid + ":")
    assert KEY not in box.key_hash(KEY)


async def test_the_newer_link_takes_the_key_and_its_orders(db: Database) -> None:
    users = UsersRepo(db, KeyBox(Fernet.generate_key()))
    orders = OrdersRepo(db)
    for user_id in (1, 2, 3):
        await users.get_or_create(user_id)
    assert await users.set_api_key(1, KEY) == []
    assert await users.set_api_key(3, OTHER) == []
    await orders.record_rental(
        order_id=77,
        user_id=1,
        country="RU",
        ccode="+7",
        pnumber="9000000000",
        service="opt1",
        sname="X",
        until=9,
    )
    assert await users.set_api_key(1, KEY) == []  # the same account again: nobody else is touched
    assert await users.set_api_key(2, KEY) == [1]
    assert await users.api_key(1) is None
    assert await users.api_key(2) == KEY
    assert await users.api_key(3) == OTHER
    order = await orders.get(77)
    assert order is not None
    assert order.user_id == 2
    await users.clear_api_key(2)
    assert await users.set_api_key(1, KEY) == []  # an unlinked key is nobody's


async def test_hashes_are_backfilled_rotated_and_shared_keys_settled(db: Database) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    users = UsersRepo(db, KeyBox(old))
    for user_id in (1, 2, 3):
        await users.get_or_create(user_id)
    await users.set_api_key(1, KEY)
    await users.set_api_key(3, OTHER)
    # A link from before hashes existed (newer than user 1's): shares user 1's key.
    await db.execute(
        "UPDATE users SET api_key_enc = ?, api_key_last4 = ?, updated_at = updated_at + 60 WHERE id = 2",
        (KeyBox(old).encrypt(KEY), KEY[-4:]),
    )
    assert await users.hash_keys() == 1
    assert await users.hash_keys() == 0
    assert await users.settle_shared_keys() == [1]
    assert await users.settle_shared_keys() == []
    # Rotation: re-encrypted under the new key, every hash is recomputed, and lookups still work.
    rotated = UsersRepo(db, KeyBox(new, old))
    await rotated.reencrypt_keys()
    assert await rotated.hash_keys() == 2
    rows = await db.fetch_all("SELECT hash FROM key_hashes ORDER BY user_id")
    assert [row["hash"] for row in rows] == [KeyBox(new).key_hash(KEY), KeyBox(new).key_hash(OTHER)]
    assert await rotated.set_api_key(1, KEY) == [2]


async def test_an_undecryptable_key_is_skipped_not_fatal(db: Database) -> None:
    users = UsersRepo(db, KeyBox(Fernet.generate_key()))
    await users.get_or_create(1)
    await db.execute(
        "UPDATE users SET api_key_enc = ? WHERE id = 1", (KeyBox(Fernet.generate_key()).encrypt(KEY),)
    )
    assert await users.hash_keys() == 0
