"""Rounds of wrk runs: every scenario on every server in turn (A B C A B C), then medians."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.cpu import CpuMeter
from harness.helpers import precreate
from harness.scenarios import CREATE, Scenario, wrk_job
from harness.servers import ServerSpec
from harness.wrk import WrkResult, run_wrk

Log = Callable[[str], None]

MIN_KEYS = 3000
# Keys for a reveal run: the larger of two estimates, x duration. The highest reveal rate so far
# on a server of the same kind and store x 1.3; and its highest create rate x 2.5, since reveals
# run up to 1.5 times as fast as creates here. The create run of the same round comes just before
# the reveal run, so the second estimate follows the machine when it has sped up since the
# last reveal run (other work stopped): that alone can make a reveal run 1.7 times as fast.
REVEAL_MARGIN = 1.3
CREATE_TO_REVEAL_MARGIN = 2.5


@dataclass(frozen=True)
class Measurement:
    """One wrk run of one scenario on one server."""

    scenario: str
    server: str
    round: int
    result: WrkResult
    keys_prepared: int | None = None
    precreate_seconds: float | None = None
    # CPU of the server's processes, and of Redis for a server on Redis, during the run.
    server_cpu_s: float | None = None
    redis_cpu_s: float | None = None
    cpu_us_per_request: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Summary:
    """A scenario on a server over all rounds: medians, and the errors of every round."""

    scenario: str
    server: str
    rounds: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    cpu_us_per_request: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def family(spec: ServerSpec) -> str:
    """Servers of one family run the same code on the same kind of store (e.g. the empty- and
    full-store servers of the million-secret part): their rates are a guide for each other."""
    return f"{spec.kind}-{spec.store}"


@dataclass
class KeyBudget:
    """How many secrets to pre-create for a reveal run, from the rates measured so far."""

    duration_s: int
    minimum: int = MIN_KEYS
    _highest: dict[tuple[str, str], float] = field(default_factory=dict)

    def record(self, server_family: str, scenario: str, rps: float) -> None:
        key = (server_family, scenario)
        self._highest[key] = max(rps, self._highest.get(key, 0.0))

    def keys_for(self, server_family: str, reveal: str) -> int:
        reveal_rps = self._highest.get((server_family, reveal), 0.0)
        create_rps = self._highest.get((server_family, CREATE.name), 0.0)
        estimate = max(reveal_rps * REVEAL_MARGIN, create_rps * CREATE_TO_REVEAL_MARGIN)
        return max(self.minimum, math.ceil(estimate * self.duration_s))


@dataclass(frozen=True)
class RoundPlan:
    """What to run: these scenarios on these servers, `rounds` times, in this order."""

    servers: Sequence[ServerSpec]
    scenarios: Sequence[Scenario]
    rounds: int
    duration_s: int
    warmup_s: int
    keys_dir: Path
    helper_processes: int
    min_keys: int = MIN_KEYS
    groups: Mapping[str, int] = field(default_factory=dict)  # server name -> process group
    redis_pid: int | None = None


def describe(result: WrkResult) -> str:
    return (
        f"{result.rps:8.1f} rps  p50 {result.p50_ms:7.1f} ms  p99 {result.p99_ms:7.1f} ms  "
        f"{result.errors} errors"
    )


def warm_up(plan: RoundPlan, log: Log) -> None:
    """A short create run per server first: imports, pools and caches settle before measuring."""
    if plan.warmup_s <= 0:
        return
    for spec in plan.servers:
        result = run_wrk(wrk_job(CREATE, spec), plan.warmup_s)
        log(f"  warm-up   {spec.name:<22} {describe(result)}")


def run_once(
    plan: RoundPlan, scenario: Scenario, spec: ServerSpec, round_number: int, keys: KeyBudget
) -> Measurement:
    paths_file = None
    count = seconds = None
    if scenario.uses_keys:
        count = keys.keys_for(family(spec), scenario.name)
        paths_file = plan.keys_dir / f"{spec.name}-{scenario.name}-round{round_number}.txt"
        seconds = round(precreate(spec, count, paths_file, plan.helper_processes).seconds, 3)
    meter = CpuMeter(plan.groups.get(spec.name), plan.redis_pid if spec.store == "redis" else None)
    meter.start()
    result = run_wrk(wrk_job(scenario, spec, paths_file), plan.duration_s)
    cpu = meter.stop()
    if paths_file is not None:
        paths_file.unlink(missing_ok=True)
    per_request = cpu.per_request_us(result.requests)
    return Measurement(
        scenario.name, spec.name, round_number, result, count, seconds,
        server_cpu_s=cpu.server_s, redis_cpu_s=cpu.redis_s,
        cpu_us_per_request=None if per_request is None else round(per_request, 1),
    )  # fmt: skip


def run_rounds(plan: RoundPlan, log: Log, keys: KeyBudget | None = None) -> list[Measurement]:
    """Every round runs every scenario on every server that has it, servers taking turns."""
    plan.keys_dir.mkdir(parents=True, exist_ok=True)
    keys = keys or KeyBudget(plan.duration_s, plan.min_keys)
    measurements = []
    warm_up(plan, log)
    for round_number in range(1, plan.rounds + 1):
        for scenario in plan.scenarios:
            for spec in plan.servers:
                if spec.kind not in scenario.kinds:
                    continue
                measurement = run_once(plan, scenario, spec, round_number, keys)
                keys.record(family(spec), scenario.name, measurement.result.rps)
                measurements.append(measurement)
                log(_progress_line(measurement, plan.rounds))
    return measurements


def _progress_line(measurement: Measurement, rounds: int) -> str:
    line = (
        f"  round {measurement.round}/{rounds}  {measurement.scenario:<18} "
        f"{measurement.server:<22} {describe(measurement.result)}"
    )
    if measurement.keys_prepared is not None:
        line += f"  ({measurement.keys_prepared} keys made in {measurement.precreate_seconds} s)"
    reused = measurement.result.counters.get("reused", 0)
    if reused:
        line += f"  [red]{reused} requests reused keys (ran out)[/red]"
    return line


def summarize(measurements: Sequence[Measurement]) -> list[Summary]:
    """Medians over rounds per (scenario, server), in the order they first ran."""
    groups: dict[tuple[str, str], list[Measurement]] = {}
    for measurement in measurements:
        groups.setdefault((measurement.scenario, measurement.server), []).append(measurement)
    return [
        Summary(
            scenario=scenario,
            server=server,
            rounds=len(runs),
            rps=statistics.median(run.result.rps for run in runs),
            p50_ms=statistics.median(run.result.p50_ms for run in runs),
            p99_ms=statistics.median(run.result.p99_ms for run in runs),
            errors=sum(run.result.errors for run in runs),
            requests=sum(run.result.requests for run in runs),
            cpu_us_per_request=_median_or_none([run.cpu_us_per_request for run in runs]),
        )
        for (scenario, server), runs in groups.items()
    ]


def _median_or_none(values: Sequence[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return statistics.median(known) if known else None
