"""Worker processes of a real server, and client addresses for requests sent to it."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

from tests.conftest import LiveServer

_addresses = itertools.count(1)


def new_client() -> dict[str, str]:
    """Headers that make a request come from a client address no other request used.

    The server believes X-Forwarded-For from its trusted proxy, loopback by default: so each
    request counts as a client of its own, as it would behind a load balancer.
    """
    n = next(_addresses)
    return {"X-Forwarded-For": f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"}


def wait_for_workers(server: LiveServer, count: int) -> None:
    """/health answers once one worker is up: wait until all `count` have started their app."""
    deadline = time.monotonic() + 30
    while server.logs().count("Application startup complete") < count:
        assert time.monotonic() < deadline, f"not all workers started:\n{server.logs()}"
        time.sleep(0.1)


def worker_pids(*servers: LiveServer) -> list[int]:
    """The process ids of the servers' workers, as each worker logged it when it started."""
    return sorted(
        {
            int(line.split("[")[1].split("]")[0])
            for server in servers
            for line in server.logs().splitlines()
            if "Started server process" in line
        }
    )


def cpu_ticks(pid: int) -> int:
    """User plus system CPU time the process has used so far, in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime and stime (fields 14 and 15 of stat)


def child_processes(pid: int, marker: bytes) -> list[int]:
    """Live (not zombie) child processes of `pid` whose command line contains `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        state, parent = stat.rsplit(")", 1)[1].split()[:2]
        if int(parent) == pid and state != "Z" and marker in command:
            found.append(int(entry.name))
    return sorted(found)
