"""Faults, with real processes only: Redis going away under load, SQLite workers and whole
servers SIGKILLed mid-load, and a data directory that is full or read-only.

What every fault here is held to:
- nothing hangs: while the store is gone, each request is answered 503 within
  OUTAGE_ANSWER_BOUND seconds, and every load client finishes once the load stops;
- no 5xx but 503, no dropped connection unless we killed the process serving it, and no
  traceback in the server's log;
- no secret is handed out twice, and every secret whose creation was answered 200 and that was
  not revealed meanwhile is revealable exactly once afterwards (then 404);
- on SQLite, the file passes `PRAGMA integrity_check`.

A reveal that was under way when the fault struck may have been carried out without its answer
reaching the client (the process died, or Redis ran it and then vanished). Such a secret may be
gone afterwards (it was consumed once, and nobody saw it) or still there; it must never come
back a second time.

How the faults are made, without mocks: a private redis-server (append-only file, fsync on every
write) is stopped by SIGTERM, SIGKILL or frozen by SIGSTOP, then restarted on the same directory
and port (or thawed). Worker processes are found among the server's children in /proc. A full
disk is a small tmpfs filled to ENOSPC when this machine lets us mount one; without that
privilege (a container in CI), a file-size limit set on the running workers with prlimit, which
makes every write to a file fail (EFBIG), as a full disk does. A read-only data directory is a
tmpfs remounted read-only, or else a read-only system mount (/sys, /proc/sys in containers).
A data directory cannot be made read-only under a running server (the kernel refuses to remount
while files are open for writing), so read-only is tested where it happens: at startup.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from secrets import token_hex

import httpx
import pytest

from tests.conftest import TEST_SECRET, free_port, server_env
from tests.services import wait_for_port
from tests.system.workers import child_processes

pytestmark = pytest.mark.slow

IN_CI = os.environ.get("CI") == "true"
CLIENTS = 16  # concurrent load clients against the Redis-backed server
SQLITE_CLIENTS = 8  # against SQLite, where every commit is an fsync
WARMUP = 2.0  # seconds of load before the fault
OUTAGE = 2.0  # seconds Redis stays down
OUTAGE_ANSWER_BOUND = 2.5  # seconds for any request made while Redis is down or frozen
HANG_BOUND = 5.0  # seconds no request of a run may reach, fault or not (a busy machine stalls)
RECOVERY_BOUND = 5.0  # seconds after Redis is back by which every request succeeds again
LOAD_DEADLINE = 10.0  # seconds the load clients get to finish once told to stop
REQUEST_TIMEOUT = 15.0  # a request slower than this is reported as a hang
UNAVAILABLE = "The service is temporarily unavailable. Please try again shortly."
BIG = 9_000  # bytes in a secret that must need fresh pages on a full disk (the limit is 10,000)


# -- servers ------------------------------------------------------------------------------------


@dataclass
class Server:
    """One `onetime serve` process group of ours. Its output goes through a pipe to a `cat`
    writing `log_path`: a file-size limit set on the server does not touch a pipe, and the log
    keeps up however busy this process is."""

    url: str
    process: subprocess.Popen[bytes]
    sink: subprocess.Popen[bytes]
    data_dir: Path
    log_path: Path

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def workers(self) -> list[int]:
        """The live worker processes (uvicorn's supervisor spawns them with multiprocessing)."""
        return child_processes(self.process.pid, b"spawn_main")

    def kill(self) -> None:
        """SIGKILL to the whole group at once: supervisor and workers, no chance to clean up."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=15)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
        # Whatever of the group is left (a worker that outlived its supervisor) goes too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=15)
        try:
            self.sink.wait(timeout=15)  # ends at the pipe's end, once every writer is gone
        except subprocess.TimeoutExpired:
            self.sink.kill()
            self.sink.wait()


def launch(
    data_dir: Path,
    log_path: Path,
    *,
    workers: int = 2,
    store_url: str | None = None,
    port: int | None = None,
) -> Server:
    """Start `onetime serve` in its own process group; return once it answers, warmed up."""
    port = port or free_port()
    env = server_env(
        data_dir,
        {
            "ONETIME_CREATE_LIMIT": "0",  # the load creates far more than a person would
            "ONETIME_REVEAL_GUESS_LIMIT": "0",  # and checks afterwards that thousands are gone
            "ONETIME_LOG_LEVEL": "info",
        },
    )
    if store_url is not None:
        env["ONETIME_STORE_URL"] = store_url
    with log_path.open("ab") as log:
        sink = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=log)
    assert sink.stdin is not None
    command = [sys.executable, "-m", "onetime", "serve", "--port", str(port)]
    try:
        process = subprocess.Popen(
            [*command, "--workers", str(workers)],
            env=env,
            stdout=sink.stdin,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        sink.stdin.close()  # the server holds the pipe now; `cat` ends when it lets go
    server = Server(f"http://127.0.0.1:{port}", process, sink, data_dir, log_path)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"onetime serve exited early:\n{server.logs()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                    _warm_up(server.url)
                    return server
            time.sleep(0.1)
        raise RuntimeError(f"onetime serve did not become healthy:\n{server.logs()}")
    except BaseException:
        server.stop()
        raise


def _warm_up(url: str) -> None:
    """A few creations and reveals on each route, concurrent so both workers see some: a
    worker's first requests are slow (lazy imports), and a fault test must not time those."""

    def pair(n: int) -> None:
        with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT) as http:
            key = http.post("/api/v1/share", data={"secret": "warm"}).json()["secret_key"]
            http.post(f"/api/v2/secret/{key}/reveal", json={})
            body = {"secret": {"secret": "warm"}}
            record = http.post("/api/v2/secret/conceal", json=body).json()["record"]
            http.post(f"/api/v1/secret/{record['secret']['key']}")

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(pair, range(8)))


