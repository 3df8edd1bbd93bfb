"""Running the in-process helpers (precreate_*.py, fill_onetime.py) next to a server.

A helper runs with the server's own environment, so it writes into the server's store with the
server's keys. Several copies run at once (one per core): each creation waits on Redis or
SQLite for part of its time, and one process would leave a core idle.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.paths import (
    FILL_ONETIME,
    ONETIME_PYTHON,
    PRECREATE_ONETIME,
    PRECREATE_SNAPPASS,
    SNAPPASS_PYTHON,
)
from harness.servers import ServerSpec

HELPER_TIMEOUT_S = 1800


@dataclass(frozen=True)
class HelperRun:
    """What a set of parallel helper processes did."""

    seconds: float
    outputs: list[str]


def shares(total: int, parts: int) -> list[int]:
    """`total` split into `parts` near-equal whole numbers."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


class HelperGroup:
    """Helper processes started together; `wait()` collects them."""

    def __init__(self, commands: list[list[str]], env: dict[str, str]) -> None:
        self.commands = commands
        self.started = time.monotonic()
        self.processes = [
            subprocess.Popen(  # noqa: S603 - our own helper scripts
                command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for command in commands
        ]

    def wait(self) -> HelperRun:
        """Wait for every process; fail with a helper's error output if any of them failed."""
        outputs = []
        failures = []
        for command, process in zip(self.commands, self.processes, strict=True):
            stdout, stderr = process.communicate(timeout=HELPER_TIMEOUT_S)
            outputs.append(stdout)
            if process.returncode != 0:
                failures.append(f"{' '.join(command)} exited {process.returncode}:\n{stderr}")
        if failures:
            raise RuntimeError("\n".join(failures))
        return HelperRun(time.monotonic() - self.started, outputs)

    def stop(self) -> None:
        """End whatever is still running (after an error or an interruption elsewhere)."""
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def run_parallel(commands: list[list[str]], env: dict[str, str]) -> HelperRun:
    """Run the commands at once and wait for all of them."""
    group = HelperGroup(commands, env)
    try:
        return group.wait()
    finally:
        group.stop()


def _precreate_command(spec: ServerSpec) -> list[str]:
    if spec.kind == "snappass":
        return [str(SNAPPASS_PYTHON), str(PRECREATE_SNAPPASS)]
    return [str(ONETIME_PYTHON), str(PRECREATE_ONETIME)]


def precreate(
    spec: ServerSpec, count: int, out: Path | None, processes: int, size: int = 40
) -> HelperRun:
    """Create `count` secrets for `spec` in-process; write their request paths to `out`."""
    commands = []
    parts: list[Path] = []
    for index, share in enumerate(shares(count, processes)):
        command = [*_precreate_command(spec), "--count", str(share), "--size", str(size)]
        if out is not None:
            parts.append(out.with_name(f"{out.name}.part{index}"))
            command += ["--out", str(parts[-1])]
        commands.append(command)
    run = run_parallel(commands, dict(spec.env))
    if out is not None:
        with out.open("w") as joined:
            for part in parts:
                joined.write(part.read_text())
                part.unlink()
    return run


def start_fill(env: dict[str, str], count: int, processes: int) -> HelperGroup:
    """Start bench/fill_onetime.py in `processes` processes sharing `count` records."""
    commands = [
        [str(ONETIME_PYTHON), str(FILL_ONETIME), "--count", str(share)]
        for share in shares(count, processes)
        if share
    ]
    return HelperGroup(commands, env)


def fill_summary(run: HelperRun) -> dict[str, Any]:
    """What the processes of one fill reported, together. Each measures its own time (from
    its first write), so the fill's time does not depend on when the harness looked."""
    reports = [json.loads(output.strip().splitlines()[-1]) for output in run.outputs]
    return {
        "count": sum(int(report["count"]) for report in reports),
        "seconds": max(float(report["seconds"]) for report in reports),
        "processes": len(reports),
        "envelope_bytes": reports[0]["envelope_bytes"],
        "share_key_bytes": reports[0]["share_key_bytes"],
    }


def cpu_count() -> int:
    return os.cpu_count() or 1
