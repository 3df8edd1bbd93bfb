"""The embedded store: one SQLite file in WAL mode, shared safely by several worker processes.

Each process has one connection, used from one dedicated thread, so the event loop never blocks
on disk. Every change is a single statement or an immediate transaction, so SQLite's own write
lock makes it atomic across processes; the one-time reveal is a single `DELETE … RETURNING`.

Items (the account features' records) live in one table keyed by (kind, key); an item without
`expires_at` lasts until deleted, so every query on them says `expires_at IS NULL OR …`.

Counters (rate limits, lockouts) hold keyed hashes of client addresses. They go to a separate
database in a memory-backed directory (`counters_dir`, by default /dev/shm), shared by the
workers of one machine and never written to disk; without one, they live in this process.
/dev/shm is writable by every local user, so the database sits in a subdirectory only we can
enter; if that cannot be had, counters stay in this process rather than in a file that someone
else could have made, read or rewrite (to lift a passphrase lockout, say).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import sqlite3
import stat
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from onetime.core.errors import StoreUnavailable
from onetime.core.records import Counter, ReceiptState, StoredItem, StoredReceipt, StoredSecret
from onetime.store.codec import STATE_TIMESTAMP, pack_receipt_static, unpack_receipt

T = TypeVar("T")
log = logging.getLogger("onetime.store.sqlite")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS secrets (
    sid BLOB PRIMARY KEY,
    rid BLOB NOT NULL,
    envelope BLOB NOT NULL,
    created INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    has_passphrase INTEGER NOT NULL,
    previewed INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS secrets_by_expiry ON secrets (expires_at);
CREATE TABLE IF NOT EXISTS receipts (
    rid BLOB PRIMARY KEY,
    sid BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    static BLOB NOT NULL,
    state TEXT NOT NULL,
    rank INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    previewed INTEGER,
    revealed INTEGER,
    burned INTEGER,
    memo BLOB
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS receipts_by_expiry ON receipts (expires_at);
CREATE TABLE IF NOT EXISTS items (
    kind TEXT NOT NULL,
    key BLOB NOT NULL,
    owner TEXT NOT NULL,
    value BLOB NOT NULL,
    expires_at INTEGER NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_by_owner ON items (owner, kind);
CREATE INDEX IF NOT EXISTS items_by_expiry ON items (expires_at);
"""