def assert_clean_log(server: Server, ledger: Ledger | None = None) -> None:
    """No traceback, no unexpected error, and none of the run's secrets or keys in the log."""
    logs = server.logs()
    assert "Traceback" not in logs
    assert "unhandled" not in logs
    assert " ERROR " not in logs, [line for line in logs.splitlines() if " ERROR " in line][:5]
    if ledger is not None:
        assert "fault-" not in logs  # every secret of the load starts so
        tokens = set(re.findall(r"[0-9a-z]{20,}", logs))
        assert not tokens & ledger.acknowledged.keys()


def integrity(database: Path) -> list[tuple[str]]:
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return db.execute("PRAGMA integrity_check").fetchall()
    finally:
        db.close()


# -- load and the ledger of what it was told ----------------------------------------------------


@dataclass
class Call:
    action: str  # "create" or "reveal"
    started: float
    finished: float
    status: int | None  # None: no HTTP answer at all (the connection broke)

    @property
    def seconds(self) -> float:
        return self.finished - self.started


@dataclass
class Ledger:
    """Every request of a run, every acknowledged secret, and every value handed out."""

    calls: list[Call] = field(default_factory=list)
    acknowledged: dict[str, str] = field(default_factory=dict)  # secret key -> its value
    reveal_answer: dict[str, int | None] = field(default_factory=dict)  # during the run
    handed_out: Counter[str] = field(default_factory=Counter)  # value -> times revealed
    mismatched: int = 0  # reveals that answered another secret's value

    def statuses(self, start: float = 0.0, end: float = float("inf")) -> Counter[int | None]:
        return Counter(c.status for c in self.calls if start <= c.started and c.finished <= end)


