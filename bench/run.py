"""Benchmark onetime against snappass on this machine: `make bench` (see docs/performance.md).

Starts snappass, onetime on Redis and onetime on SQLite side by side, runs each scenario with
wrk on each server in turn for a few rounds, measures memory per stored secret, and compares
a store holding a million secrets with an empty one. Prints tables and writes JSON.

    python bench/run.py                  # everything: about 11 minutes on 2 cores
    python bench/run.py --skip-full      # without the million-secret comparison
    python bench/run.py --smoke          # onetime only, 1 s per scenario: does it still work?
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from harness.cpu import local_redis_pid
from harness.full import (
    FillResult,
    compare,
    fill_stores,
    redis_url,
    sqlite_url,
)
from harness.helpers import cpu_count
from harness.memory import measure_redis, measure_sqlite, remove_database
from harness.paths import DEFAULT_WORK_DIR, RESULTS_DIR, repository_relative
from harness.redis_client import RedisClient, RedisError
from harness.report import (
    load_average,
    machine_info,
    other_cpu_use_percent,
    print_tables,
    write_json,
)
from harness.results import Results
from harness.scenarios import FULL_STORE_SCENARIOS, MAIN_SCENARIOS, Scenario
from harness.servers import (
    OnetimeDirs,
    RunningServer,
    ServerSpec,
    onetime_spec,
    running,
    snappass_spec,
)
from harness.snappass_venv import ensure_snappass_venv
from harness.throughput import (
    KeyBudget,
    RoundPlan,
    family,
    run_rounds,
    summarize,
)
from rich.console import Console

SMOKE_DURATION_S = 1
MEMORY_CONTENT_BYTES = 1024
# Above this share of the CPU already in use, the numbers are not worth much: say so.
BUSY_WARNING_PERCENT = 15


@dataclass(frozen=True)
class Options:
    duration_s: int
    rounds: int
    warmup_s: int
    workers: int
    skip_memory: bool
    skip_full: bool
    smoke: bool
    json_path: Path
    work_dir: Path
    memory_count: int
    full_count: int
    prefix: str  # every Redis key the harness makes starts with this
    temporary_work_dir: bool = False  # made for this run, removed at its end


def parse_args(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="rounds over all scenarios")
    parser.add_argument("--workers", type=int, default=cpu_count(), help="onetime workers")
    parser.add_argument("--skip-memory", action="store_true", help="skip memory per secret")
    parser.add_argument("--skip-full", action="store_true", help="skip the 1M-secret store")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="onetime only (SQLite in a temporary directory, Redis under a unique prefix), "
        "1 worker, 1 round of 1 s per scenario, no memory or full-store parts",
    )
    parser.add_argument("--json", type=Path, help="results file [bench/results/latest.json]")
    parser.add_argument("--work-dir", type=Path, help="servers' files and logs [bench/work]")
    parser.add_argument("--memory-count", type=int, default=100_000, help="secrets (memory)")
    parser.add_argument("--full-count", type=int, default=1_000_000, help="filler secrets")
    args = parser.parse_args(argv)
    if args.smoke:
        return _smoke_options(args)
    return Options(
        duration_s=args.duration,
        rounds=args.rounds,
        warmup_s=1,
        workers=args.workers,
        skip_memory=args.skip_memory,
        skip_full=args.skip_full,
        smoke=False,
        json_path=args.json or RESULTS_DIR / "latest.json",
        work_dir=args.work_dir or DEFAULT_WORK_DIR,
        memory_count=args.memory_count,
        full_count=args.full_count,
        prefix="bench-",
    )


def _smoke_options(args: argparse.Namespace) -> Options:
    temporary = args.work_dir is None
    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="onetime-bench-smoke-"))
    return Options(
        duration_s=SMOKE_DURATION_S,
        rounds=1,
        warmup_s=0,
        workers=1,
        skip_memory=True,
        skip_full=True,
        smoke=True,
        json_path=args.json or DEFAULT_WORK_DIR / "smoke.json",
        work_dir=work_dir,
        memory_count=0,
        full_count=0,
        prefix=f"bench-smoke-{uuid.uuid4().hex[:12]}-",
        temporary_work_dir=temporary,
    )


@dataclass(frozen=True)
class Prefixes:
    """The Redis key prefixes of the harness: one per store, all under the run's prefix."""

    base: str

    @property
    def snappass(self) -> str:
        return self.base + "sp:"

    @property
    def onetime(self) -> str:
        return self.base + "ot:"

    @property
    def memory_snappass(self) -> str:
        return self.base + "mem-sp:"

    @property
    def memory_onetime(self) -> str:
        return self.base + "mem-ot:"

    @property
    def empty(self) -> str:
        return self.base + "empty:"

    @property
    def full(self) -> str:
        return self.base + "full:"

    def all(self) -> tuple[str, ...]:
        return (
            self.snappass,
            self.onetime,
            self.memory_snappass,
            self.memory_onetime,
            self.empty,
            self.full,
        )


