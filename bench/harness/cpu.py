"""CPU time a server spends on a run: its whole process group, and the Redis it talks to.

Requests a second on a shared virtual machine swing by a third from run to run; the CPU each
request costs moves far less, and it is what decides how many machines a busy deployment needs.
Every server runs in a process group of its own (servers.py), so its workers are found by their
group; Redis is one process, found by the pid it reports. Linux only (/proc); elsewhere, or when
Redis runs where /proc cannot see it, the figures are None.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")
_TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# Fields of /proc/<pid>/stat after the command name's closing parenthesis, counted from 0.
_PGRP, _UTIME, _STIME, _CUTIME, _CSTIME, _STARTTIME = 2, 11, 12, 13, 14, 19


def _stat_fields(pid: str) -> list[str] | None:
    try:
        text = (_PROC / pid / "stat").read_text()
    except OSError:  # gone meanwhile, or not ours to read
        return None
    # The command name may hold spaces and parentheses: split after the last ")".
    return text[text.rindex(")") + 2 :].split()


def _cpu_seconds(fields: list[str]) -> float:
    # With the children it has waited for: a worker that ends during a run (and is replaced)
    # takes its time over to its parent's cutime and cstime instead of taking it away.
    ticks = sum(int(fields[index]) for index in (_UTIME, _STIME, _CUTIME, _CSTIME))
    return ticks / _TICKS_PER_S


def group_cpu_seconds(group: int) -> float | None:
    """User and system CPU of the processes in process group `group` (threads and waited-for
    children included); None if none is left."""
    if not _PROC.is_dir():
        return None
    total, found = 0.0, False
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(entry.name)
        if fields is not None and int(fields[_PGRP]) == group:
            total += _cpu_seconds(fields)
            found = True
    return total if found else None


def process_cpu_seconds(pid: int) -> float | None:
    """User and system CPU of one process (all its threads); None if /proc cannot show it."""
    fields = _stat_fields(str(pid))
    return None if fields is None else _cpu_seconds(fields)


def local_redis_pid(reported: int | None, uptime_s: int | None) -> int | None:
    """`reported` if that process here is the Redis that reported it: a Redis in a container
    reports a pid of its own namespace, which here may name another process, or another Redis.
    So the process must be a Redis or Valkey server, started when the server says it was."""
    if reported is None or uptime_s is None:
        return None
    try:
        name = (_PROC / str(reported) / "comm").read_text().strip()
        (system_uptime, *_) = (_PROC / "uptime").read_text().split()
    except OSError:
        return None
    fields = _stat_fields(str(reported))
    if fields is None or not name.startswith(("redis-server", "valkey-server")):
        return None
    running_s = float(system_uptime) - int(fields[_STARTTIME]) / _TICKS_PER_S
    return reported if abs(running_s - uptime_s) <= 3 else None


@dataclass(frozen=True)
class CpuUse:
    """CPU seconds spent during one run; None where it could not be read."""

    server_s: float | None
    redis_s: float | None

    def per_request_us(self, requests: int) -> float | None:
        """Server and Redis CPU per request, in microseconds."""
        if self.server_s is None or requests <= 0:
            return None
        return (self.server_s + (self.redis_s or 0.0)) / requests * 1e6


class CpuMeter:
    """Reads a server's and Redis's CPU before and after a run."""

    def __init__(self, group: int | None, redis_pid: int | None) -> None:
        self.group = group
        self.redis_pid = redis_pid
        self._start: tuple[float | None, float | None] = (None, None)

    def _read(self) -> tuple[float | None, float | None]:
        server = None if self.group is None else group_cpu_seconds(self.group)
        redis = None if self.redis_pid is None else process_cpu_seconds(self.redis_pid)
        return server, redis

    def start(self) -> None:
        self._start = self._read()

    def stop(self) -> CpuUse:
        (server_0, redis_0), (server_1, redis_1) = self._start, self._read()
        return CpuUse(_spent(server_0, server_1), _spent(redis_0, redis_1))


def _spent(before: float | None, after: float | None) -> float | None:
    # Less after than before: a process of the group ended meanwhile and took its time along.
    if before is None or after is None or after < before:
        return None
    return after - before
