"""The embedded store: one SQLite file in WAL mode, shared safely by several worker processes.

Each process has one connection, used from one dedicated thread, so the event loop never blocks
on disk. Reads run on that thread one by one, outside any transaction.

Writes are committed in groups: every change is queued on the event loop, and at most one batch
of them is being committed per process at a time; whatever queued up meanwhile goes as the next
batch. A batch is one transaction (`BEGIN IMMEDIATE` … `COMMIT`, one fsync however many writes
it holds), and each write in it runs in its own SAVEPOINT, so one that fails is undone alone and
the others still commit. A caller is answered only after its batch committed: when a call
returns, its change is durable; when the commit fails, every write of the batch fails with
StoreUnavailable and none of them happened. The one-time reveal is a `DELETE … RETURNING`
inside such a transaction, so it is atomic across processes; the update that marks its receipt
revealed goes in the same savepoint, so a reveal is one commit.

Our processes take turns at writing through an exclusive `flock` on a lock file beside the
database (`<file>.lock`), held from before `BEGIN IMMEDIATE` until after `COMMIT`/`ROLLBACK`
(and while a process opens the file and sets up the schema).
A process waiting for it sleeps in the kernel and wakes as soon as it is free; waiting on
SQLite's own write lock instead would sleep in steps of up to 100 ms. So SQLite's lock is
uncontended among our processes, and `busy_timeout` only matters for other programs (an
operator's sqlite3 shell).

Items (the account features' records) live in one table keyed by (kind, key); an item without
`expires_at` lasts until deleted, so every query on them says `expires_at IS NULL OR …`.

Counters (rate limits, lockouts) hold keyed hashes of client addresses. They go to a separate
database in a memory-backed directory (`counters_dir`, by default /dev/shm), shared by the
workers of one machine and never written to disk; without one, they live in this process.
/dev/shm is writable by every local user, so the database sits in a subdirectory only we can
enter; if that cannot be had, counters stay in this process rather than in a file that someone
else could have made, read or rewrite (to lift a passphrase lockout, say). Their writes are
grouped the same way, with their own lock file beside their database.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import hashlib
import logging
import os
import sqlite3
import stat
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar, cast

from onetime.core.errors import StoreUnavailable
from onetime.core.records import Counter, ReceiptState, StoredItem, StoredReceipt, StoredSecret
from onetime.store.codec import STATE_TIMESTAMP, pack_receipt_static, unpack_receipt

T = TypeVar("T")
log = logging.getLogger("onetime.store.sqlite")

# Secrets live in a rowid table, not WITHOUT ROWID: an envelope is often a kilobyte or more, and
# a WITHOUT ROWID row keeps at most about a quarter page in its b-tree page, so each such secret
# spilled into an overflow page of its own, mostly empty (the secrets table alone: 4.7 KB of
# file per 1 KB secret, against 1.4 KB now). New rows also go to the end of the table instead of
# random places in it; of the secrets table's structures only the small index on `sid` takes
# random inserts.
_SECRETS_TABLE = """
CREATE TABLE IF NOT EXISTS {name} (
    sid BLOB NOT NULL UNIQUE,
    rid BLOB NOT NULL,
    envelope BLOB NOT NULL,
    created INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    has_passphrase INTEGER NOT NULL,
    previewed INTEGER NOT NULL DEFAULT 0,
    owned INTEGER NOT NULL DEFAULT 1
);
"""
# Receipts likewise, for another reason: a receipt's row (about 200 bytes) is keyed by a random
# id, and as a WITHOUT ROWID table every new row went to a random place in a b-tree of such rows
# (about 20 to a page), splitting its pages often. As a rowid table the rows go to its end and
# only the unique index on `rid` (about 90 entries to a page) takes random inserts: a create
# writes a fifth fewer pages to the WAL, a reveal likewise, and the index by expiry, whose
# entries now end in a rowid instead of the 32-byte id, is a third of its size (item 11 of
# docs/performance.md).
_RECEIPTS_TABLE = """
CREATE TABLE IF NOT EXISTS {name} (
    rid BLOB NOT NULL UNIQUE,
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
);
"""
# The index by expiry of each table, named by the table (rebuilding a table makes it anew).
_EXPIRY_INDEX = "CREATE INDEX IF NOT EXISTS {table}_by_expiry ON {table} (expires_at);\n"
_SCHEMA = (
    _SECRETS_TABLE.format(name="secrets")
    + _EXPIRY_INDEX.format(table="secrets")
    + _RECEIPTS_TABLE.format(name="receipts")
    + _EXPIRY_INDEX.format(table="receipts")
    + """CREATE TABLE IF NOT EXISTS items (
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
)