async def create(http: httpx.AsyncClient, ledger: Ledger, value: str, v2: bool) -> str | None:
    started = time.monotonic()
    try:
        if v2:
            body = {"secret": {"secret": value, "ttl": 3600}}
            response = await http.post("/api/v2/secret/conceal", json=body)
        else:
            response = await http.post("/api/v1/share", data={"secret": value, "ttl": "3600"})
    except httpx.TransportError:
        ledger.calls.append(Call("create", started, time.monotonic(), None))
        return None
    ledger.calls.append(Call("create", started, time.monotonic(), response.status_code))
    if response.status_code != 200:
        return None
    answer = response.json()
    key: str = answer["record"]["secret"]["key"] if v2 else answer["secret_key"]
    ledger.acknowledged[key] = value
    return key


async def reveal(http: httpx.AsyncClient, ledger: Ledger, key: str, v2: bool) -> int | None:
    started = time.monotonic()
    try:
        if v2:
            response = await http.post(f"/api/v2/secret/{key}/reveal", json={})
        else:
            response = await http.post(f"/api/v1/secret/{key}")
    except httpx.TransportError:
        ledger.calls.append(Call("reveal", started, time.monotonic(), None))
        return None
    ledger.calls.append(Call("reveal", started, time.monotonic(), response.status_code))
    if response.status_code == 200:
        answer = response.json()
        value = answer["record"]["secret_value"] if v2 else answer["value"]
        ledger.handed_out[value] += 1
        if value != ledger.acknowledged[key]:
            ledger.mismatched += 1
    return response.status_code


async def _load_client(
    http: httpx.AsyncClient, ledger: Ledger, n: int, stop: asyncio.Event
) -> None:
    """Create, and reveal every second secret at once, until told to stop; v1 and v2 in turn."""
    i = 0
    while not stop.is_set():
        i += 1
        v2 = (n + i) % 2 == 0
        key = await create(http, ledger, f"fault-{n}-{i}-{token_hex(6)}", v2)
        if key is not None and i % 2 == 0:
            answer = await reveal(http, ledger, key, not v2)
            ledger.reveal_answer[key] = answer
            failed = answer != 200
        else:
            failed = key is None
        if failed:
            await asyncio.sleep(0.1)  # as a client would: a fast failure is not a busy loop


async def run_load(
    url: str, ledger: Ledger, fault: Callable[[], Awaitable[None]], clients: int
) -> None:
    """Run `clients` load clients while `fault` runs; stop them when it returns."""
    stop = asyncio.Event()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=REQUEST_TIMEOUT) as http:
        tasks = [asyncio.create_task(_load_client(http, ledger, n, stop)) for n in range(clients)]
        try:
            await fault()
        finally:
            stop.set()
            done, pending = await asyncio.wait(tasks, timeout=LOAD_DEADLINE)
            for task in pending:
                task.cancel()
        assert not pending, f"{len(pending)} load clients hang {LOAD_DEADLINE} s after the stop"
        for task in done:
            task.result()


def timeline(ledger: Ledger, marks: dict[str, float]) -> str:
    """The slowest requests and the marks, in seconds from the first request: for failures."""
    zero = min(call.started for call in ledger.calls)
    slow = sorted(ledger.calls, key=lambda call: call.seconds)[-5:]
    shown = [
        f"{c.action} {c.status} from {c.started - zero:.2f} to {c.finished - zero:.2f}"
        for c in slow
    ]
    points = {name: round(at - zero, 2) for name, at in marks.items()}
    return f"slowest requests: {shown}; marks: {points}"


@dataclass
class Tally:
    acknowledged: int
    untouched: int  # never revealed during the run: each must be revealable once now
    revealed: int  # revealed during the run: each must be gone now
    uncertain: int  # a reveal was under way when the fault struck
    uncertain_still_there: int