def counters_directory(work: Path) -> Path:
    """A fresh directory for onetime's rate-limit counters, memory-backed like its default
    (/dev/shm), so no count from an earlier run carries over."""
    shm = Path("/dev/shm")  # noqa: S108 - a private mkdtemp inside it
    parent = shm if shm.is_dir() and os.access(shm, os.W_OK) else work
    return Path(tempfile.mkdtemp(prefix="onetime-bench-counters-", dir=parent))


def _raise_on_signal(signum: int, frame: FrameType | None) -> None:
    """Signals unwind like Ctrl-C, so every server and helper is stopped on the way out."""
    raise KeyboardInterrupt(f"signal {signum}")


class Bench:
    """One run of the harness: its options, where its files go, and what it measured."""

    def __init__(self, options: Options, console: Console, redis: RedisClient) -> None:
        self.options = options
        self.console = console
        self.redis = redis
        self.prefixes = Prefixes(options.prefix)
        self.work = options.work_dir.resolve()
        self.work.mkdir(parents=True, exist_ok=True)
        self.dirs = OnetimeDirs(self.work / "data", counters_directory(self.work))
        self.timings: dict[str, float] = {}
        self.results = Results()
        self.main_server_specs: list[ServerSpec] = []

    def log(self, message: str) -> None:
        self.console.print(message, highlight=False)

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.timings[name] = round(time.monotonic() - started, 1)

    def run_all(self) -> None:
        """The parts in order; the stores are cleaned up whatever happens."""
        try:
            with self.timed("throughput_s"):
                self.run_main()
            if not self.options.skip_memory:
                with self.timed("memory_s"):
                    self.run_memory()
            if not self.options.skip_full:
                self.run_full()
        finally:
            with self.timed("clean_up_s"):
                self.clean_up()

    def plan(
        self,
        specs: list[ServerSpec],
        scenarios: Sequence[Scenario],
        keys: str,
        started: Mapping[str, RunningServer],
    ) -> RoundPlan:
        return RoundPlan(
            servers=specs,
            scenarios=scenarios,
            rounds=self.options.rounds,
            duration_s=self.options.duration_s,
            warmup_s=self.options.warmup_s,
            keys_dir=self.work / keys,
            helper_processes=cpu_count(),
            # Every server leads a process group of its own (servers.py): its pid names it.
            groups={name: server.process.pid for name, server in started.items()},
            redis_pid=local_redis_pid(*self.redis.process_identity()),
        )

    def onetime(self, name: str, store: str, location: str | Path, workers: int) -> ServerSpec:
        """An onetime server on a Redis prefix (store "redis") or a SQLite file ("sqlite")."""
        url = redis_url(str(location)) if store == "redis" else sqlite_url(Path(location))
        return onetime_spec(name, store, url, str(location), self.dirs, workers)

    def fresh_stores(self, specs: list[ServerSpec]) -> None:
        """Each server starts on an empty store: its Redis prefix emptied, its file removed."""
        for spec in specs:
            if spec.store == "redis":
                self.redis.delete_prefix(spec.store_location)
            else:
                remove_database(Path(spec.store_location))

    # -- throughput ----------------------------------------------------------------------------

    def main_specs(self) -> list[ServerSpec]:
        workers = self.options.workers
        specs = [] if self.options.smoke else [snappass_spec("snappass", self.prefixes.snappass)]
        specs.append(self.onetime("onetime-redis", "redis", self.prefixes.onetime, workers))
        specs.append(
            self.onetime("onetime-sqlite", "sqlite", self.work / "onetime.sqlite3", workers)
        )
        return specs

    def run_main(self) -> None:
        specs = self.main_server_specs = self.main_specs()
        self.fresh_stores(specs)
        self.log(f"[bold]Throughput[/bold]: {', '.join(spec.name for spec in specs)}")
        with running(specs, self.work / "logs") as started:
            plan = self.plan(specs, MAIN_SCENARIOS, "keys", started)
            measurements = run_rounds(plan, self.log)
        self.results.measurements = measurements
        self.results.summaries = summarize(measurements)
        # Emptied again before the memory part, which measures how much Redis grows: left here,
        # this part's keys (a hundred thousand or more) made the next doubling of Redis's key
        # tables fall inside that part in some runs and not in others (1,824 to 1,908 bytes a
        # secret in three runs).
        self.fresh_stores(specs)

    # -- memory --------------------------------------------------------------------------------

    def run_memory(self) -> None:
        count, size, processes = self.options.memory_count, MEMORY_CONTENT_BYTES, cpu_count()
        self.log(f"[bold]Memory[/bold]: {count:,} secrets of {size} bytes per store")
        onetime_redis = self.onetime("onetime-redis", "redis", self.prefixes.memory_onetime, 1)
        snappass = snappass_spec("snappass", self.prefixes.memory_snappass)
        onetime_sqlite = self.onetime("onetime-sqlite", "sqlite", self.work / "memory.sqlite3", 1)
        # The SQLite file fills meanwhile: it writes nothing to Redis, so Redis's used_memory
        # sees only the Redis store being measured, and the part ends about half a minute sooner.
        with ThreadPoolExecutor(max_workers=1) as background:
            sqlite_result = background.submit(
                measure_sqlite, onetime_sqlite, count, size, processes
            )
            results = [
                measure_redis(spec, count, size, processes, self.redis)
                for spec in (onetime_redis, snappass)
            ]
            results.append(sqlite_result.result())
        for result in results:
            self.log(
                f"  {result.server:<16} {result.bytes_per_secret:8.0f} bytes/secret "
                f"({result.measured}; {count:,} stored in {result.seconds} s)"
            )
        self.results.memory = results

    # -- a million stored secrets ------------------------------------------------------------

    def fill_full_stores(self) -> list[FillResult]:
        count = self.options.full_count
        self.log(f"[bold]Full store[/bold]: filling {count:,} secrets into Redis and SQLite")
        started = time.monotonic()
        fills = fill_stores(
            self.prefixes.full, self.work / "full.sqlite3", count, self.dirs, self.redis
        )
        for fill in fills:
            self.log_fill(fill)
        self.log(f"  both filled in {time.monotonic() - started:.1f} s")
        return fills

    def log_fill(self, fill: FillResult) -> None:
        self.log(
            f"  {fill.store:<7} {fill.count:,} secrets in {fill.seconds} s "
            f"= {fill.rate_per_s:,.0f}/s ({fill.processes} process(es))"
        )

    def full_specs(self) -> list[ServerSpec]:
        workers, prefixes = self.options.workers, self.prefixes
        return [
            self.onetime("onetime-redis-empty", "redis", prefixes.empty, workers),
            self.onetime("onetime-redis-full", "redis", prefixes.full, workers),
            self.onetime("onetime-sqlite-empty", "sqlite", self.work / "empty.sqlite3", workers),
            self.onetime("onetime-sqlite-full", "sqlite", self.work / "full.sqlite3", workers),
        ]

    def full_key_budget(self) -> KeyBudget:
        """Starts from the throughput part's rates: the same code on the same kinds of store."""
        budget = KeyBudget(self.options.duration_s)
        specs = {spec.name: spec for spec in self.main_server_specs}
        for measurement in self.results.measurements:
            spec = specs[measurement.server]
            budget.record(family(spec), measurement.scenario, measurement.result.rps)
        return budget

    def run_full(self) -> None:
        with self.timed("full_fill_s"):
            self.results.fills = self.fill_full_stores()
        specs = self.full_specs()
        self.fresh_stores([spec for spec in specs if spec.name.endswith("-empty")])
        self.log("[bold]Full store[/bold]: each empty-store server, then its full-store twin")
        with self.timed("full_runs_s"), running(specs, self.work / "logs") as started:
            plan = self.plan(specs, FULL_STORE_SCENARIOS, "keys-full", started)
            measurements = run_rounds(plan, self.log, self.full_key_budget())
        summaries = summarize(measurements)
        pairs = {
            "redis": ("onetime-redis-empty", "onetime-redis-full"),
            "sqlite": ("onetime-sqlite-empty", "onetime-sqlite-full"),
        }
        self.results.full_measurements = measurements
        self.results.full_summaries = summaries
        self.results.comparisons = compare(summaries, pairs)

    def clean_up(self) -> None:
        """Free what the run stored: its Redis keys, the large SQLite files, the counters."""
        self.redis.delete_prefixes(*self.prefixes.all())
        for name in ("onetime.sqlite3", "memory.sqlite3", "empty.sqlite3", "full.sqlite3"):
            remove_database(self.work / name)
        shutil.rmtree(self.dirs.counters, ignore_errors=True)


