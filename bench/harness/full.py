"""A store holding a million secrets against an empty one: does onetime slow down as it fills?

The full stores are filled with bench/fill_onetime.py through onetime's own store API, filler
envelopes being random bytes of a real envelope's size. Then the same scenarios run on a
server over the full store and on one over an empty store, taking turns (E F E F).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness import helpers
from harness.helpers import fill_summary, start_fill
from harness.memory import checkpointed_size, remove_database
from harness.paths import repository_relative
from harness.redis_client import RedisClient
from harness.servers import OnetimeDirs, onetime_env
from harness.throughput import Summary

# tmpfs: the SQLite fill runs there about 1.4 times as fast, and the file is then moved next
# to the empty store's, so both servers read from the same disk.
_STAGING_PARENT = Path("/dev/shm")  # noqa: S108 - a private mkdtemp inside it


def redis_url(prefix: str) -> str:
    return f"redis://127.0.0.1:6379/0?prefix={prefix}"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@dataclass(frozen=True)
class FillResult:
    store: str
    location: str
    count: int
    seconds: float
    rate_per_s: float
    processes: int
    envelope_bytes: int
    share_key_bytes: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _fill_result(store: str, location: str, summary: dict[str, Any]) -> FillResult:
    seconds = float(summary["seconds"])
    return FillResult(
        store=store,
        location=location,
        count=int(summary["count"]),
        seconds=round(seconds, 1),
        rate_per_s=round(int(summary["count"]) / seconds, 1),
        processes=int(summary["processes"]),
        envelope_bytes=int(summary["envelope_bytes"]),
        share_key_bytes=int(summary["share_key_bytes"]),
    )


def _staging_dir() -> Path | None:
    if _STAGING_PARENT.is_dir() and os.access(_STAGING_PARENT, os.W_OK):
        return Path(tempfile.mkdtemp(prefix="onetime-bench-", dir=_STAGING_PARENT))
    return None


def fill_stores(
    prefix: str, database: Path, count: int, dirs: OnetimeDirs, redis: RedisClient
) -> list[FillResult]:
    """Fill the Redis prefix and a fresh SQLite file at `database`, at the same time.

    At the same time, because sharing the CPU is faster than one fill after the other: the
    Redis fill ends well before the SQLite one, which then has both cores. Each store gets one
    writer process per core. SQLite takes one write at a time, and its processes take turns
    at the file's write lock, but each prepares its next group of writes while the other
    commits: two fill a file about 1.3 times as fast as one. Its connections run with
    synchronous=normal and a page cache of 256 MiB (1.4 times as fast for 300,000 records),
    settings of the connection that leave the file exactly as with the server's defaults, in
    a tmpfs staging directory when there is one (again about 1.4 times as fast); the file is
    moved next to the empty store's afterwards.
    """
    redis.delete_prefix(prefix)
    remove_database(database)
    staging = _staging_dir()
    staged = (staging or database.parent) / database.name
    redis_env = onetime_env(redis_url(prefix), dirs)
    sqlite_env = onetime_env(sqlite_url(staged) + "?synchronous=normal&cache_mib=256", dirs)
    fills = [start_fill(redis_env, count, helpers.cpu_count())]
    try:
        fills.append(start_fill(sqlite_env, count, helpers.cpu_count()))
        redis_fill, sqlite_fill = (fill_summary(group.wait()) for group in fills)
        checkpointed_size(staged)  # fold the WAL in, so one file holds everything
        if staging is not None:
            shutil.move(staged, database)
    finally:
        for group in fills:
            group.stop()
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    return [
        _fill_result("redis", prefix, redis_fill),
        _fill_result("sqlite", repository_relative(database), sqlite_fill),
    ]


@dataclass(frozen=True)
class FullComparison:
    """One scenario on one store kind: the empty store's medians against the full store's."""

    store: str
    scenario: str
    empty_rps: float
    full_rps: float
    full_vs_empty_percent: float
    empty_p99_ms: float
    full_p99_ms: float
    errors: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def compare(
    summaries: Sequence[Summary], pairs: dict[str, tuple[str, str]]
) -> list[FullComparison]:
    """`pairs`: store kind -> (empty server's name, full server's name)."""
    by_key = {(s.scenario, s.server): s for s in summaries}
    comparisons = []
    for scenario in dict.fromkeys(s.scenario for s in summaries):
        for store, (empty_name, full_name) in pairs.items():
            empty, full = by_key.get((scenario, empty_name)), by_key.get((scenario, full_name))
            if empty is None or full is None:
                continue
            comparisons.append(
                FullComparison(
                    store=store,
                    scenario=scenario,
                    empty_rps=empty.rps,
                    full_rps=full.rps,
                    full_vs_empty_percent=round(100 * full.rps / empty.rps, 1)
                    if empty.rps
                    else 0.0,
                    empty_p99_ms=empty.p99_ms,
                    full_p99_ms=full.p99_ms,
                    errors=empty.errors + full.errors,
                )
            )
    return comparisons
