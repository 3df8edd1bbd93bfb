"""What only the SQLite store promises beyond the contract."""

import asyncio
import fcntl
import multiprocessing
import os
import random
import resource
import signal
import sqlite3
import stat
from dataclasses import replace
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest

from onetime.core.errors import StoreUnavailable
from onetime.core.records import ReceiptState
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


async def pragma_after_open(url: str, pragma: str) -> Any:
    """The value of `PRAGMA <pragma>` on the records connection of the store `url` names."""
    from onetime.store import open_store

    store = open_store(url)
    assert isinstance(store, SqliteStore)
    await store.open()
    try:
        return store.db.execute(f"PRAGMA {pragma}").fetchone()[0]
    finally:
        await store.close()


async def test_commits_are_synced_fully_unless_the_url_says_normal(tmp_path: Path) -> None:
    from onetime.store import StoreURLError, open_store

    assert await pragma_after_open(f"sqlite:///{tmp_path}/a.db", "synchronous") == 2  # FULL
    normal = f"sqlite:///{tmp_path}/b.db?synchronous=normal"
    assert await pragma_after_open(normal, "synchronous") == 1
    with pytest.raises(StoreURLError):
        open_store(f"sqlite:///{tmp_path}/c.db?synchronous=sometimes")


async def test_the_page_cache_is_sqlites_own_unless_the_url_sets_it(tmp_path: Path) -> None:
    from onetime.store import StoreURLError, open_store

    # SQLite's default: about 2 MB.
    assert await pragma_after_open(f"sqlite:///{tmp_path}/a.db", "cache_size") == -2000
    both = f"sqlite:///{tmp_path}/b.db?synchronous=normal&cache_mib=64"
    assert await pragma_after_open(both, "cache_size") == -64 * 1024
    for bad in ("0", "-5", "lots", "100000", ""):
        with pytest.raises(StoreURLError, match="cache_mib"):
            open_store(f"sqlite:///{tmp_path}/c.db?cache_mib={bad}")


def test_a_misspelt_url_option_is_named_not_ignored(tmp_path: Path) -> None:
    from onetime.store import StoreURLError, open_store

    for option in ("cache_mb=256", "synchronus=normal", "synchronous=normal&mode=ro"):
        with pytest.raises(StoreURLError, match="unknown sqlite URL option"):
            open_store(f"sqlite:///{tmp_path}/c.db?{option}")


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


async def test_a_file_from_before_owners_were_kept_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE secrets (sid BLOB PRIMARY KEY, rid BLOB NOT NULL, envelope BLOB NOT NULL, "
        "created INTEGER NOT NULL, expires_at INTEGER NOT NULL, has_passphrase INTEGER NOT NULL, "
        "previewed INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID"
    )
    earlier, _ = records(1)
    old.execute(
        "INSERT INTO secrets VALUES (?, ?, ?, ?, ?, 0, 0)",
        (earlier.sid, earlier.rid, earlier.envelope, earlier.created, earlier.expires_at),
    )
    old.commit()
    old.close()
    store = SqliteStore(path)
    await store.open()
    try:
        assert await store.get_secret(earlier.sid, NOW) == earlier  # read as owned
        assert _is_compact(store.db, "secrets")
        later, later_receipt = records(2)
        later = replace(later, owned=False)
        await store.create(later, later_receipt, NOW)
        assert await store.take_secret(later.sid, NOW) == later
    finally:
        await store.close()


def _is_compact(db: sqlite3.Connection, table: str) -> bool:
    """The table is in its rowid layout, with its unique key and its index by expiry."""
    (sql,) = db.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    indexes = {row[1]: row[2] for row in db.execute(f"PRAGMA index_list({table})")}
    unique = any(name.startswith("sqlite_autoindex") and u for name, u in indexes.items())
    return "WITHOUT ROWID" not in sql.upper() and f"{table}_by_expiry" in indexes and unique