def options_json(options: Options) -> dict[str, Any]:
    return {
        name: repository_relative(value) if isinstance(value, Path) else value
        for name, value in asdict(options).items()
    }


def run(options: Options, console: Console) -> dict[str, Any]:
    """The whole benchmark: print the tables, write the JSON file, and return its content."""
    started = time.monotonic()
    with RedisClient() as redis:
        busy = other_cpu_use_percent()
        if busy > BUSY_WARNING_PERCENT:
            console.print(
                f"[yellow]warning:[/yellow] {busy:.0f} % of the CPU was in use before the "
                "benchmark started: other work will lower and scatter the numbers"
            )
        if not options.smoke and ensure_snappass_venv():
            console.print("installed snappass into bench/.venv-snappass")
        bench = Bench(options, console, redis)
        machine = machine_info(redis, with_snappass=not options.smoke)
        machine["cpu_in_use_before_percent"] = round(busy, 1)
        bench.run_all()
        machine["load_average_after"] = load_average()
        bench.timings["total_s"] = round(time.monotonic() - started, 1)
        document = {
            "options": options_json(options),
            "machine": machine,
            **bench.results.to_json(),
            "timings": bench.timings,
        }
        write_json(options.json_path, document)
        print_tables(console, bench.results, options.duration_s, options.rounds)
        console.print(f"wrote {options.json_path}; took {started_ago(started)}", highlight=False)
    return document