_COUNTER_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
"""

# Queries below are assembled only from these fixed column lists, never from input (hence S608).
_SECRET_COLUMNS = "sid, rid, envelope, created, expires_at, has_passphrase, previewed, owned"  # noqa: S105 - column names, no password
_RECEIPT_COLUMNS = "rid, sid, expires_at, static, state, updated, previewed, revealed, burned, memo"
_INSERT_RECEIPT = (
    f"INSERT OR REPLACE INTO receipts ({_RECEIPT_COLUMNS}, rank) VALUES ({', '.join('?' * 11)})"  # noqa: S608
)
_INSERT_SECRET = f"INSERT OR REPLACE INTO secrets ({_SECRET_COLUMNS}) VALUES ({', '.join('?' * 8)})"  # noqa: S608
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
    sid, rid, envelope, created, expires_at, has_passphrase, previewed, owned = row
    return StoredSecret(
        sid, rid, envelope, created, expires_at, bool(has_passphrase), bool(previewed), bool(owned)
    )


def _receipt(row: Any) -> StoredReceipt:
    return unpack_receipt(*row)


def _item(row: Any) -> StoredItem:
    kind, key, owner, value, expires_at = row
    return StoredItem(kind, key, owner, value, expires_at)


def _live(expires_at: int | None, now: int) -> bool:
    return expires_at is None or expires_at > now


def _upgrade(db: sqlite3.Connection) -> None:
    """Bring a file made by an earlier version up to the schema above (tables already there)."""
    secret_columns = {row[1] for row in db.execute("PRAGMA table_info(secrets)")}
    if "owned" not in secret_columns:
        # Secrets stored before this was kept read as owned: the receipt is then looked up.
        db.execute("ALTER TABLE secrets ADD COLUMN owned INTEGER NOT NULL DEFAULT 1")
    for table, layout, columns in (
        ("secrets", _SECRETS_TABLE, _SECRET_COLUMNS),
        ("receipts", _RECEIPTS_TABLE, f"{_RECEIPT_COLUMNS}, rank"),
    ):
        (table_sql,) = db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        if "WITHOUT ROWID" in table_sql.upper():
            _rebuild(db, table, layout, columns)


def _rebuild(db: sqlite3.Connection, table: str, layout: str, columns: str) -> None:
    """Move the rows of a table from before its rowid layout into it, in one transaction."""
    (count,) = db.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 - fixed names
    # The copy goes through the WAL: the disk needs about twice the table's size free meanwhile.
    log.warning("moving %d stored %s to the compact table layout (once)", count, table)
    with _transaction(db):
        db.execute(f"DROP TABLE IF EXISTS {table}_compact")
        db.execute(layout.format(name=f"{table}_compact"))
        db.execute(
            f"INSERT INTO {table}_compact ({columns}) SELECT {columns} FROM {table}"  # noqa: S608
        )
        db.execute(f"DROP TABLE {table}")  # its indexes go with it
        db.execute(f"ALTER TABLE {table}_compact RENAME TO {table}")
        db.execute(_EXPIRY_INDEX.format(table=table))


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE, then COMMIT, or ROLLBACK if anything in it raised."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        # SQLite may have rolled back already (full disk, I/O error): the error that got us
        # here is the one to report, not a failed ROLLBACK.
        if db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
        raise


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


def _open_lock(database: str) -> int:
    """Open (making it, mode 0600) the lock file our processes take turns on to write `database`."""
    flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
    return os.open(f"{database}.lock", flags, 0o600)


class _Write:
    """One change waiting in a batch: what to run on the connection, and who waits for it."""

    __slots__ = ("error", "future", "result", "work")

    def __init__(self, work: Callable[[sqlite3.Connection], Any], future: asyncio.Future[Any]):
        self.work = work
        self.future = future
        # Set on the store's thread; read on the event loop only once the batch is over.
        self.result: Any = None
        self.error: Exception | None = None


class _Writes:
    """The writes of one database: its connection, its lock file, the queue and its committer."""

    def __init__(self) -> None:
        self.db: sqlite3.Connection | None = None
        self.lock: int | None = None  # None for a database that only this process can see
        self.waiting: list[_Write] = []
        self.committer: asyncio.Task[None] | None = None

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
        if self.lock is not None:
            os.close(self.lock)
        self.db = self.lock = None


class SqliteStore:
    """A `Store` on one SQLite file."""

    def __init__(
        self,
        path: Path,
        counters_dir: Path | None = None,
        busy_timeout_ms: int = 5000,
        synchronous: str = "FULL",
        cache_mib: int | None = None,
    ) -> None:
        self.path = path
        self._cache_mib = cache_mib
        self.counters_path = self._counters_path(path, counters_dir)
        self._busy_timeout_ms = busy_timeout_ms
        # FULL: a commit (a reveal's delete included) survives a power loss. Counters stay
        # NORMAL: they live in memory-backed storage and a lost count is harmless.
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError("synchronous must be FULL or NORMAL")
        self._synchronous = synchronous
        self._executor: ThreadPoolExecutor | None = None
        self._main = _Writes()
        self._counter_writes = _Writes()

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
        if self._cache_mib is not None:
            db.execute(f"PRAGMA cache_size = -{int(self._cache_mib) * 1024}")  # KiB when negative
        # Overwrite deleted content, so a revealed secret's ciphertext does not linger in free pages.
        db.execute("PRAGMA secure_delete = ON")
        db.executescript(schema)
        return db

    def _prepare(
        self,
        writes: _Writes,
        target: str,
        schema: str,
        synchronous: str,
        upgrade: Callable[[sqlite3.Connection], None] | None = None,
    ) -> None:
        if target != ":memory:":
            writes.lock = _open_lock(target)
        # Under the lock, so workers starting together neither wait on each other in SQLite
        # nor both upgrade the file.
        with self._turn(writes):
            writes.db = self._connect(target, schema, synchronous)
            if upgrade is not None:
                upgrade(writes.db)

    def _open_sync(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._prepare(self._main, str(self.path), _SCHEMA, self._synchronous, _upgrade)
        except (OSError, sqlite3.Error) as error:
            self._main.close()
            raise StoreUnavailable(
                f"cannot open the SQLite store at {self.path}: {error}"
            ) from None
        try:
            if self.counters_path != ":memory:" and not _private_dir(
                Path(self.counters_path).parent
            ):
                raise sqlite3.OperationalError("the counters directory is not private")
            self._prepare(self._counter_writes, self.counters_path, _COUNTER_SCHEMA, "NORMAL")
        except (OSError, sqlite3.Error) as error:
            # The memory-backed directory is not usable: fall back to counters in this process.
            log.warning("rate-limit counters stay in this process: %s", error)
            self._counter_writes.close()
            self._prepare(self._counter_writes, ":memory:", _COUNTER_SCHEMA, "NORMAL")

    async def close(self) -> None:
        if self._executor is None:
            return
        # Let the writes already queued finish (and their callers hear how it went).
        for writes in (self._main, self._counter_writes):
            if writes.committer is not None and not writes.committer.done():
                await writes.committer
        await self._run(self._close_sync)
        self._executor.shutdown(wait=True)
        self._executor = None

    def _close_sync(self) -> None:
        self._main.close()
        self._counter_writes.close()

    async def _run(self, fn: Callable[[], T]) -> T:
        if self._executor is None:
            raise StoreUnavailable("the SQLite store is not open")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn)
        # Locked, full disk, read-only, corrupt file, a lock file we cannot lock…
        except (sqlite3.DatabaseError, OSError) as error:
            raise StoreUnavailable(f"the SQLite store failed: {error}") from None

    # -- group commit -------------------------------------------------------------------------

    async def _write(self, writes: _Writes, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` in the next batch of `writes`; return its result once that has committed."""
        if self._executor is None:
            raise StoreUnavailable("the SQLite store is not open")
        loop = asyncio.get_running_loop()
        write = _Write(work, loop.create_future())
        writes.waiting.append(write)
        if writes.committer is None or writes.committer.done():
            # A task, not this caller: a caller that is cancelled must not stop the batch that
            # carries other callers' writes.
            writes.committer = loop.create_task(self._commit_waiting(writes))
        return cast(T, await write.future)

    async def _commit_waiting(self, writes: _Writes) -> None:
        """Commit batch after batch until nothing waits; one batch at a time."""
        while writes.waiting:
            # A caller that gave up before its batch began has its write dropped, as an
            # executor job cancelled before it starts never runs.
            batch = [write for write in writes.waiting if not write.future.done()]
            writes.waiting = []
            if not batch:
                continue
            try:
                await self._run(functools.partial(self._commit, writes, batch))
            except asyncio.CancelledError:
                # Only when the event loop shuts down: no one would hear the answers any more,
                # and a later loop must not try to answer futures of this one.
                for write in (*batch, *writes.waiting):
                    write.future.cancel()
                writes.waiting = []
                raise
            except Exception as error:  # BEGIN or COMMIT failed: none of the batch happened
                message = (
                    error.message
                    if isinstance(error, StoreUnavailable)
                    else f"the SQLite store failed: {error!r}"
                )
                for write in batch:
                    if not write.future.done():
                        write.future.set_exception(StoreUnavailable(message))
                continue
            for write in batch:
                if write.future.done():  # its caller was cancelled meanwhile; the write stands
                    continue
                if write.error is None:
                    write.future.set_result(write.result)
                elif isinstance(write.error, sqlite3.DatabaseError):
                    write.future.set_exception(
                        StoreUnavailable(f"the SQLite store failed: {write.error}")
                    )
                else:
                    write.future.set_exception(write.error)

    @contextlib.contextmanager
    def _turn(self, writes: _Writes) -> Iterator[None]:
        """Hold the lock file that our processes take turns on (blocking: on the store's thread)."""
        if writes.lock is None:
            yield
            return
        fcntl.flock(writes.lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(writes.lock, fcntl.LOCK_UN)

    def _commit(self, writes: _Writes, batch: list[_Write]) -> None:
        """One transaction for the whole batch, on the store's thread; raises if it did not commit."""
        db = writes.db
        if db is None:
            raise StoreUnavailable("the SQLite store is not open")
        with self._turn(writes):
            if db.in_transaction:  # left open by a ROLLBACK that failed; nothing in it stands
                db.execute("ROLLBACK")
            with _transaction(db):
                for write in batch:
                    self._apply(db, write)

    @staticmethod
    def _apply(db: sqlite3.Connection, write: _Write) -> None:
        db.execute("SAVEPOINT write")
        try:
            write.result = write.work(db)
        except Exception as error:
            if not db.in_transaction:
                # SQLite gave up the whole transaction (I/O error, full disk): the batch fails.
                raise
            db.execute("ROLLBACK TO write")
            write.error = error
        db.execute("RELEASE write")

    @property
    def db(self) -> sqlite3.Connection:
        if self._main.db is None:
            raise StoreUnavailable("the SQLite store is not open")
        return self._main.db

    @property
    def counters(self) -> sqlite3.Connection:
        if self._counter_writes.db is None:
            raise StoreUnavailable("the SQLite store is not open")
        return self._counter_writes.db

    async def ping(self) -> None:
        await self._run(lambda: self.db.execute("SELECT 1").fetchone())

    # -- secrets and receipts -----------------------------------------------------------------

    async def create(self, secret: StoredSecret | None, receipt: StoredReceipt, now: int) -> None:
        receipt_row = (
            receipt.rid, receipt.sid, receipt.expires_at, pack_receipt_static(receipt),
            receipt.state.value, receipt.updated, receipt.previewed, receipt.revealed,
            receipt.burned, receipt.memo, receipt.state.rank,
        )  # fmt: skip

        def work(db: sqlite3.Connection) -> None:
            db.execute(_INSERT_RECEIPT, receipt_row)
            if secret is not None:
                db.execute(
                    _INSERT_SECRET,
                    (
                        secret.sid, secret.rid, secret.envelope, secret.created,
                        secret.expires_at, int(secret.has_passphrase), int(secret.previewed),
                        int(secret.owned),
                    ),
                )  # fmt: skip

        await self._write(self._main, work)

    async def get_secret(self, sid: bytes, now: int) -> StoredSecret | None:
        row = await self._run(lambda: self.db.execute(_GET_SECRET, (sid, now)).fetchone())
        return _secret(row) if row else None

    async def take_secret(self, sid: bytes, now: int) -> StoredSecret | None:
        revealed = ReceiptState.REVEALED

        def work(db: sqlite3.Connection) -> list[Any]:
            rows = db.execute(_TAKE_SECRET, (sid, now)).fetchall()
            for row in rows:  # one at most; the receipt is marked in the same transaction
                rid = row[1]
                db.execute(
                    _ADVANCE_RECEIPT[revealed],
                    (revealed.value, revealed.rank, now, now, rid, now, revealed.rank),
                )
            return rows

        rows = await self._write(self._main, work)
        return _secret(rows[0]) if rows else None

    async def claim_secret(self, sid: bytes, now: int) -> bool:
        query = "DELETE FROM secrets WHERE sid = ? AND expires_at > ?"
        return await self._write(self._main, lambda db: db.execute(query, (sid, now)).rowcount == 1)

    async def mark_secret_previewed(self, sid: bytes, now: int) -> None:
        query = "UPDATE secrets SET previewed = 1 WHERE sid = ? AND expires_at > ?"
        await self._write(self._main, lambda db: db.execute(query, (sid, now)).rowcount)

    async def get_receipt(self, rid: bytes, now: int) -> StoredReceipt | None:
        row = await self._run(lambda: self.db.execute(_GET_RECEIPT, (rid, now)).fetchone())
        return _receipt(row) if row else None

    async def advance_receipt(self, rid: bytes, state: ReceiptState, now: int) -> bool:
        params = (state.value, state.rank, now, now, rid, now, state.rank)
        query = _ADVANCE_RECEIPT[state]
        return await self._write(self._main, lambda db: db.execute(query, params).rowcount == 1)

    async def set_receipt_memo(self, rid: bytes, memo: bytes | None, now: int) -> bool:
        query = "UPDATE receipts SET memo = ?, updated = ? WHERE rid = ? AND expires_at > ?"
        params = (memo, now, rid, now)
        return await self._write(self._main, lambda db: db.execute(query, params).rowcount == 1)

    async def delete_receipt(self, rid: bytes, now: int) -> bool:
        # An expired row goes too (it would only wait for the sweep); only a live one counts.
        query = "DELETE FROM receipts WHERE rid = ? RETURNING expires_at"
        rows = await self._write(self._main, lambda db: db.execute(query, (rid,)).fetchall())
        return any(_live(expires_at, now) for (expires_at,) in rows)

    # -- items --------------------------------------------------------------------------------

    async def put_item(self, item: StoredItem, now: int, only_if_absent: bool = False) -> bool:
        values = (item.kind, item.key, item.owner, item.value, item.expires_at)
        if only_if_absent:
            params = (*values, now)
            return await self._write(
                self._main, lambda db: db.execute(_PUT_ITEM_IF_ABSENT, params).rowcount == 1
            )
        await self._write(self._main, lambda db: db.execute(_PUT_ITEM, values).rowcount)
        return True

    async def get_item(self, kind: str, key: bytes, now: int) -> StoredItem | None:
        row = await self._run(lambda: self.db.execute(_GET_ITEM, (kind, key, now)).fetchone())
        return _item(row) if row else None

    async def take_item(self, kind: str, key: bytes, now: int) -> StoredItem | None:
        params = (kind, key, now)
        rows = await self._write(self._main, lambda db: db.execute(_TAKE_ITEM, params).fetchall())
        return _item(rows[0]) if rows else None

    async def delete_item(self, kind: str, key: bytes, now: int) -> bool:
        query = "DELETE FROM items WHERE kind = ? AND key = ? RETURNING expires_at"
        rows = await self._write(self._main, lambda db: db.execute(query, (kind, key)).fetchall())
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
        rows = await self._write(self._main, lambda db: db.execute(query, (owner,)).fetchall())
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
        params = (key, now + window, now, now)
        rows = await self._write(
            self._counter_writes, lambda db: db.execute(query, params).fetchall()
        )
        return Counter(rows[0][0], rows[0][1])

    async def read_counter(self, key: str, now: int) -> Counter | None:
        query = "SELECT value, expires_at FROM counters WHERE key = ? AND expires_at > ?"
        row = await self._run(lambda: self.counters.execute(query, (key, now)).fetchone())
        return Counter(row[0], row[1]) if row else None

    async def set_counter(self, key: str, value: int, seconds: int, now: int) -> None:
        query = (
            "INSERT INTO counters (key, value, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at"
        )
        params = (key, value, now + seconds)
        await self._write(self._counter_writes, lambda db: db.execute(query, params).rowcount)

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
        # In batches, each its own write, so requests slip in between (in the same group
        # commits) even when a large backlog of expired rows has built up.
        gone = 0
        for statement in _SWEEPS:
            while True:
                query = statement
                deleted: int = await self._write(
                    self._main,
                    lambda db: db.execute(query, (now,)).rowcount,  # noqa: B023 - awaited at once
                )
                gone += deleted
                if deleted < _SWEEP_BATCH:
                    break
        await self._write(
            self._counter_writes,
            lambda db: db.execute("DELETE FROM counters WHERE expires_at <= ?", (now,)).rowcount,
        )
        return gone