async def test_secrets_of_a_file_from_before_the_rowid_layout_are_moved_into_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE secrets (sid BLOB PRIMARY KEY, rid BLOB NOT NULL, envelope BLOB NOT NULL, "
        "created INTEGER NOT NULL, expires_at INTEGER NOT NULL, has_passphrase INTEGER NOT NULL, "
        "previewed INTEGER NOT NULL DEFAULT 0, owned INTEGER NOT NULL DEFAULT 1) WITHOUT ROWID;"
        "CREATE INDEX secrets_by_expiry ON secrets (expires_at);"
    )
    kept = [replace(records(n)[0], owned=n % 2 == 0, has_passphrase=n == 3) for n in range(5)]
    old.executemany(
        "INSERT INTO secrets VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (s.sid, s.rid, s.envelope, s.created, s.expires_at, s.has_passphrase, 0, s.owned)
            for s in kept
        ],
    )
    old.commit()
    old.close()
    store = SqliteStore(path)
    await store.open()
    try:
        assert _is_compact(store.db, "secrets")
        for secret in kept:
            assert await store.get_secret(secret.sid, NOW) == secret
        assert await store.take_secret(kept[0].sid, NOW) == kept[0]
        assert await store.take_secret(kept[0].sid, NOW) is None
        # The unique key still holds: writing a stored id again replaces the row.
        await store.create(kept[1], records(1)[1], NOW)
        assert store.db.execute("SELECT count(*) FROM secrets").fetchone() == (4,)
    finally:
        await store.close()
    reopened = SqliteStore(path)  # a second start finds nothing to move
    await reopened.open()
    try:
        assert await reopened.get_secret(kept[2].sid, NOW) == kept[2]
    finally:
        await reopened.close()


async def test_receipts_of_a_file_from_before_the_rowid_layout_are_moved_into_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.sqlite3"
    made = [records(n) for n in range(4)]
    store = SqliteStore(path)
    await store.open()
    try:
        for secret, receipt in made:
            await store.create(secret, receipt, NOW)
        assert await store.set_receipt_memo(made[1][1].rid, b"sealed memo", NOW)
        assert await store.take_secret(made[2][0].sid, NOW) == made[2][0]  # its receipt: revealed
        before = [await store.get_receipt(receipt.rid, NOW) for _, receipt in made]
    finally:
        await store.close()
    # The receipts table as versions before the rowid layout made it, with the same rows.
    old = sqlite3.connect(path, isolation_level=None)
    old.executescript(
        "BEGIN; CREATE TABLE receipts_old (rid BLOB PRIMARY KEY, sid BLOB NOT NULL, "
        "expires_at INTEGER NOT NULL, static BLOB NOT NULL, state TEXT NOT NULL, "
        "rank INTEGER NOT NULL, updated INTEGER NOT NULL, previewed INTEGER, revealed INTEGER, "
        "burned INTEGER, memo BLOB) WITHOUT ROWID; "
        "INSERT INTO receipts_old SELECT rid, sid, expires_at, static, state, rank, updated, "
        "previewed, revealed, burned, memo FROM receipts; DROP TABLE receipts; "
        "ALTER TABLE receipts_old RENAME TO receipts; "
        "CREATE INDEX receipts_by_expiry ON receipts (expires_at); COMMIT;"
    )
    assert not _is_compact(old, "receipts")
    old.close()
    store = SqliteStore(path)
    await store.open()
    try:
        assert _is_compact(store.db, "receipts")
        assert [await store.get_receipt(receipt.rid, NOW) for _, receipt in made] == before
        assert before[1] is not None
        assert before[1].memo == b"sealed memo"
        assert before[2] is not None
        assert before[2].state is ReceiptState.REVEALED
        assert await store.take_secret(made[0][0].sid, NOW) == made[0][0]
        revealed = await store.get_receipt(made[0][1].rid, NOW)
        assert revealed is not None
        assert revealed.state is ReceiptState.REVEALED
        assert await store.delete_receipt(made[3][1].rid, NOW)
        # The unique key still holds: writing a stored receipt id again replaces its row.
        await store.create(None, made[1][1], NOW)
        assert store.db.execute("SELECT count(*) FROM receipts").fetchone() == (3,)
        assert await store.get_receipt(made[1][1].rid, NOW) == made[1][1]  # memo replaced too
    finally:
        await store.close()
    reopened = SqliteStore(path)  # a second start finds nothing to move
    await reopened.open()
    try:
        assert _is_compact(reopened.db, "receipts")
        assert await reopened.get_receipt(made[2][1].rid, NOW) == before[2]
    finally:
        await reopened.close()


# -- group commit and the lock file -------------------------------------------------------------


def _commits(statements: list[str]) -> int:
    return sum(statement == "COMMIT" for statement in statements)


