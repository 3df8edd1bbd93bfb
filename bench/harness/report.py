"""What the harness prints and writes: the machine, Rich tables, and one JSON file."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from harness.full import FillResult, FullComparison
from harness.memory import MemoryResult
from harness.paths import RESULTS_DIR, ROOT, SNAPPASS_PYTHON
from harness.redis_client import RedisClient
from harness.results import Results
from harness.throughput import Summary
from harness.wrk import wrk_version

SNAPPASS = "snappass"
RESULTS = str(RESULTS_DIR.relative_to(ROOT))  # git pathspecs are relative to the root


def _first_value(path: Path, field: str) -> str | None:
    """The value of the first `field: value` (or `field=value`) line of a /proc or /etc file."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        name, sep, value = line.partition(":" if ":" in line else "=")
        if sep and name.strip() == field:
            return value.strip().strip('"')
    return None


def _command_output(
    command: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT
) -> str | None:
    try:
        completed = subprocess.run(  # noqa: S603 - fixed commands
            command, capture_output=True, text=True, check=False, env=env, cwd=cwd
        )
    except OSError:
        return None
    return completed.stdout.strip() if completed.returncode == 0 else None


def git_state(root: Path = ROOT) -> dict[str, Any]:
    """The commit measured, and whether the tree differs from it (our own results aside)."""
    # Read-only: GIT_OPTIONAL_LOCKS=0 keeps `git status` from refreshing the index.
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    commit = _command_output(["git", "rev-parse", "HEAD"], env, root)
    # The previous run's results file is rewritten by every run: it says nothing of the code.
    status = _command_output(
        ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", f":(exclude){RESULTS}"],
        env,
        root,
    )
    return {"commit": commit, "uncommitted_changes": bool(status) if status is not None else None}


def machine_info(redis: RedisClient, with_snappass: bool) -> dict[str, Any]:
    mem_kib = _first_value(Path("/proc/meminfo"), "MemTotal")
    snappass_python = None
    if with_snappass:
        snappass_python = _command_output([str(SNAPPASS_PYTHON), "--version"])
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": _first_value(Path("/proc/cpuinfo"), "model name"),
        "memory_gib": round(int(mem_kib.split()[0]) / 1024**2, 1) if mem_kib else None,
        "os": _first_value(Path("/etc/os-release"), "PRETTY_NAME") or platform.platform(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "snappass_python": snappass_python,
        "redis": redis.version(),
        "wrk": wrk_version(),
        "git": git_state(),
        "load_average_before": load_average(),
    }


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def other_cpu_use_percent(seconds: float = 1.0) -> float:
    """How busy the CPUs are over `seconds`, before the harness loads them (0 if unknown)."""
    try:
        busy_before, total_before = _cpu_times()
        time.sleep(seconds)
        busy_after, total_after = _cpu_times()
    except (OSError, ValueError, IndexError):
        return 0.0
    elapsed = total_after - total_before
    return 100 * (busy_after - busy_before) / elapsed if elapsed else 0.0


def load_average() -> list[float]:
    try:
        return [float(value) for value in Path("/proc/loadavg").read_text().split()[:3]]
    except (OSError, ValueError):
        return []


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"written_at": datetime.now(UTC).isoformat(timespec="seconds"), **document}
    path.write_text(json.dumps(document, indent=2) + "\n")


# -- tables --------------------------------------------------------------------------------------


def _baseline(summary: Summary, summaries: Sequence[Summary]) -> Summary | None:
    return next(
        (s for s in summaries if s.scenario == summary.scenario and s.server == SNAPPASS), None
    )


def _ratio_to_snappass(summary: Summary, summaries: Sequence[Summary]) -> str:
    baseline = _baseline(summary, summaries)
    if baseline is None or baseline.rps <= 0:
        return "n/a"
    return f"{summary.rps / baseline.rps:.2f}"


def _cpu_ratio_to_snappass(summary: Summary, summaries: Sequence[Summary]) -> str:
    """How many times less CPU a request took than on snappass (server and Redis together)."""
    baseline = _baseline(summary, summaries)
    if baseline is None or not baseline.cpu_us_per_request or not summary.cpu_us_per_request:
        return "n/a"
    return f"{baseline.cpu_us_per_request / summary.cpu_us_per_request:.2f}"


def _cpu(summary: Summary) -> str:
    return "n/a" if summary.cpu_us_per_request is None else f"{summary.cpu_us_per_request:.0f}"


def throughput_table(summaries: Sequence[Summary], title: str) -> Table:
    table = Table(title=title)
    headings = (
        "scenario", "server", "rps", "p50 ms", "p99 ms", "errors", "vs snappass",
        "CPU µs/req", "CPU vs snappass",
    )  # fmt: skip
    for heading in headings:
        table.add_column(heading, justify="left" if heading in ("scenario", "server") else "right")
    previous_scenario = None
    for summary in summaries:
        if previous_scenario is not None and summary.scenario != previous_scenario:
            table.add_section()
        previous_scenario = summary.scenario
        table.add_row(
            summary.scenario,
            summary.server,
            f"{summary.rps:.0f}",
            f"{summary.p50_ms:.1f}",
            f"{summary.p99_ms:.1f}",
            f"[red]{summary.errors}[/red]" if summary.errors else "0",
            _ratio_to_snappass(summary, summaries),
            _cpu(summary),
            _cpu_ratio_to_snappass(summary, summaries),
        )
    return table


def memory_table(results: Sequence[MemoryResult]) -> Table:
    table = Table(title="Memory per stored secret (content 1 KB)")
    headings = ("server", "measured", "secrets", "bytes/secret", "ciphertext", "beyond ciphertext")
    for heading in headings:
        table.add_column(heading, justify="left" if heading in ("server", "measured") else "right")
    for result in results:
        table.add_row(
            result.server,
            result.measured,
            f"{result.secrets:,}",
            f"{result.bytes_per_secret:,.0f}",
            f"{result.ciphertext_bytes:,.0f}",
            f"{result.beyond_ciphertext_bytes:,.0f}",
        )
    return table


def full_table(comparisons: Sequence[FullComparison], fills: Sequence[FillResult]) -> Table:
    counts = sorted({fill.count for fill in fills})
    label = " / ".join(f"{count:,}" for count in counts) or "?"
    table = Table(title=f"onetime with {label} stored secrets vs an empty store")
    headings = ("store", "scenario", "empty rps", "full rps", "full/empty", "p99 empty", "p99 full")
    for heading in (*headings, "errors"):
        table.add_column(heading, justify="left" if heading in ("store", "scenario") else "right")
    for row in comparisons:
        table.add_row(
            row.store,
            row.scenario,
            f"{row.empty_rps:.0f}",
            f"{row.full_rps:.0f}",
            f"{row.full_vs_empty_percent:.1f} %",
            f"{row.empty_p99_ms:.1f} ms",
            f"{row.full_p99_ms:.1f} ms",
            f"[red]{row.errors}[/red]" if row.errors else "0",
        )
    fill_notes = [
        f"{fill.store}: {fill.count:,} filled in {fill.seconds:.0f} s ({fill.rate_per_s:,.0f}/s)"
        for fill in fills
    ]
    table.caption = "; ".join(fill_notes)
    return table


def print_tables(console: Console, results: Results, duration_s: int, rounds: int) -> None:
    title = f"Throughput (wrk -t1 -c32, {duration_s} s per run, median of {rounds} rounds)"
    console.print(throughput_table(results.summaries, title))
    if results.memory:
        console.print(memory_table(results.memory))
    if results.comparisons:
        console.print(full_table(results.comparisons, results.fills))