async def check_exactly_once(url: str, ledger: Ledger) -> Tally:
    """Reveal every acknowledged secret again and hold each to exactly once over the whole run."""
    untouched = [key for key in ledger.acknowledged if key not in ledger.reveal_answer]
    revealed = [key for key, answer in ledger.reveal_answer.items() if answer == 200]
    uncertain = [key for key, answer in ledger.reveal_answer.items() if answer != 200]
    outcomes: dict[str, list[int | None]] = {}
    gate = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT) as http:

        async def reveal_until_gone(key: str, v2: bool) -> None:
            async with gate:
                first = await reveal(http, ledger, key, v2)
                outcomes[key] = [first]
                if first == 200:
                    outcomes[key].append(await reveal(http, ledger, key, not v2))

        await asyncio.gather(
            *(
                reveal_until_gone(key, n % 2 == 0)
                for n, key in enumerate([*untouched, *revealed, *uncertain])
            )
        )
    assert ledger.mismatched == 0, "a reveal answered another secret's value"
    twice = [value for value, times in ledger.handed_out.items() if times > 1]
    assert not twice, f"{len(twice)} secrets were revealed more than once"
    lost = sum(outcomes[key] != [200, 404] for key in untouched)
    assert lost == 0, f"{lost} of {len(untouched)} acknowledged, unrevealed secrets are not there"
    back = Counter(str(outcomes[key]) for key in revealed if outcomes[key] != [404])
    assert not back, f"revealed secrets answered {back} afterwards"
    odd = Counter(
        str(outcomes[key]) for key in uncertain if outcomes[key] not in ([200, 404], [404])
    )
    assert not odd, f"uncertain secrets answered {odd} afterwards"
    return Tally(
        len(ledger.acknowledged),
        len(untouched),
        len(revealed),
        len(uncertain),
        sum(outcomes[key] == [200, 404] for key in uncertain),
    )


# -- 1. Redis goes away in the middle of a load -------------------------------------------------


class PrivateRedis:
    """A redis-server of this test's own: append-only, fsync before every acknowledgement."""

    def __init__(self, directory: Path) -> None:
        if shutil.which("redis-server") is None:
            message = "redis-server is not installed (apt-get install redis-server)"
            if IN_CI:
                pytest.fail(message)
            pytest.skip(message)
        directory.mkdir()
        self.port = free_port()
        self.command = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(directory), "--appendonly", "yes", "--appendfsync", "always",
            "--save", "",
        ]  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL)
        wait_for_port(self.port)

    def send(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)
        if signum in (signal.SIGTERM, signal.SIGKILL):
            self.process.wait(timeout=15)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a frozen one cannot act on SIGTERM
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.mark.parametrize("fault", ["SIGTERM", "SIGKILL", "SIGSTOP"])
async def test_a_redis_outage_under_load_fails_fast_recovers_and_loses_nothing(
    tmp_path: Path, fault: str
) -> None:
    """Redis stops (or freezes) for OUTAGE seconds while CLIENTS clients create and reveal."""
    signum = signal.Signals[fault]
    redis = PrivateRedis(tmp_path / "redis")
    server: Server | None = None
    marks: dict[str, float] = {}
    ledger = Ledger()
    try:
        await asyncio.to_thread(redis.start)
        # The store's timeout (the URL's `timeout`) is 1 s by default. Refused connections fail
        # at once; a frozen Redis costs the timeout twice (redis-py retries once), so that
        # variant runs with 0.5 s to leave the same room under OUTAGE_ANSWER_BOUND.
        store_url = redis.url + ("?timeout=0.5" if signum == signal.SIGSTOP else "")
        server = await asyncio.to_thread(
            launch, tmp_path / "data", tmp_path / "server.log", store_url=store_url
        )
        url = server.url

        async def outage() -> None:
            await asyncio.sleep(WARMUP)
            marks["signal"] = time.monotonic()
            await asyncio.to_thread(redis.send, signum)
            marks["down"] = time.monotonic()  # gone (or frozen) from here on
            await asyncio.sleep(OUTAGE)
            marks["restart"] = time.monotonic()
            if signum == signal.SIGSTOP:
                redis.send(signal.SIGCONT)
            else:
                await asyncio.to_thread(redis.start)  # same directory: the AOF replays
            marks["back"] = time.monotonic()
            async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT) as probe:
                while (await probe.get(f"{url}/health")).status_code != 200:
                    waited = time.monotonic() - marks["back"]
                    assert waited < RECOVERY_BOUND, "/health is not 200 again"
                    await asyncio.sleep(0.05)
            marks["healthy"] = time.monotonic()
            # Load on, so that what happens RECOVERY_BOUND seconds after is seen, not assumed.
            await asyncio.sleep(marks["back"] + RECOVERY_BOUND + 1.5 - time.monotonic())

        await run_load(url, ledger, outage, CLIENTS)

        everything = ledger.statuses()
        assert set(everything) <= {200, 503}, everything  # no 404, no 500, no dropped connection
        slowest = max(call.seconds for call in ledger.calls)
        assert slowest < HANG_BOUND, timeline(ledger, marks)
        made_during = [c for c in ledger.calls if marks["down"] <= c.started < marks["restart"]]
        slowest_during = max(call.seconds for call in made_during)
        assert slowest_during < OUTAGE_ANSWER_BOUND, timeline(ledger, marks)
        during = ledger.statuses(marks["down"], marks["restart"])
        assert set(during) <= {503}, during  # everything answered while Redis was away
        refused = everything[503]
        assert refused >= CLIENTS, timeline(ledger, marks)  # each client met the outage
        before = ledger.statuses(0, marks["signal"])
        assert set(before) == {200}, before
        assert before[200] >= 20, before
        late = ledger.statuses(marks["back"] + RECOVERY_BOUND)
        assert set(late) == {200}, late
        assert late[200] >= 20, late
        failures_after = [
            c.finished for c in ledger.calls if c.status != 200 and c.finished > marks["back"]
        ]
        recovery = max(failures_after, default=marks["back"]) - marks["back"]
        assert recovery < RECOVERY_BOUND

        tally = await check_exactly_once(url, ledger)
        assert tally.untouched >= 20
        print(
            f"\nRedis {fault}: {len(ledger.calls)} requests, {refused} answered 503;"
            f" made during the outage: slowest {slowest_during:.3f} s, in all {slowest:.3f} s; /health 200 after"
            f" {marks['healthy'] - marks['back']:.3f} s, last failure {recovery:.3f} s after"
            f" Redis was back; {tally}"
        )
    finally:
        if server is not None:
            await asyncio.to_thread(server.stop)
        await asyncio.to_thread(redis.stop)
    assert server is not None
    assert_clean_log(server, ledger)