_COUNTER_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
"""

# Queries below are assembled only from these fixed column lists, never from input (hence S608).
_SECRET_COLUMNS = "sid, rid, envelope, created, expires_at, has_passphrase, previewed"  # noqa: S105
_RECEIPT_COLUMNS = "rid, sid, expires_at, static, state, updated, previewed, revealed, burned, memo"
_INSERT_RECEIPT = (
    f"INSERT OR REPLACE INTO receipts ({_RECEIPT_COLUMNS}, rank) VALUES ({', '.join('?' * 11)})"  # noqa: S608
)
_INSERT_SECRET = f"INSERT OR REPLACE INTO secrets ({_SECRET_COLUMNS}) VALUES ({', '.join('?' * 7)})"  # noqa: S608
_GET_SECRET = f"SELECT {_SECRET_COLUMNS} FROM secrets WHERE sid = ? AND expires_at > ?"  # noqa: S608
_TAKE_SECRET = (
    "DELETE FROM secrets WHERE sid = ? AND expires_at > ? AND has_passphrase = 0 "  # noqa: S608
    f"RETURNING {_SECRET_COLUMNS}"
)
_GET_RECEIPT = f"SELECT {_RECEIPT_COLUMNS} FROM receipts WHERE rid = ? AND expires_at > ?"  # noqa: S608
_EXPORT_BATCH_SIZE = 500
_EXPORT_BATCH = (
    f"SELECT {', '.join('r.' + c.strip() for c in _RECEIPT_COLUMNS.split(','))}, "  # noqa: S608
    f"{', '.join('s.' + c.strip() for c in _SECRET_COLUMNS.split(','))} "
    "FROM receipts r LEFT JOIN secrets s ON s.sid = r.sid AND s.expires_at > ? "
    f"WHERE r.expires_at > ? AND r.rid > ? ORDER BY r.rid LIMIT {_EXPORT_BATCH_SIZE}"
)
_ITEM_COLUMNS = "kind, key, owner, value, expires_at"
_ITEM_LIVE = "(expires_at IS NULL OR expires_at > ?)"
_PUT_ITEM = f"INSERT OR REPLACE INTO items ({_ITEM_COLUMNS}) VALUES (?, ?, ?, ?, ?)"  # noqa: S608
# One statement, so SQLite's write lock makes the check and the write one step; an expired
# row counts as absent and is replaced. No row changes (rowcount 0) when a live one is there.
_PUT_ITEM_IF_ABSENT = (
    f"INSERT INTO items ({_ITEM_COLUMNS}) VALUES (?, ?, ?, ?, ?) "  # noqa: S608
    "ON CONFLICT (kind, key) DO UPDATE SET owner = excluded.owner, value = excluded.value, "
    "expires_at = excluded.expires_at "
    "WHERE items.expires_at IS NOT NULL AND items.expires_at <= ?"
)
_GET_ITEM = f"SELECT {_ITEM_COLUMNS} FROM items WHERE kind = ? AND key = ? AND {_ITEM_LIVE}"  # noqa: S608
_TAKE_ITEM = (
    f"DELETE FROM items WHERE kind = ? AND key = ? AND {_ITEM_LIVE} RETURNING {_ITEM_COLUMNS}"  # noqa: S608
)
_OWNED_ITEMS = f"SELECT {_ITEM_COLUMNS} FROM items WHERE owner = ? AND kind = ? AND {_ITEM_LIVE}"  # noqa: S608
_ITEMS_BATCH_SIZE = 500
_ITEMS_BATCH = (
    f"SELECT {_ITEM_COLUMNS} FROM items WHERE kind = ? AND {_ITEM_LIVE} AND key > ? "  # noqa: S608
    f"ORDER BY key LIMIT {_ITEMS_BATCH_SIZE}"
)
_SWEEP_BATCH = 1000
# `expires_at <= ?` is never true for NULL, so items kept until deleted are never swept.
_SWEEPS = tuple(
    f"DELETE FROM {table} WHERE ({key}) IN "  # noqa: S608 - fixed table and column names
    f"(SELECT {key} FROM {table} WHERE expires_at <= ? LIMIT {_SWEEP_BATCH})"
    for table, key in (("secrets", "sid"), ("receipts", "rid"), ("items", "kind, key"))
)
# One statement per state a receipt can advance to; the column is the state's timestamp.
_ADVANCE_RECEIPT = {
    state: f"UPDATE receipts SET state = ?, rank = ?, updated = ?, {column} = ? "  # noqa: S608
    "WHERE rid = ? AND expires_at > ? AND rank < ?"
    for state, column in STATE_TIMESTAMP.items()
}


def _secret(row: Any) -> StoredSecret:
    sid, rid, envelope, created, expires_at, has_passphrase, previewed = row
    return StoredSecret(
        sid, rid, envelope, created, expires_at, bool(has_passphrase), bool(previewed)
    )


def _receipt(row: Any) -> StoredReceipt:
    return unpack_receipt(*row)


def _item(row: Any) -> StoredItem:
    kind, key, owner, value, expires_at = row
    return StoredItem(kind, key, owner, value, expires_at)


def _live(expires_at: int | None, now: int) -> bool:
    return expires_at is None or expires_at > now


def _private_dir(directory: Path) -> bool:
    """Make `directory` (mode 0700) if needed; True if it is a real directory only we can use."""
    try:
        directory.mkdir(mode=0o700, exist_ok=True)
        info = directory.lstat()
    except OSError:
        return False
    return (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.getuid()
        and not info.st_mode & (stat.S_IRWXG | stat.S_IRWXO)
    )


class SqliteStore:
    """A `Store` on one SQLite file."""

    def __init__(
        self,
        path: Path,
        counters_dir: Path | None = None,
        busy_timeout_ms: int = 5000,
        synchronous: str = "FULL",
    ) -> None:
        self.path = path
        self.counters_path = self._counters_path(path, counters_dir)
        self._busy_timeout_ms = busy_timeout_ms
        # FULL: a commit (a reveal's delete included) survives a power loss. Counters stay
        # NORMAL: they live in memory-backed storage and a lost count is harmless.
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError("synchronous must be FULL or NORMAL")
        self._synchronous = synchronous
        self._executor: ThreadPoolExecutor | None = None
        self._db: sqlite3.Connection | None = None
        self._counters: sqlite3.Connection | None = None

    @staticmethod
    def _counters_path(path: Path, counters_dir: Path | None) -> str:
        if counters_dir is None:
            return ":memory:"
        tag = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
        return str(counters_dir / f"onetime-{os.getuid()}-{tag}" / "counters.sqlite3")

    # -- lifecycle ----------------------------------------------------------------------------

    async def open(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="onetime-sqlite")
        await self._run(self._open_sync)

    def _connect(self, target: str, schema: str, synchronous: str = "NORMAL") -> sqlite3.Connection:
        db = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        db.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute(f"PRAGMA synchronous = {synchronous}")
        # Overwrite deleted content, so a revealed secret's ciphertext does not linger in free pages.
        db.execute("PRAGMA secure_delete = ON")
        db.executescript(schema)
        return db

    def _open_sync(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._connect(str(self.path), _SCHEMA, self._synchronous)
        except (OSError, sqlite3.Error) as error:
            raise StoreUnavailable(
                f"cannot open the SQLite store at {self.path}: {error}"
            ) from None
        try:
            if self.counters_path != ":memory:" and not _private_dir(
                Path(self.counters_path).parent
            ):
                raise sqlite3.OperationalError("the counters directory is not private")
            self._counters = self._connect(self.counters_path, _COUNTER_SCHEMA)
        except sqlite3.Error as error:
            # The memory-backed directory is not usable: fall back to counters in this process.
            log.warning("rate-limit counters stay in this process: %s", error)
            self._counters = self._connect(":memory:", _COUNTER_SCHEMA)

    async def close(self) -> None:
        if self._executor is None:
            return
        await self._run(self._close_sync)
        self._executor.shutdown(wait=True)
        self._executor = None

    def _close_sync(self) -> None:
        for db in (self._db, self._counters):
            if db is not None:
                db.close()
        self._db = self._counters = None

    async def _run(self, fn: Callable[[], T]) -> T:
        if self._executor is None:
            raise StoreUnavailable("the SQLite store is not open")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn)
        except sqlite3.DatabaseError as error:  # locked, full disk, read-only, corrupt file…
            raise StoreUnavailable(f"the SQLite store failed: {error}") from None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreUnavailable("the SQLite store is not open")
        return self._db

    @property
    def counters(self) -> sqlite3.Connection:
        if self._counters is None:
            raise StoreUnavailable("the SQLite store is not open")
        return self._counters

    async def ping(self) -> None:
        await self._run(lambda: self.db.execute("SELECT 1").fetchone())

    # -- secrets and receipts -----------------------------------------------------------------

    async def create(self, secret: StoredSecret | None, receipt: StoredReceipt, now: int) -> None:
        def write() -> None:
            db = self.db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(
                    _INSERT_RECEIPT,
                    (
                        receipt.rid, receipt.sid, receipt.expires_at, pack_receipt_static(receipt),
                        receipt.state.value, receipt.updated, receipt.previewed, receipt.revealed,
                        receipt.burned, receipt.memo, receipt.state.rank,
                    ),
                )  # fmt: skip
                if secret is not None:
                    db.execute(
                        _INSERT_SECRET,
                        (
                            secret.sid, secret.rid, secret.envelope, secret.created,
                            secret.expires_at, int(secret.has_passphrase), int(secret.previewed),
                        ),
                    )  # fmt: skip
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

        await self._run(write)

    async def get_secret(self, sid: bytes, now: int) -> StoredSecret | None:
        row = await self._run(lambda: self.db.execute(_GET_SECRET, (sid, now)).fetchone())
        return _secret(row) if row else None

    async def take_secret(self, sid: bytes, now: int) -> StoredSecret | None:
        row = await self._run(lambda: self.db.execute(_TAKE_SECRET, (sid, now)).fetchone())
        return _secret(row) if row else None

    async def claim_secret(self, sid: bytes, now: int) -> bool:
        query = "DELETE FROM secrets WHERE sid = ? AND expires_at > ?"
        return await self._run(lambda: self.db.execute(query, (sid, now)).rowcount == 1)

    async def mark_secret_previewed(self, sid: bytes, now: int) -> None:
        query = "UPDATE secrets SET previewed = 1 WHERE sid = ? AND expires_at > ?"
        await self._run(lambda: self.db.execute(query, (sid, now)))

    async def get_receipt(self, rid: bytes, now: int) -> StoredReceipt | None:
        row = await self._run(lambda: self.db.execute(_GET_RECEIPT, (rid, now)).fetchone())
        return _receipt(row) if row else None

    async def advance_receipt(self, rid: bytes, state: ReceiptState, now: int) -> bool:
        params = (state.value, state.rank, now, now, rid, now, state.rank)
        query = _ADVANCE_RECEIPT[state]
        return await self._run(lambda: self.db.execute(query, params).rowcount == 1)

    async def set_receipt_memo(self, rid: bytes, memo: bytes | None, now: int) -> bool:
        query = "UPDATE receipts SET memo = ?, updated = ? WHERE rid = ? AND expires_at > ?"
        return await self._run(lambda: self.db.execute(query, (memo, now, rid, now)).rowcount == 1)

    async def delete_receipt(self, rid: bytes, now: int) -> bool:
        # An expired row goes too (it would only wait for the sweep); only a live one counts.
        query = "DELETE FROM receipts WHERE rid = ? RETURNING expires_at"
        rows = await self._run(lambda: self.db.execute(query, (rid,)).fetchall())
        return any(_live(expires_at, now) for (expires_at,) in rows)

    # -- items --------------------------------------------------------------------------------

    async def put_item(self, item: StoredItem, now: int, only_if_absent: bool = False) -> bool:
        values = (item.kind, item.key, item.owner, item.value, item.expires_at)
        if only_if_absent:
            params = (*values, now)
            return await self._run(
                lambda: self.db.execute(_PUT_ITEM_IF_ABSENT, params).rowcount == 1
            )
        await self._run(lambda: self.db.execute(_PUT_ITEM, values))
        return True

    async def get_item(self, kind: str, key: bytes, now: int) -> StoredItem | None:
        row = await self._run(lambda: self.db.execute(_GET_ITEM, (kind, key, now)).fetchone())
        return _item(row) if row else None

    async def take_item(self, kind: str, key: bytes, now: int) -> StoredItem | None:
        row = await self._run(lambda: self.db.execute(_TAKE_ITEM, (kind, key, now)).fetchone())
        return _item(row) if row else None

    async def delete_item(self, kind: str, key: bytes, now: int) -> bool:
        query = "DELETE FROM items WHERE kind = ? AND key = ? RETURNING expires_at"
        rows = await self._run(lambda: self.db.execute(query, (kind, key)).fetchall())
        return any(_live(expires_at, now) for (expires_at,) in rows)

    async def owned_items(self, owner: str, kind: str, now: int) -> list[StoredItem]:
        rows = await self._run(lambda: self.db.execute(_OWNED_ITEMS, (owner, kind, now)).fetchall())
        return [_item(row) for row in rows]

    async def items(self, kind: str, now: int) -> AsyncIterator[StoredItem]:
        # SQLite sorts every TEXT before every BLOB, so '' starts before any key, even b"".
        after: bytes | str = ""
        while True:
            params = (kind, now, after)
            rows: list[Any] = await self._run(
                lambda: self.db.execute(_ITEMS_BATCH, params).fetchall()  # noqa: B023 - awaited at once
            )
            for row in rows:
                yield _item(row)
            if len(rows) < _ITEMS_BATCH_SIZE:
                return
            after = rows[-1][1]

    async def delete_owned(self, owner: str, now: int) -> int:
        query = "DELETE FROM items WHERE owner = ? RETURNING expires_at"
        rows = await self._run(lambda: self.db.execute(query, (owner,)).fetchall())
        return sum(_live(expires_at, now) for (expires_at,) in rows)

    # -- counters -----------------------------------------------------------------------------

    async def hit_counter(self, key: str, window: int, now: int) -> Counter:
        query = (
            "INSERT INTO counters (key, value, expires_at) VALUES (?, 1, ?) "
            "ON CONFLICT (key) DO UPDATE SET "
            "value = CASE WHEN expires_at <= ? THEN 1 ELSE value + 1 END, "
            "expires_at = CASE WHEN expires_at <= ? THEN excluded.expires_at ELSE expires_at END "
            "RETURNING value, expires_at"
        )
        row = await self._run(
            lambda: self.counters.execute(query, (key, now + window, now, now)).fetchone()
        )
        return Counter(row[0], row[1])

    async def read_counter(self, key: str, now: int) -> Counter | None:
        query = "SELECT value, expires_at FROM counters WHERE key = ? AND expires_at > ?"
        row = await self._run(lambda: self.counters.execute(query, (key, now)).fetchone())
        return Counter(row[0], row[1]) if row else None

    async def set_counter(self, key: str, value: int, seconds: int, now: int) -> None:
        query = (
            "INSERT INTO counters (key, value, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at"
        )
        await self._run(lambda: self.counters.execute(query, (key, value, now + seconds)))

    async def export(self, now: int) -> AsyncIterator[tuple[StoredReceipt, StoredSecret | None]]:
        after = b""
        while True:
            params = (now, now, after)
            rows: list[Any] = await self._run(
                lambda: self.db.execute(_EXPORT_BATCH, params).fetchall()  # noqa: B023 - awaited at once
            )
            for row in rows:
                receipt = _receipt(row[:10])
                secret = _secret(row[10:]) if row[10] is not None else None
                yield receipt, secret
            if len(rows) < _EXPORT_BATCH_SIZE:
                return
            after = rows[-1][0]

    async def count_receipts(self, now: int) -> int:
        query = "SELECT count(*) FROM receipts WHERE expires_at > ?"
        row = await self._run(lambda: self.db.execute(query, (now,)).fetchone())
        return int(row[0])

    async def sweep(self, now: int) -> int:
        # In batches, each its own job on the store's thread, so requests slip in between
        # even when a large backlog of expired rows has built up.
        gone = 0
        for statement in _SWEEPS:
            while True:
                query = statement
                deleted: int = await self._run(lambda: self.db.execute(query, (now,)).rowcount)  # noqa: B023 - awaited at once
                gone += deleted
                if deleted < _SWEEP_BATCH:
                    break
        await self._run(
            lambda: self.counters.execute("DELETE FROM counters WHERE expires_at <= ?", (now,))
        )
        return gone
