"""What only the SQLite store promises beyond the contract."""

from pathlib import Path

from onetime.store.sqlite import SqliteStore
from tests.store.test_contract import NOW, records


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