# -- 2. SQLite: a worker, or the whole server, SIGKILLed mid-load -------------------------------


async def test_a_worker_sigkilled_under_load_on_sqlite_loses_no_acknowledged_secret(
    tmp_path: Path,
) -> None:
    """uvicorn's supervisor replaces a dead worker; the other one serves meanwhile."""
    data = tmp_path / "data"
    server = await asyncio.to_thread(launch, data, tmp_path / "server.log")
    marks: dict[str, float] = {}
    ledger = Ledger()
    try:
        workers = server.workers()
        assert len(workers) == 2

        async def kill_one_worker() -> None:
            await asyncio.sleep(WARMUP)
            marks["kill"] = time.monotonic()
            os.kill(workers[0], signal.SIGKILL)
            while True:
                now = server.workers()
                if len(now) == 2 and workers[0] not in now:
                    replacement = (set(now) - set(workers)).pop()
                    break
                assert time.monotonic() - marks["kill"] < 30, "the dead worker was not replaced"
                await asyncio.sleep(0.1)
            while f"Started server process [{replacement}]" not in server.logs():
                assert time.monotonic() - marks["kill"] < 60, "the replacement does not start"
                await asyncio.sleep(0.1)
            marks["replaced"] = time.monotonic()
            await asyncio.sleep(1.0)

        await run_load(server.url, ledger, kill_one_worker, SQLITE_CLIENTS)

        assert set(ledger.statuses()) <= {200, None}, ledger.statuses()
        broken = [c for c in ledger.calls if c.status is None]
        # Only requests that the killed worker was serving (or had just been handed) break.
        assert all(marks["kill"] - REQUEST_TIMEOUT < c.started < marks["kill"] + 1 for c in broken)
        assert len(broken) <= 2 * SQLITE_CLIENTS
        # Whatever started after the kill and before the replacement ran was the survivor's.
        meanwhile = ledger.statuses(marks["kill"], marks["replaced"])
        assert meanwhile[200] > 0, "the surviving worker did not serve while the other was down"
        tally = await check_exactly_once(server.url, ledger)
        assert tally.untouched >= 20
        print(
            f"\nworker SIGKILL: {len(ledger.calls)} requests, {len(broken)} broken, replaced"
            f" after {marks['replaced'] - marks['kill']:.1f} s, {meanwhile[200]} answered"
            f" meanwhile; {tally}"
        )
    finally:
        await asyncio.to_thread(server.stop)
    assert integrity(data / "onetime.sqlite3") == [("ok",)]
    assert_clean_log(server, ledger)