def started_ago(started: float) -> str:
    minutes, seconds = divmod(round(time.monotonic() - started), 60)
    return f"{minutes} min {seconds} s"


@contextmanager
def work_dir_lock(work_dir: Path) -> Iterator[bool]:
    """Hold an exclusive lock on the work directory; yields False when another run holds it.

    Two runs on one work directory would also share Redis prefixes and SQLite files, and
    each would empty the other's stores."""
    work_dir.mkdir(parents=True, exist_ok=True)
    with (work_dir / ".lock").open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


def check_tools() -> str | None:
    """Why the benchmark cannot run here, or None when it can."""
    if shutil.which("wrk") is None:
        return "wrk is not installed (apt-get install -y wrk, or run `make bench`)"
    try:
        with RedisClient(timeout=2) as redis:
            redis.command("PING")
    except RedisError as error:
        return f"{error} (start redis-server, or run `make bench`)"
    return None


def main(argv: list[str]) -> int:
    options = parse_args(argv)
    # Piped output (make, CI logs) gets room for the tables instead of Rich's 80 columns.
    console = Console() if sys.stdout.isatty() else Console(width=150)
    problem = check_tools()
    if problem:
        console.print(f"[red]cannot benchmark:[/red] {problem}")
        return 2
    # SIGINT too: a shell starts background jobs with it ignored, and Python then keeps it so.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_on_signal)
    try:
        with work_dir_lock(options.work_dir) as locked:
            if not locked:
                console.print(
                    f"[red]cannot benchmark:[/red] another bench/run.py is using "
                    f"{options.work_dir} (and its Redis keys); wait for it to finish"
                )
                return 2
            run(options, console)
    except KeyboardInterrupt:
        console.print("[red]interrupted[/red]: servers stopped, Redis keys removed")
        return 130
    finally:
        if options.temporary_work_dir:
            shutil.rmtree(options.work_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
