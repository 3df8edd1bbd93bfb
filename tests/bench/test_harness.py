"""The benchmark harness still starts and measures: `bench/run.py --smoke` against onetime.

The smoke run serves onetime on SQLite (in a temporary directory) and on Redis (under a key
prefix of its own) with one worker each, and runs every onetime scenario for about a second
with wrk. No snappass here: installing it needs PyPI.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = {"create", "reveal", "create+passphrase", "mixed"}
SERVERS = {"onetime-redis", "onetime-sqlite"}
# The harness talks to the Redis `make bench` uses, whatever the tests are pointed at.
HARNESS_REDIS = ("127.0.0.1", 6379)

pytestmark = pytest.mark.slow


def require(available: bool, message: str) -> None:
    """Skip without a tool locally; in CI, where everything must run, fail instead."""
    if available:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def redis_answers() -> bool:
    try:
        with socket.create_connection(HARNESS_REDIS, timeout=1):
            return True
    except OSError:
        return False


def remaining_keys(prefix: str) -> list[bytes]:
    from redis import Redis

    client = Redis(*HARNESS_REDIS)
    try:
        return list(client.scan_iter(match=f"{prefix}*", count=1000))
    finally:
        client.close()


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run the smoke benchmark once; its JSON results."""
    require(shutil.which("wrk") is not None, "wrk is not installed (apt-get install wrk)")
    require(redis_answers(), "no Redis at 127.0.0.1:6379 (start redis-server)")
    root = tmp_path_factory.mktemp("bench")
    results = root / "smoke.json"
    command = [sys.executable, "bench/run.py", "--smoke", "--json", str(results)]
    completed = subprocess.run(
        [*command, "--work-dir", str(root / "work")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    document: dict[str, Any] = json.loads(results.read_text())
    return document


def test_the_results_file_has_every_part(smoke: dict[str, Any]) -> None:
    assert {"options", "machine", "throughput", "timings"} <= smoke.keys()
    assert {"runs", "medians"} <= smoke["throughput"].keys()
    assert {"cpu_count", "python", "redis", "wrk", "git"} <= smoke["machine"].keys()
    assert smoke["options"]["smoke"] is True


def test_every_scenario_ran_on_both_stores_without_errors(smoke: dict[str, Any]) -> None:
    medians = {(m["scenario"], m["server"]): m for m in smoke["throughput"]["medians"]}
    assert set(medians) == {(scenario, server) for scenario in SCENARIOS for server in SERVERS}
    for key, median in medians.items():
        assert median["requests"] > 0, key
        assert median["rps"] > 0, key
        assert median["errors"] == 0, key


def test_reveals_had_a_fresh_secret_each(smoke: dict[str, Any]) -> None:
    reveals = [run for run in smoke["throughput"]["runs"] if run["scenario"] == "reveal"]
    assert reveals
    for run in reveals:
        assert run["keys_prepared"] >= run["result"]["requests"]
        assert run["result"]["counters"]["reused"] == 0


def test_mixed_runs_went_through_all_three_steps(smoke: dict[str, Any]) -> None:
    for run in smoke["throughput"]["runs"]:
        if run["scenario"] == "mixed":
            counters = run["result"]["counters"]
            assert counters["creates"] > 0
            assert counters["receipts"] > 0
            assert counters["reveals"] > 0


def test_the_run_left_no_keys_in_redis(smoke: dict[str, Any]) -> None:
    assert remaining_keys(smoke["options"]["prefix"]) == []


def test_clean_up_deletes_the_keys_under_its_prefixes_and_no_other() -> None:
    """The clean-up deletes inside Redis; a key that only shares the prefixes' common start
    (the Redis is shared) must stay."""
    require(redis_answers(), "no Redis at 127.0.0.1:6379 (start redis-server)")
    from redis import Redis

    sys.path.insert(0, str(ROOT / "bench"))
    from harness.redis_client import RedisClient

    tag = f"bench-clean-test-{os.getpid()}-"
    client = Redis(*HARNESS_REDIS)
    try:
        for first in range(0, 12_000, 1_000):  # more than one SCAN step of the script
            client.mset({f"{tag}a:{n}": "x" for n in range(first, first + 1_000)})
        client.mset({f"{tag}b:{n}": "x" for n in range(3)})
        client.mset({f"{tag}ab{n}": "x" for n in range(2)})
        with RedisClient(*HARNESS_REDIS) as harness_client:
            deleted = harness_client.delete_prefixes(f"{tag}a:", f"{tag}b:")
        left = sorted(client.scan_iter(match=f"{tag}*", count=1000))
    finally:
        for key in client.scan_iter(match=f"{tag}*", count=1000):
            client.delete(key)
        client.close()
    assert deleted == 12_003
    assert left == [f"{tag}ab0".encode(), f"{tag}ab1".encode()]


def test_the_git_state_leaves_out_the_previous_runs_results(tmp_path: Path) -> None:
    """Every run rewrites bench/results/latest.json; only other changes make a tree 'changed'."""
    sys.path.insert(0, str(ROOT / "bench"))
    from harness.report import git_state

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", *args],
            cwd=tmp_path, check=True, capture_output=True,
        )  # fmt: skip

    (tmp_path / "bench" / "results").mkdir(parents=True)
    results, code = tmp_path / "bench" / "results" / "latest.json", tmp_path / "app.py"
    results.write_text("{}")
    code.write_text("print(1)")
    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "start")
    assert git_state(tmp_path)["uncommitted_changes"] is False
    results.write_text('{"rounds": 2}')
    assert git_state(tmp_path)["uncommitted_changes"] is False
    code.write_text("print(2)")
    assert git_state(tmp_path)["uncommitted_changes"] is True