async def test_the_whole_server_sigkilled_under_load_on_sqlite_restarts_with_every_acknowledged_secret(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    server = await asyncio.to_thread(launch, data, tmp_path / "server.log")
    restarted: Server | None = None
    marks: dict[str, float] = {}
    ledger = Ledger()
    try:

        async def kill_everything() -> None:
            await asyncio.sleep(WARMUP)
            marks["kill"] = time.monotonic()
            await asyncio.to_thread(server.kill)
            marks["dead"] = time.monotonic()

        await run_load(server.url, ledger, kill_everything, SQLITE_CLIENTS)
        before = ledger.statuses(0, marks["kill"])
        assert set(before) == {200}, before
        assert before[200] >= 20, before
        after = ledger.statuses(marks["dead"])
        assert set(after) <= {None}, after  # nothing answers a killed server, not even a 5xx
        assert_clean_log(server, ledger)

        # The same data directory, with whatever the kill left (the WAL, the lock file).
        restarted = await asyncio.to_thread(launch, data, tmp_path / "restarted.log")
        tally = await check_exactly_once(restarted.url, ledger)
        assert tally.untouched >= 20
        print(f"\nserver SIGKILL: {len(ledger.calls)} requests; {tally}")
    finally:
        await asyncio.to_thread(server.stop)
        if restarted is not None:
            await asyncio.to_thread(restarted.stop)
    assert integrity(data / "onetime.sqlite3") == [("ok",)]
    assert restarted is not None
    assert_clean_log(restarted, ledger)


# -- 3. A full or read-only data directory on SQLite --------------------------------------------


@functools.cache
def mount_refusal() -> str | None:
    """Why this machine will not let us mount a tmpfs, or None when it will."""
    if shutil.which("mount") is None or shutil.which("umount") is None:
        return "mount/umount are not installed"
    probe = Path(tempfile.mkdtemp(prefix="onetime-mount-probe-"))
    try:
        tried = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "onetime-probe", str(probe)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if tried.returncode != 0:
            return f"mounting a tmpfs is not permitted here: {tried.stderr.strip()}"
        subprocess.run(["umount", str(probe)], check=True)
        return None
    finally:
        probe.rmdir()


@contextlib.contextmanager
def tmpfs(target: Path, size: str) -> Iterator[Path]:
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "onetime-test", str(target)],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield target
    finally:
        if subprocess.run(["umount", str(target)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(target)], check=False)


def fill(directory: Path) -> int:
    """Write a filler file until the filesystem is full (ENOSPC); return its size."""
    written = 0
    with (directory / "filler").open("wb", buffering=0) as filler:
        for block in (65536, 4096, 512, 1):
            try:
                while True:
                    written += filler.write(b"\0" * block)
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
    return written


def limit_file_size(pids: list[int], soft: int) -> None:
    """Set the file-size limit of running processes (only the soft one: no privilege needed)."""
    for pid in pids:
        _, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (soft, hard))


