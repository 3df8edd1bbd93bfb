"""Running wrk with one of the Lua scenario scripts and reading the JSON line it prints."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.paths import LUA_DIR

THREADS = 1  # one generator thread leaves the CPU to the servers on a 2-core machine
CONNECTIONS = 32
# Passphrase creations (Argon2id) queue up behind each other; wrk's default of 2 s would turn
# slow answers into "timeouts". A request still waiting after this long counts as an error.
TIMEOUT_S = 10
_RESULT_MARK = "BENCH_RESULT "


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run measured."""

    requests: int
    duration_us: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    errors_by_kind: dict[str, int] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WrkResult:
        return cls(
            requests=int(data["requests"]),
            duration_us=int(data["duration_us"]),
            rps=float(data["rps"]),
            p50_ms=float(data["p50_ms"]),
            p99_ms=float(data["p99_ms"]),
            errors=int(data["errors"]),
            errors_by_kind={k: int(v) for k, v in data.get("errors_by_kind", {}).items()},
            counters={k: int(v) for k, v in data.get("counters", {}).items()},
        )


@dataclass(frozen=True)
class WrkJob:
    """One wrk invocation: a script, the URL it starts from, and its parameters."""

    script: str  # a file name in bench/lua
    url: str
    params: Mapping[str, str] = field(default_factory=dict)  # BENCH_* environment variables


def command(job: WrkJob, duration_s: int) -> list[str]:
    return [
        "wrk",
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{duration_s}s",
        "--timeout",
        f"{TIMEOUT_S}s",
        "--latency",
        "-s",
        str(LUA_DIR / job.script),
        job.url,
    ]


def run_wrk(job: WrkJob, duration_s: int) -> WrkResult:
    """Run wrk once; raise with its output when it fails or prints no result line."""
    env = {**os.environ, "BENCH_LUA_DIR": str(LUA_DIR), **job.params}
    completed = subprocess.run(  # noqa: S603 - wrk with our own arguments
        command(job, duration_s),
        env=env,
        capture_output=True,
        text=True,
        timeout=duration_s + 120,
        check=False,
    )
    for line in reversed(completed.stdout.splitlines()):
        if line.startswith(_RESULT_MARK):
            return WrkResult.from_json(json.loads(line[len(_RESULT_MARK) :]))
    raise RuntimeError(
        f"wrk printed no result (exit {completed.returncode}) for {job.script} at {job.url}:\n"
        f"{completed.stdout}\n{completed.stderr}"
    )


def wrk_version() -> str:
    """wrk has no version flag that exits 0; its usage text starts with the version."""
    completed = subprocess.run(
        ["wrk", "--version"],  # noqa: S607 - wrk from PATH, as everywhere in the harness
        capture_output=True,
        text=True,
        check=False,
    )
    first_line = (completed.stdout or completed.stderr).splitlines()[:1]
    return first_line[0].strip() if first_line else "unknown"
