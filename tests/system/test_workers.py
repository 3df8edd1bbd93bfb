"""`onetime serve --workers N`: every worker listens on its own socket, and the kernel spreads
connections over them (src/onetime/cli/workers.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Collection, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from onetime.cli.workers import balanced_listening_supported
from tests.conftest import LiveServer, server_env, start_server, stop_server
from tests.system.workers import child_processes

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not balanced_listening_supported(), reason="needs Linux's SO_REUSEPORT balancing"
    ),
]

CONNECTIONS = 32  # what the benchmark's load generator keeps open
FAIR_SHARE = 4  # of 32 between two workers; a fair split falls below it once in 400,000


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(tmp_path / "data", tmp_path / "server.log", workers=2)
    yield server
    stop_server(server)


def worker_pids(server: LiveServer) -> set[int]:
    """The worker processes of a server (not multiprocessing's resource tracker)."""
    return set(child_processes(server.process.pid, b"spawn_main"))


def listening_workers(server: LiveServer, count: int, not_in: Collection[int] = ()) -> set[int]:
    """The `count` workers, once every one of them listens (and none is in `not_in`)."""
    port = urlsplit(server.url).port
    assert port is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pids = worker_pids(server)
        # A slot's socket starts listening when its first worker starts up, and goes on
        # listening (the supervisor holds it) when that worker dies.
        if len(pids) == count and not pids & set(not_in) and listening(port) == count:
            return pids
        time.sleep(0.1)
    raise AssertionError(f"expected {count} listening workers, have {worker_pids(server)}")


def tcp_table() -> Iterator[list[str]]:
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            yield line.split()


def local_port(fields: list[str]) -> int:
    return int(fields[1].rsplit(":", 1)[1], 16)


def listening(port: int) -> int:
    return sum(1 for fields in tcp_table() if local_port(fields) == port and fields[3] == "0A")


def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def established_inodes(port: int) -> set[str]:
    """Inodes of the server ends of established TCP connections on `port` (/proc/net/tcp)."""
    return {
        fields[9]
        for fields in tcp_table()
        if local_port(fields) == port and fields[3] == "01"  # 01: ESTABLISHED
    }


@contextmanager
def open_connections(url: str, count: int) -> Iterator[list[socket.socket]]:
    """`count` keep-alive connections opened at once, each having had one answer."""
    host, port = urlsplit(url).hostname, urlsplit(url).port
    assert host is not None
    assert port is not None
    with ExitStack() as stack:
        connections = [
            stack.enter_context(socket.create_connection((host, port), timeout=10))
            for _ in range(count)
        ]
        request = f"GET /health HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
        for connection in connections:
            connection.sendall(request)
        for connection in connections:
            answer = connection.recv(4096)  # an answer this small comes in one piece
            assert answer.startswith(b"HTTP/1.1 200"), answer[:100]
        yield connections


def connections_per_worker(server: LiveServer) -> Counter[int]:
    port = urlsplit(server.url).port
    assert port is not None
    ours = established_inodes(port)
    return Counter({pid: len(socket_inodes(pid) & ours) for pid in worker_pids(server)})


def test_a_burst_of_connections_is_spread_over_the_workers(two_workers: LiveServer) -> None:
    listening_workers(two_workers, 2)
    # Three bursts: a shared socket put 29, 31 and 28 of 32 on one worker in such a test.
    for _ in range(3):
        with open_connections(two_workers.url, CONNECTIONS):
            shares = connections_per_worker(two_workers)
        assert sum(shares.values()) == CONNECTIONS, shares
        assert len(shares) == 2, shares
        assert min(shares.values()) >= FAIR_SHARE, shares


def test_a_second_server_on_the_same_address_is_refused(
    two_workers: LiveServer, tmp_path: Path
) -> None:
    port = str(urlsplit(two_workers.url).port)
    env = server_env(tmp_path / "second-data", {})
    result = subprocess.run(
        [sys.executable, "-m", "onetime", "serve", "--port", port, "--workers", "2"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [f"onetime: cannot listen on 127.0.0.1:{port}: Address already in use"]
    # The first server still has every connection to itself.
    with open_connections(two_workers.url, CONNECTIONS):
        assert sum(connections_per_worker(two_workers).values()) == CONNECTIONS


def test_a_killed_worker_is_replaced_on_its_own_socket(two_workers: LiveServer) -> None:
    first = listening_workers(two_workers, 2)
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    now = listening_workers(two_workers, 2, not_in={victim})
    (successor,) = now - first
    # Connections hashed to the dead worker's socket are answered by its successor.
    with open_connections(two_workers.url, CONNECTIONS):
        shares = connections_per_worker(two_workers)
    assert shares[successor] >= FAIR_SHARE, shares
    assert httpx.get(f"{two_workers.url}/health", timeout=5).status_code == 200