def choose(method: str) -> str:
    """`method`, or the file-size limit in CI when this machine refuses mounts."""
    if method != "tmpfs" or (refusal := mount_refusal()) is None:
        return method
    if IN_CI:
        return "file-size-limit"
    pytest.skip(refusal)


def _post_big(client: httpx.Client, surface: str, n: int) -> httpx.Response:
    content = f"fault-big-{n}-" + "x" * BIG
    if surface == "v1":
        return client.post("/api/v1/share", data={"secret": content, "ttl": "3600"})
    if surface == "v2":
        return client.post("/api/v2/secret/conceal", json={"secret": {"secret": content}})
    return client.post("/", data={"secret": content, "ttl": "3600"})


@pytest.mark.parametrize("method", ["tmpfs", "file-size-limit"])
def test_a_full_disk_answers_a_clear_503_and_corrupts_nothing(tmp_path: Path, method: str) -> None:
    method = choose(method)
    data = tmp_path / "data"
    with contextlib.ExitStack() as cleanup:
        if method == "tmpfs":
            cleanup.enter_context(tmpfs(data, "8m"))
        server = launch(data, tmp_path / "server.log")
        cleanup.callback(server.stop)
        workers = server.workers()
        http = cleanup.enter_context(
            httpx.Client(
                base_url=server.url, timeout=REQUEST_TIMEOUT, headers={"Accept-Language": "en"}
            )
        )
        acknowledged: dict[str, str] = {}
        for n in range(20):
            created = http.post("/api/v1/share", data={"secret": f"fault-before-{n}"})
            acknowledged[created.json()["secret_key"]] = f"fault-before-{n}"
        guarded = http.post(
            "/api/v2/secret/conceal",
            json={"secret": {"secret": "fault-guarded", "passphrase": "open sesame"}},
        ).json()["record"]["secret"]["key"]

        if method == "tmpfs":
            fill(data)
        else:
            limit_file_size(workers, 0)
        # The first writes may still fit in pages SQLite holds already; soon none does.
        for n in range(200):
            answer = _post_big(http, "v1", n)
            if answer.status_code != 200:
                break
            acknowledged[answer.json()["secret_key"]] = f"fault-big-{n}-" + "x" * BIG
        assert answer.status_code == 503, answer.text

        v1 = _post_big(http, "v1", 1000)
        assert v1.status_code == 503
        assert v1.json() == {"message": UNAVAILABLE}
        assert v1.headers["X-OTS-Intended-Status"] == "503"
        v2 = _post_big(http, "v2", 1001)
        assert v2.status_code == 503
        assert v2.json() == {"error": UNAVAILABLE, "error_type": "unavailable"}
        page = _post_big(http, "web", 1002)
        assert page.status_code == 503
        assert page.headers["content-type"].startswith("text/html")
        assert UNAVAILABLE in page.text
        assert "Traceback" not in page.text
        # A reveal is a write too: it fails the same way and consumes nothing.
        some_key = next(iter(acknowledged))
        assert http.post(f"/api/v2/secret/{some_key}/reveal", json={}).status_code == 503
        reveal_page = http.post(f"/secret/{some_key}")
        assert reveal_page.status_code == 503
        assert UNAVAILABLE in reveal_page.text
        opened = http.post(f"/api/v2/secret/{guarded}/reveal", json={"passphrase": "open sesame"})
        assert opened.status_code == 503
        # The server stays up, with the same workers, and serves what needs no writing.
        assert server.process.poll() is None
        assert server.workers() == workers
        assert http.get("/").status_code == 200

        if method == "tmpfs":
            (data / "filler").unlink()
        else:
            limit_file_size(workers, resource.RLIM_INFINITY)
        after = http.post("/api/v1/share", data={"secret": "fault-after"})
        assert after.status_code == 200
        acknowledged[after.json()["secret_key"]] = "fault-after"
        for key, value in acknowledged.items():
            first = http.post(f"/api/v1/secret/{key}")
            assert (first.status_code, first.json().get("value")) == (200, value)
            assert http.post(f"/api/v1/secret/{key}").status_code == 404
        opened = http.post(f"/api/v2/secret/{guarded}/reveal", json={"passphrase": "open sesame"})
        assert opened.json()["record"]["secret_value"] == "fault-guarded"

        server.stop()  # and only then look at the file (on the tmpfs, before it goes)
        assert integrity(data / "onetime.sqlite3") == [("ok",)]
    logs = server.logs()
    causes = ("database or disk is full", "disk I/O error")  # ENOSPC; EFBIG
    assert any(f"store unavailable: the SQLite store failed: {c}" in logs for c in causes)
    assert_clean_log(server)
    assert "fault-" not in logs
    assert "open sesame" not in logs


