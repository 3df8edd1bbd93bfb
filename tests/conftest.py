"""Shared fixtures: settings in a temporary data directory, an in-process client, a real server.

In-process tests drive the ASGI app with httpx and run its lifespan, so the real SQLite store
is opened and closed as in production. `live_server` starts `onetime serve` as a subprocess.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from onetime.app import create_app
from onetime.core.clock import ManualClock
from onetime.settings import Settings, load_settings
from tests.services import RedisCluster, RedisSentinel
from tests.smtp import SmtpServer, smtp_fixture

TEST_SECRET = "test-server-secret-" + "0123456789abcdef" * 2


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def make_settings(data_dir: Path, tmp_path: Path) -> Callable[..., Settings]:
    """Settings for a test: its own data and counters directories, cheap Argon2, no env leakage."""
    counters = tmp_path / "counters"
    counters.mkdir(exist_ok=True)

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "secret": TEST_SECRET,
            "data_dir": data_dir,
            "counters_dir": counters,
            "site_host": "testserver",
            "argon2_memory_kib": 1024,
            "argon2_time_cost": 1,
            **overrides,
        }
        return load_settings(**values)

    return build


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@dataclass
class InProcess:
    """An app in this process, its client, and the clock it runs on."""

    client: httpx.AsyncClient
    clock: ManualClock
    settings: Settings
    app: Any


@pytest.fixture
def app_factory(make_settings: Callable[..., Settings], clock: ManualClock) -> Callable[..., Any]:
    """`async with app_factory(**settings) as env:` gives an InProcess with its lifespan running."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[InProcess]:
        settings = make_settings(**overrides)
        app = create_app(settings, clock=clock)
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
        ):
            yield InProcess(client, clock, settings, app)

    return start


@pytest.fixture
async def env(app_factory: Callable[..., Any]) -> AsyncIterator[InProcess]:
    """The default in-process app."""
    async with app_factory() as running:
        yield running


@pytest.fixture
async def client(env: InProcess) -> httpx.AsyncClient:
    return env.client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveServer:
    """A real `onetime serve` process."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    data_dir: Path

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")


def server_env(data_dir: Path, extra_env: dict[str, str]) -> dict[str, str]:
    """The environment of a test server: ours, without the caller's ONETIME_* settings.

    Creates the counters directory beside `data_dir`, where the server expects it.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONETIME_")}
    env.update(
        ONETIME_SECRET=TEST_SECRET,
        ONETIME_DATA_DIR=str(data_dir),
        ONETIME_COUNTERS_DIR=str(data_dir.parent / "counters"),
        ONETIME_ARGON2_MEMORY_KIB="1024",
        ONETIME_ARGON2_TIME_COST="1",
        **extra_env,
    )
    (data_dir.parent / "counters").mkdir(parents=True, exist_ok=True)
    return env


def start_server(
    data_dir: Path,
    log_path: Path,
    workers: int = 1,
    extra_env: dict[str, str] | None = None,
    port: int | None = None,
) -> LiveServer:
    """Start `onetime serve` and wait until /health answers (or fail with its log).

    Pass `port` when the environment must know it first (e.g. ONETIME_SITE_HOST for links).
    """
    port = port or free_port()
    env = server_env(data_dir, {"ONETIME_LOG_LEVEL": "debug", **(extra_env or {})})
    command = [
        sys.executable,
        "-m",
        "onetime",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    with log_path.open("wb") as log_file:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"onetime serve exited early:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return LiveServer(url, process, log_path, data_dir)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"onetime serve did not become healthy:\n{log_path.read_text()}")


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """One real server process with one worker, on a fresh data directory."""
    data = tmp_path / "live-data"
    server = start_server(data, tmp_path / "server.log")
    yield server
    stop_server(server)


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    """A real three-node Redis Cluster, started once for the whole run."""
    cluster = RedisCluster(tmp_path_factory.mktemp("redis-cluster"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def redis_sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisSentinel]:
    """A real Redis primary behind a real Sentinel, started once for the whole run."""
    sentinel = RedisSentinel(tmp_path_factory.mktemp("redis-sentinel"))
    try:
        sentinel.start()
        yield sentinel
    finally:
        sentinel.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on loopback; `smtp.inbox.messages()` is what it received.

    Point an app at it with `app_factory(smtp_url=f"smtp://127.0.0.1:{smtp.port}")`.
    """
    yield from smtp_fixture()
