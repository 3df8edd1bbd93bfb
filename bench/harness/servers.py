"""The servers under test: how each is started, waited for and stopped.

Every server runs in its own process group (session), so stopping it reaches its workers too,
and the group is stopped on the way out whatever happens (error, Ctrl-C, SIGTERM). Should the
harness itself be killed outright, the kernel sends each server's main process a SIGTERM
(PR_SET_PDEATHSIG), which shuts down its workers in turn.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from harness.paths import ONETIME_BIN, SNAPPASS_BIN

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
# The server secret the onetime servers and the in-process helpers share (links made by one
# must be accepted by the other). Fixed, so runs are comparable; it protects nothing real.
ONETIME_SERVER_SECRET = "5e" * 32
# High enough never to refuse a request during a run, yet on, so its counter work is measured.
ONETIME_CREATE_LIMIT = "1000000000"
SNAPPASS_WORKERS = 4

_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


@dataclass(frozen=True)
class ServerSpec:
    """One server to start: its name in the results, what it is, and how to run it."""

    name: str
    kind: str  # "onetime" or "snappass": which requests it speaks
    store: str  # "redis" or "sqlite"
    store_location: str  # the Redis key prefix or the SQLite file
    port: int
    command: tuple[str, ...]
    env: Mapping[str, str] = field(repr=False)
    ready_path: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _clean_environment(drop_prefixes: tuple[str, ...]) -> dict[str, str]:
    """This environment without variables that would change how a server is configured."""
    return {name: value for name, value in os.environ.items() if not name.startswith(drop_prefixes)}


@dataclass(frozen=True)
class OnetimeDirs:
    """The directories onetime servers of a run share."""

    data: Path  # ONETIME_DATA_DIR
    counters: Path  # ONETIME_COUNTERS_DIR: memory-backed, fresh for the run


def onetime_env(store_url: str, dirs: OnetimeDirs) -> dict[str, str]:
    """What an onetime server (and the in-process helpers for it) runs with."""
    env = _clean_environment(("ONETIME_",))
    env.update(
        ONETIME_SECRET=ONETIME_SERVER_SECRET,
        ONETIME_STORE_URL=store_url,
        ONETIME_DATA_DIR=str(dirs.data),
        ONETIME_COUNTERS_DIR=str(dirs.counters),
        # No access log: gunicorn (snappass) keeps none by default either.
        ONETIME_LOG_LEVEL="warning",
        ONETIME_CREATE_LIMIT=ONETIME_CREATE_LIMIT,
    )
    return env


def onetime_spec(
    name: str, store: str, store_url: str, location: str, dirs: OnetimeDirs, workers: int
) -> ServerSpec:
    port = free_port()
    command = (
        str(ONETIME_BIN), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
    )  # fmt: skip
    env = onetime_env(store_url, dirs)
    return ServerSpec(name, "onetime", store, location, port, command, env, "/api/v1/status")


def snappass_env(prefix: str) -> dict[str, str]:
    """What snappass (and bench/precreate_snappass.py) runs with: a key prefix of its own."""
    env = _clean_environment(("REDIS_", "SNAPPASS_", "NO_SSL", "URL_PREFIX", "HOST_OVERRIDE"))
    env.update(
        NO_SSL="True",
        REDIS_HOST="127.0.0.1",
        REDIS_PORT="6379",
        SNAPPASS_REDIS_DB="0",
        REDIS_PREFIX=prefix,
    )
    return env


def snappass_spec(name: str, prefix: str) -> ServerSpec:
    port = free_port()
    command = (
        str(SNAPPASS_BIN / "gunicorn"),
        "-w", str(SNAPPASS_WORKERS), "-b", f"127.0.0.1:{port}", "snappass.main:app",
    )  # fmt: skip
    return ServerSpec(name, "snappass", "redis", prefix, port, command, snappass_env(prefix), "/")


def _die_with_parent() -> None:
    """Runs in the child between fork and exec: SIGTERM it when the harness dies."""
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class RunningServer:
    """A started server process (group) and its log."""

    def __init__(self, spec: ServerSpec, log_path: Path) -> None:
        self.spec = spec
        self.log_path = log_path
        with log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(  # noqa: S603 - our own command line
                spec.command,
                env=dict(spec.env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self) -> float:
        """Wait until the server answers its ready path with 200; return how long it took."""
        started = time.monotonic()
        url = self.spec.url + self.spec.ready_path
        while time.monotonic() - started < READY_TIMEOUT_S:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.spec.name} exited during start-up:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - http
                    if answer.status == 200:
                        return time.monotonic() - started
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.spec.name} did not answer {url}:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop the whole process group: politely first, then for sure."""
        group = self.process.pid
        _signal_group(group, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _signal_group(group, signal.SIGKILL)
            self.process.wait()
        # Workers the main process left behind (it was killed, say) go too.
        deadline = time.monotonic() + 5
        while _group_alive(group) and time.monotonic() < deadline:
            time.sleep(0.1)
        _signal_group(group, signal.SIGKILL)


def _signal_group(group: int, signum: int) -> None:
    with suppress(ProcessLookupError, PermissionError):  # already gone
        os.killpg(group, signum)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


@contextmanager
def running(specs: list[ServerSpec], log_dir: Path) -> Iterator[dict[str, RunningServer]]:
    """Start the servers, wait until each answers, and stop them all on the way out."""
    log_dir.mkdir(parents=True, exist_ok=True)
    started: dict[str, RunningServer] = {}
    try:
        for spec in specs:
            started[spec.name] = RunningServer(spec, log_dir / f"{spec.name}.log")
        for server in started.values():
            server.wait_ready()
        yield started
    finally:
        for server in started.values():
            server.stop()