def test_every_run_says_what_cpu_its_requests_took(smoke: dict[str, Any]) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from harness.cpu import local_redis_pid
    from harness.redis_client import RedisClient

    with RedisClient(*HARNESS_REDIS) as client:
        redis_here = local_redis_pid(*client.process_identity()) is not None
    for run in smoke["throughput"]["runs"]:
        where = (run["scenario"], run["server"], run["round"])
        # A server kept busy for a second: most of a core (its one worker), not a trickle.
        assert run["server_cpu_s"] >= 0.2, where
        # Redis's CPU goes with the servers on Redis only; the SQLite ones never ask it anything.
        # (A Redis in a container is not found here, and then is left out.)
        if run["server"] == "onetime-redis" and redis_here:
            assert run["redis_cpu_s"] is not None, where
        else:
            assert run["redis_cpu_s"] is None, where
        spent = run["server_cpu_s"] + (run["redis_cpu_s"] or 0)
        expected = spent / run["result"]["requests"] * 1e6
        assert run["cpu_us_per_request"] == pytest.approx(expected, abs=0.1), where
    for median in smoke["throughput"]["medians"]:
        assert median["cpu_us_per_request"] > 0, (median["scenario"], median["server"])


def test_a_servers_cpu_is_counted_by_its_process_group_and_no_other() -> None:
    """The meter sums every process of the server's group (its workers too) and nothing else."""
    sys.path.insert(0, str(ROOT / "bench"))
    from harness.cpu import CpuMeter, local_redis_pid, process_cpu_seconds

    burn = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass"
    # A group leader that burns, with a child in its group that burns as much and ends (as a
    # worker may during a run; its parent waits for it, so its time goes over to the parent's
    # children's time); then the leader stays a while, so the group is still there to read.
    leader_code = (
        "import subprocess, sys, time\n"
        f"child = subprocess.Popen([sys.executable, '-c', {burn!r}])\n"
        f"exec({burn!r})\n"
        "child.wait()\n"
        "time.sleep(4)\n"
    )
    outsider = subprocess.Popen(
        [sys.executable, "-c", burn + "\ntime.sleep(4)"], start_new_session=True
    )
    leader = subprocess.Popen([sys.executable, "-c", leader_code], start_new_session=True)
    try:
        meter = CpuMeter(leader.pid, None)
        meter.start()
        # Until all three are done burning: the outsider has its 0.4 s, the group's sum stops.
        deadline, previous = time.monotonic() + 10, -1.0
        use, outsider_s = meter.stop(), 0.0
        while time.monotonic() < deadline and ((use.server_s or 0) != previous or outsider_s < 0.4):
            previous = use.server_s or 0
            time.sleep(0.3)
            use, outsider_s = meter.stop(), process_cpu_seconds(outsider.pid) or 0.0
    finally:
        for process in (leader, outsider):
            process.kill()
            process.wait(timeout=10)
    assert outsider_s >= 0.4  # it burned meanwhile, next door
    assert use.server_s is not None
    # The group's two burns of 0.4 s (and a little start-up), the ended child's included, and
    # not the outsider's third.
    assert 0.7 <= use.server_s < 1.1
    assert use.redis_s is None
    assert local_redis_pid(os.getpid(), 0) is None  # a pid that is not a Redis server is refused