async def test_concurrent_writes_are_committed_together(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    await store.open()
    try:
        statements: list[str] = []
        store.db.set_trace_callback(statements.append)
        made = [records(n) for n in range(50)]
        await asyncio.gather(*(store.create(secret, receipt, NOW) for secret, receipt in made))
        await asyncio.gather(*(store.take_secret(secret.sid, NOW) for secret, _ in made[:25]))
        store.db.set_trace_callback(None)
        # Everything queued while a batch commits goes in the next one.
        assert _commits(statements) <= 4
        assert statements.count("BEGIN IMMEDIATE") == _commits(statements)
        assert store.db.execute("SELECT count(*) FROM secrets").fetchone() == (25,)
        assert store.db.execute(
            "SELECT count(*) FROM receipts WHERE state = 'revealed'"
        ).fetchone() == (25,)
    finally:
        await store.close()


async def test_a_write_that_fails_in_a_batch_is_undone_alone(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    await store.open()
    try:
        statements: list[str] = []
        store.db.set_trace_callback(statements.append)
        first, broken, last = records(1), records(2), records(3)
        # Its receipt is written, then its secret breaks a NOT NULL constraint.
        unwritable = replace(broken[0], envelope=None)  # type: ignore[arg-type]
        results = await asyncio.gather(
            store.create(*first, NOW),
            store.create(unwritable, broken[1], NOW),
            store.create(*last, NOW),
            return_exceptions=True,
        )
        store.db.set_trace_callback(None)
        assert _commits(statements) == 1
        assert results[0] is None
        assert isinstance(results[1], StoreUnavailable)
        assert results[2] is None
        for secret, receipt in (first, last):
            assert await store.get_secret(secret.sid, NOW) == secret
            assert await store.get_receipt(receipt.rid, NOW) == receipt
        assert await store.get_receipt(broken[1].rid, NOW) is None  # undone with its secret
    finally:
        await store.close()


async def test_take_marks_the_receipt_revealed_in_the_same_commit(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    await store.open()
    try:
        secret, receipt = records()
        await store.create(secret, receipt, NOW)
        await store.advance_receipt(receipt.rid, ReceiptState.PREVIEWED, NOW + 1)
        statements: list[str] = []
        store.db.set_trace_callback(statements.append)
        assert await store.take_secret(secret.sid, NOW + 2) == secret
        store.db.set_trace_callback(None)
        assert _commits(statements) == 1
        stored = await store.get_receipt(receipt.rid, NOW + 3)
        assert stored is not None
        assert (stored.state, stored.previewed, stored.revealed, stored.updated) == (
            ReceiptState.REVEALED, NOW + 1, NOW + 2, NOW + 2,
        )  # fmt: skip

        # Never backward: a burned receipt stays burned, though its secret is still taken.
        burned, burned_receipt = records()
        await store.create(burned, burned_receipt, NOW)
        await store.advance_receipt(burned_receipt.rid, ReceiptState.BURNED, NOW + 1)
        assert await store.take_secret(burned.sid, NOW + 2) == burned
        stored = await store.get_receipt(burned_receipt.rid, NOW + 3)
        assert stored is not None
        assert (stored.state, stored.revealed, stored.updated) == (
            ReceiptState.BURNED, None, NOW + 1,
        )  # fmt: skip
    finally:
        await store.close()


async def test_writers_take_turns_through_a_private_lock_file(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    await store.open()
    lock = tmp_path / "s.sqlite3.lock"
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600
    other_process = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(other_process, fcntl.LOCK_EX)
        secret, receipt = records()
        writing = asyncio.create_task(store.create(secret, receipt, NOW))
        await asyncio.sleep(0.3)
        assert not writing.done()  # waiting for its turn
        fcntl.flock(other_process, fcntl.LOCK_UN)
        await asyncio.wait_for(writing, 10)
        assert await store.get_secret(secret.sid, NOW) == secret
    finally:
        os.close(other_process)
        await store.close()


async def test_a_write_is_dropped_only_if_its_caller_gave_up_before_its_batch(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    await store.open()
    other_process = os.open(tmp_path / "s.sqlite3.lock", os.O_RDWR)
    try:
        fcntl.flock(other_process, fcntl.LOCK_EX)
        in_flight, queued = records(1), records(2)
        first = asyncio.create_task(store.create(*in_flight, NOW))
        await asyncio.sleep(0.1)  # its batch is waiting for the lock now
        second = asyncio.create_task(store.create(*queued, NOW))
        await asyncio.sleep(0.1)
        first.cancel()
        second.cancel()
        fcntl.flock(other_process, fcntl.LOCK_UN)
        await store.ping()  # after both batches on the store's thread
        await store.close()  # and after the committer has finished
        await store.open()
        assert await store.get_secret(in_flight[0].sid, NOW) == in_flight[0]
        assert await store.get_secret(queued[0].sid, NOW) is None
        assert first.cancelled()
        assert second.cancelled()
    finally:
        os.close(other_process)
        await store.close()


def _take_all(path: str, sids: list[bytes], start: Barrier, taken: Any) -> None:
    """In a process of its own: take every secret, from several tasks; report the ones we got."""

    async def take_all() -> list[bytes]:
        store = SqliteStore(Path(path))
        await store.open()

        async def take_each() -> list[bytes]:
            got = [await store.take_secret(sid, NOW) for sid in random.sample(sids, len(sids))]
            return [secret.sid for secret in got if secret is not None]

        try:
            start.wait(60)
            return [
                sid for got in await asyncio.gather(*(take_each() for _ in range(8))) for sid in got
            ]
        finally:
            await store.close()

    taken.put(asyncio.run(take_all()))


def test_processes_racing_to_take_hand_each_secret_to_exactly_one(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    made = [records(n) for n in range(300)]

    async def create() -> None:
        store = SqliteStore(path)
        await store.open()
        try:
            await asyncio.gather(*(store.create(secret, receipt, NOW) for secret, receipt in made))
        finally:
            await store.close()

    asyncio.run(create())
    sids = [secret.sid for secret, _ in made]
    spawn = multiprocessing.get_context("spawn")
    start, taken = spawn.Barrier(3), spawn.Queue()
    workers = [
        spawn.Process(target=_take_all, args=(str(path), sids, start, taken)) for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    results = [taken.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    everything = [sid for result in results for sid in result]
    assert sorted(everything) == sorted(sids)  # each one once, none lost
    assert sum(map(bool, results)) >= 2  # they did race
    check = sqlite3.connect(path)
    try:
        assert check.execute("SELECT count(*) FROM secrets").fetchone() == (0,)
        assert check.execute(
            "SELECT count(*) FROM receipts WHERE state = 'revealed'"
        ).fetchone() == (300,)
    finally:
        check.close()


def _write_to_a_full_disk(path: str, report: Any) -> None:
    """In a process of its own (the file size limit is per process): fail a commit, then recover."""

    async def run() -> dict[str, Any]:
        store = SqliteStore(Path(path))
        await store.open()
        try:
            kept, kept_receipt = records(0)
            await store.create(kept, kept_receipt, NOW)
            batch = [records(n) for n in range(1, 4)]
            statements: list[str] = []
            store.db.set_trace_callback(statements.append)
            # The log cannot grow any more: writing the batch out at COMMIT fails (EFBIG).
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
            resource.setrlimit(resource.RLIMIT_FSIZE, (os.stat(f"{path}-wal").st_size, hard))
            try:
                results = await asyncio.gather(
                    *(store.create(secret, receipt, NOW) for secret, receipt in batch),
                    store.take_secret(kept.sid, NOW),
                    return_exceptions=True,
                )
            finally:
                resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
            store.db.set_trace_callback(None)
            written = [await store.get_secret(secret.sid, NOW) is not None for secret, _ in batch]
            kept_after = await store.get_secret(kept.sid, NOW) == kept
            receipt_after = await store.get_receipt(kept_receipt.rid, NOW)
            await store.create(*batch[0], NOW)
            recovered = await store.get_secret(batch[0][0].sid, NOW) == batch[0][0]
            return {
                "results": [type(result).__name__ for result in results],
                "reached commit": _commits(statements) == 1,
                "written": written,
                "kept": kept_after,
                "receipt state": receipt_after and receipt_after.state.value,
                "recovered": recovered,
            }
        finally:
            await store.close()

    report.put(asyncio.run(run()))


def test_when_a_commit_fails_every_write_in_it_fails_and_none_happened(tmp_path: Path) -> None:
    spawn = multiprocessing.get_context("spawn")
    report = spawn.Queue()
    worker = spawn.Process(target=_write_to_a_full_disk, args=(str(tmp_path / "s.sqlite3"), report))
    worker.start()
    outcome = report.get(timeout=120)
    worker.join(30)
    assert outcome == {
        "results": ["StoreUnavailable"] * 4,
        "reached commit": True,
        "written": [False] * 3,
        "kept": True,  # the take failed, so the secret is still there to be read
        "receipt state": "new",
        "recovered": True,
    }
    assert worker.exitcode == 0
