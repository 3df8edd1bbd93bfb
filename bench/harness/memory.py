"""Memory per stored secret: store many 1 KB secrets while nothing else runs, and measure.

Redis: growth of INFO memory `used_memory` (the whole server: keys, values, expiry entries).
SQLite: growth of the database file plus its WAL after a checkpoint. The ciphertext size is
read from one stored record, so the report can say what a secret costs beyond its ciphertext.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.helpers import precreate
from harness.redis_client import RedisClient
from harness.servers import ServerSpec
from onetime.store.redis_records import envelope_length

# Lets Redis finish background work (lazy frees of earlier deletions) before a reading.
_SETTLE_S = 1.0


@dataclass(frozen=True)
class MemoryResult:
    server: str
    store: str
    secrets: int
    content_bytes: int
    bytes_per_secret: float
    ciphertext_bytes: float
    beyond_ciphertext_bytes: float
    measured: str  # what grew
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _result(
    spec: ServerSpec, count: int, size: int, grown: int, ciphertext: float, seconds: float
) -> MemoryResult:
    per_secret = grown / count
    measured = "redis used_memory" if spec.store == "redis" else "sqlite db + wal"
    return MemoryResult(
        server=spec.name,
        store=spec.store,
        secrets=count,
        content_bytes=size,
        bytes_per_secret=round(per_secret, 1),
        ciphertext_bytes=round(ciphertext, 1),
        beyond_ciphertext_bytes=round(per_secret - ciphertext, 1),
        measured=measured,
        seconds=round(seconds, 1),
    )


def _settled_used_memory(redis: RedisClient) -> int:
    time.sleep(_SETTLE_S)
    return redis.used_memory()


def _stored_ciphertext_length(redis: RedisClient, spec: ServerSpec) -> int:
    """The length of one stored ciphertext: the envelope in an onetime secret, or snappass's value."""
    reply: Any
    if spec.kind == "snappass":
        key = redis.first_key(spec.store_location)
        reply = redis.command("STRLEN", key) if key else None
    else:
        key = redis.first_key(spec.store_location + "s:")
        record = redis.command("GET", key) if key else None
        reply = envelope_length(record) if isinstance(record, bytes) else None
    if not isinstance(reply, int) or reply <= 0:
        raise RuntimeError(f"no stored secret found under {spec.store_location!r}")
    return reply


def measure_redis(
    spec: ServerSpec, count: int, size: int, processes: int, redis: RedisClient
) -> MemoryResult:
    """`spec` must use a Redis prefix of its own; it is emptied before and after."""
    redis.delete_prefix(spec.store_location)
    before = _settled_used_memory(redis)
    started = time.monotonic()
    precreate(spec, count, None, processes, size)
    seconds = time.monotonic() - started
    after = _settled_used_memory(redis)
    ciphertext = _stored_ciphertext_length(redis, spec)
    redis.delete_prefix(spec.store_location)
    return _result(spec, count, size, after - before, ciphertext, seconds)


def checkpointed_size(database: Path) -> int:
    """Bytes of the database and its WAL once the WAL has been folded into the database."""
    with closing(sqlite3.connect(database)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    wal = database.with_name(database.name + "-wal")
    return database.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def average_envelope_length(database: Path) -> float:
    with closing(sqlite3.connect(database)) as db:
        row = db.execute("SELECT avg(length(envelope)) FROM secrets").fetchone()
    return float(row[0] or 0.0)


def remove_database(database: Path) -> None:
    """The database and the files beside it (WAL, shared memory, onetime's writer lock)."""
    for suffix in ("", "-wal", "-shm", "-journal", ".lock"):
        database.with_name(database.name + suffix).unlink(missing_ok=True)


def measure_sqlite(spec: ServerSpec, count: int, size: int, processes: int) -> MemoryResult:
    """`spec` must name a SQLite file of its own; it is started afresh."""
    database = Path(spec.store_location)
    remove_database(database)
    precreate(spec, 0, None, 1)  # an empty store: its schema is the baseline
    before = checkpointed_size(database)
    started = time.monotonic()
    precreate(spec, count, None, processes, size)
    seconds = time.monotonic() - started
    after = checkpointed_size(database)
    ciphertext = average_envelope_length(database)
    remove_database(database)
    return _result(spec, count, size, after - before, ciphertext, seconds)