# -- 3b. … and at startup -----------------------------------------------------------------------


def serve_once(
    data: Path, *, file_size_limit: int | None = None
) -> subprocess.CompletedProcess[str]:
    """`onetime serve` on `data`, expected to refuse to start (stderr is a pipe, never a file)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONETIME_")}
    env.update(ONETIME_DATA_DIR=str(data), ONETIME_SECRET=TEST_SECRET)
    command = [sys.executable, "-m", "onetime", "serve", "--port", str(free_port())]
    if file_size_limit is not None:
        # Set in the child itself, just before it becomes `onetime serve`.
        wrapper = (
            "import os, resource, sys; "
            "resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), resource.RLIM_INFINITY)); "
            "os.execv(sys.executable, [sys.executable, *sys.argv[2:]])"
        )
        command = [sys.executable, "-c", wrapper, str(file_size_limit), *command[1:]]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)


def assert_one_clear_line(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("onetime: cannot open the SQLite store at ")
    for text in expected:
        assert text in lines[0], lines[0]


@pytest.mark.parametrize("method", ["tmpfs", "file-size-limit"])
def test_a_full_data_directory_at_startup_is_one_clear_line(tmp_path: Path, method: str) -> None:
    method = choose(method)
    data = tmp_path / "data"
    if method == "tmpfs":
        with tmpfs(data, "256k"):
            fill(data)
            result = serve_once(data)
        assert_one_clear_line(result, str(data), "database or disk is full")
    else:
        result = serve_once(data, file_size_limit=0)
        assert_one_clear_line(result, str(data), "disk I/O error")


def _read_only_system_directory() -> Path | None:
    """A directory on a read-only mount that containers have (Docker mounts /sys read-only)."""
    for candidate in (Path("/sys"), Path("/proc/sys")):
        with contextlib.suppress(OSError):
            if os.statvfs(candidate).f_flag & os.ST_RDONLY:
                return candidate
    return None


def test_a_read_only_data_directory_at_startup_is_one_clear_line(tmp_path: Path) -> None:
    refusal = mount_refusal()
    if refusal is None:
        # A data directory with a database in it, then remounted read-only under it.
        data = tmp_path / "data"
        with tmpfs(data, "1m"):
            database = data / "onetime.sqlite3"
            asyncio.run(_make_store(database))
            before = database.read_bytes()
            subprocess.run(["mount", "-o", "remount,ro", str(data)], check=True)
            result = serve_once(data)
            assert database.read_bytes() == before
            subprocess.run(["mount", "-o", "remount,rw", str(data)], check=True)
            assert integrity(database) == [("ok",)]
        assert_one_clear_line(result, str(data), "Read-only file system")
        return
    system = _read_only_system_directory()
    if system is None:
        message = f"no read-only directory to test with ({refusal}; /sys is writable)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    data = system / f"onetime-test-{token_hex(4)}"
    result = serve_once(data)
    assert_one_clear_line(result, str(data), "Read-only file system")
    assert not data.exists()


async def _make_store(database: Path) -> None:
    from onetime.store.sqlite import SqliteStore

    store = SqliteStore(database)
    await store.open()
    await store.close()
