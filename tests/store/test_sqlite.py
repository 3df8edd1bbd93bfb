"""What only the SQLite store promises beyond the contract."""

import os
import stat
from pathlib import Path

import pytest

from onetime.store.sqlite import SqliteStore
from tests.store.test_contract import NOW, item, records


async def test_sweep_deletes_expired_rows_and_counts_them(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    await store.open()
    try:
        short, short_receipt = records(ttl=60)
        await store.create(short, short_receipt, NOW)
        await store.hit_counter("gone-soon", 10, NOW)
        assert await store.sweep(NOW + 60) == 1  # the secret
        assert await store.sweep(NOW + 120) == 1  # its receipt
        assert store.db.execute("SELECT count(*) FROM secrets").fetchone() == (0,)
    finally:
        await store.close()


async def test_sweep_deletes_expired_items_in_batches_and_keeps_the_rest(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    await store.open()
    try:
        for _ in range(1200):  # more than one sweep batch
            await store.put_item(item("token", expires_at=NOW + 60), NOW)
        lasting, forever = item("session", expires_at=NOW + 3600), item("account")
        await store.put_item(lasting, NOW)
        await store.put_item(forever, NOW)
        assert await store.sweep(NOW + 59) == 0
        assert await store.sweep(NOW + 60) == 1200
        rows = store.db.execute("SELECT kind, key FROM items ORDER BY kind").fetchall()
        assert rows == [("account", forever.key), ("session", lasting.key)]
    finally:
        await store.close()


async def test_items_are_listed_across_batches(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    await store.open()
    try:
        made = [item("account", f"acct-{n}") for n in range(1100)]  # more than two batches
        for each in made:
            await store.put_item(each, NOW)
        listed = [each async for each in store.items("account", NOW)]
        assert sorted(listed, key=repr) == sorted(made, key=repr)
    finally:
        await store.close()


async def test_deleting_a_receipt_leaves_its_secret_row(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    await store.open()
    try:
        secret, receipt = records()
        await store.create(secret, receipt, NOW)
        assert await store.delete_receipt(receipt.rid, NOW)
        assert store.db.execute("SELECT count(*) FROM receipts").fetchone() == (0,)
        assert store.db.execute("SELECT count(*) FROM secrets").fetchone() == (1,)
    finally:
        await store.close()


async def test_counters_stay_off_the_database_file(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3", counters_dir=tmp_path / "mem")
    (tmp_path / "mem").mkdir()
    await store.open()
    try:
        await store.hit_counter("client-tag", 60, NOW)
        tables = store.db.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
        assert ("counters",) not in tables
        assert any((tmp_path / "mem").iterdir())
    finally:
        await store.close()


async def test_counters_live_in_a_directory_only_we_can_enter(tmp_path: Path) -> None:
    shared = tmp_path / "shm"
    shared.mkdir()
    shared.chmod(0o1777)  # like /dev/shm: anyone may create files here
    store = SqliteStore(tmp_path / "s.sqlite3", counters_dir=shared)
    await store.open()
    try:
        await store.hit_counter("client-tag", 60, NOW)
        (private,) = shared.iterdir()
        info = private.lstat()
        assert stat.S_ISDIR(info.st_mode)
        assert info.st_uid == os.getuid()
        assert info.st_mode & 0o077 == 0
        assert Path(store.counters_path).name in {p.name for p in private.iterdir()}
    finally:
        await store.close()


async def test_counters_never_use_a_directory_others_could_have_prepared(tmp_path: Path) -> None:
    shared = tmp_path / "shm"
    shared.mkdir()
    store = SqliteStore(tmp_path / "s.sqlite3", counters_dir=shared)
    # Someone got there first: the predictable directory exists and anyone may write in it.
    prepared = Path(store.counters_path).parent
    prepared.mkdir()
    prepared.chmod(0o777)
    await store.open()
    try:
        counter = await store.hit_counter("client-tag", 60, NOW)
        assert counter.value == 1
        assert await store.read_counter("client-tag", NOW) == counter
        assert list(prepared.iterdir()) == []  # nothing of ours went in there
    finally:
        await store.close()


async def test_commits_are_synced_fully_unless_the_url_says_normal(tmp_path: Path) -> None:
    from onetime.store import StoreURLError, open_store

    for url, expected in (
        (f"sqlite:///{tmp_path}/a.db", 2),  # FULL
        (f"sqlite:///{tmp_path}/b.db?synchronous=normal", 1),  # NORMAL
    ):
        store = open_store(url)
        assert isinstance(store, SqliteStore)
        await store.open()
        try:
            assert store.db.execute("PRAGMA synchronous").fetchone() == (expected,)
        finally:
            await store.close()
    with pytest.raises(StoreURLError):
        open_store(f"sqlite:///{tmp_path}/c.db?synchronous=sometimes")


async def test_a_large_backlog_is_swept_in_batches(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    await store.open()
    try:
        for n in range(2500):
            secret, receipt = records(n, ttl=60)
            await store.create(secret, receipt, NOW)
        assert await store.sweep(NOW + 60) == 2500
        assert await store.sweep(NOW + 120) == 2500
        assert store.db.execute("SELECT count(*) FROM receipts").fetchone() == (0,)
    finally:
        await store.close()
