"""Exactly once, under pressure: 200 requests at once against real servers with two workers.

For each backend — SQLite (one file, two worker processes), Redis and a three-node Redis
Cluster — one `onetime serve --workers 2` runs for the whole module. Every request comes from a
client address of its own (X-Forwarded-For from the trusted loopback proxy), as it would behind
a load balancer, so the per-client limits stay out of the way of the race being measured.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, start_server, stop_server
from tests.services import delete_prefixed, require_redis, unique_prefix
from tests.system.workers import cpu_ticks, new_client, wait_for_workers, worker_pids

pytestmark = pytest.mark.slow

CONCURRENCY = 200
WORKERS = 2
REDIS_TIMEOUT = 10
PASSPHRASE = "correct horse battery"
BURN_HEAD_START = 0.05  # seconds


@pytest.fixture(scope="module", params=["sqlite", "redis", "redis-cluster"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """One server with two workers on the backend, for every test of the module."""
    backend: str = request.param
    extra: dict[str, str] = {}
    redis_url = prefix = ""
    # A Redis command waits up to `timeout` seconds (1 by default), then the request fails fast
    # with 503. A burst of 200 on a shared 2-core machine can keep an event loop from reading
    # an answer for longer than that; this module measures exactly-once, not latency.
    options = f"prefix={{}}&timeout={REDIS_TIMEOUT}"
    if backend == "redis":
        redis_url, prefix = require_redis(), unique_prefix()
        extra["ONETIME_STORE_URL"] = f"{redis_url}?{options.format(prefix)}"
    elif backend == "redis-cluster":
        cluster = request.getfixturevalue("redis_cluster")
        extra["ONETIME_STORE_URL"] = f"{cluster.url}?{options.format(unique_prefix())}"
    root: Path = tmp_path_factory.mktemp(f"pressure-{backend}")
    live = start_server(root / "data", root / "server.log", workers=WORKERS, extra_env=extra)
    try:
        wait_for_workers(live, WORKERS)
        yield live
    finally:
        stop_server(live)
        if backend == "redis":
            asyncio.run(delete_prefixed(redis_url, prefix))  # the cluster goes away whole


def http(server: LiveServer) -> httpx.AsyncClient:
    # No keep-alive: every request is a connection of its own, which either worker may accept.
    limits = httpx.Limits(max_connections=CONCURRENCY * 2, max_keepalive_connections=0)
    return httpx.AsyncClient(base_url=server.url, limits=limits, timeout=120)


async def conceal(client: httpx.AsyncClient, text: str, **fields: Any) -> tuple[str, str]:
    """Make a secret; its (secret key, receipt key)."""
    answer = await client.post(
        "/api/v2/secret/conceal", json={"secret": {"secret": text, **fields}}, headers=new_client()
    )
    assert answer.status_code == 200, answer.text
    record = answer.json()["record"]
    return record["secret"]["key"], record["receipt"]["key"]


def reveal(client: httpx.AsyncClient, key: str, n: int, passphrase: str | None = None) -> Any:
    """A reveal over v2 (even n) or v1 (odd n, through the fast lane)."""
    if n % 2:
        data = {"passphrase": passphrase} if passphrase else {}
        return client.post(f"/api/v1/secret/{key}", data=data, headers=new_client())
    body = {"continue": True, "passphrase": passphrase} if passphrase else {"continue": True}
    return client.post(f"/api/v2/secret/{key}/reveal", json=body, headers=new_client())


def burn(client: httpx.AsyncClient, receipt_key: str, n: int) -> Any:
    """A burn over v2 (even n) or v1 (odd n)."""
    if n % 2:
        return client.post(f"/api/v1/receipt/{receipt_key}/burn", headers=new_client())
    return client.post(
        f"/api/v2/receipt/{receipt_key}/burn", json={"continue": True}, headers=new_client()
    )


def value_of(answer: httpx.Response) -> str | None:
    """The secret's value in a reveal answer of either version; None for any refusal."""
    if answer.status_code != 200:
        return None
    body = answer.json()
    value = body["value"] if "value" in body else body["record"]["secret_value"]
    assert isinstance(value, str)
    return value


def burn_state(answer: httpx.Response) -> str:
    """The receipt state a burn answered with, in v2's words."""
    assert answer.status_code == 200, answer.text
    body = answer.json()
    if "record" in body:
        state: str = body["record"]["state"]
        return state
    v1_state: str = body["state"]["state"]
    return {"received": "revealed", "viewed": "previewed"}.get(v1_state, v1_state)


def outcome(answer: httpx.Response) -> str:
    """What a reveal answered, in either version: "value", "not_found" or "rate_limited".

    v1 keeps Onetime Secret's legacy shape (HTTP 404, the meaning in X-OTS-Intended-Status);
    a refusal must carry a positive Retry-After, and v2's body the same `retry_after`.
    """
    if answer.status_code == 200:
        assert value_of(answer) is not None
        return "value"
    body = answer.json()
    if answer.url.path.startswith("/api/v1/"):
        assert answer.status_code == 404, answer.text
        intended = answer.headers["x-ots-intended-status"]
        if intended == "404":
            assert body["message"] == "Unknown secret"
            return "not_found"
        assert intended == "429", answer.text
    elif answer.status_code == 404:
        assert body["error_type"] == "not_found"
        return "not_found"
    else:
        assert answer.status_code == 429, answer.text
        assert body["error_type"] == "rate_limited"
        assert body["retry_after"] == int(answer.headers["retry-after"])
    assert int(answer.headers["retry-after"]) > 0
    return "rate_limited"


def assert_no_server_errors(server: LiveServer, *answers: httpx.Response) -> None:
    assert [a.status_code for a in answers if a.status_code >= 500] == []
    logs = server.logs()
    assert "Traceback" not in logs
    assert "unhandled" not in logs


# -- the tests --------------------------------------------------------------------------------


async def test_200_concurrent_reveals_yield_one_value(server: LiveServer) -> None:
    async with http(server) as client:
        key, receipt_key = await conceal(client, "only one of 200 sees this")
        answers = await asyncio.gather(*(reveal(client, key, n) for n in range(CONCURRENCY)))
        receipt = (await client.get(f"/api/v2/receipt/{receipt_key}")).json()["record"]
    values = [value for answer in answers if (value := value_of(answer)) is not None]
    assert values == ["only one of 200 sees this"]
    outcomes = [outcome(answer) for answer in answers]
    assert outcomes.count("not_found") == CONCURRENCY - 1
    assert receipt["state"] == "revealed"
    assert receipt["burned"] is None
    assert_no_server_errors(server, *answers)


async def test_200_concurrent_passphrase_reveals_yield_one_value(server: LiveServer) -> None:
    async with http(server) as client:
        key, receipt_key = await conceal(client, "guarded and once", passphrase=PASSPHRASE)
        answers = await asyncio.gather(
            *(reveal(client, key, n, PASSPHRASE) for n in range(CONCURRENCY))
        )
        receipt = (await client.get(f"/api/v2/receipt/{receipt_key}")).json()["record"]
    values = [value for answer in answers if (value := value_of(answer)) is not None]
    assert values == ["guarded and once"]
    # A right passphrase is never called wrong (a 422 fails `outcome`). While the secret is there,
    # at most 20 attempts (the per-secret passphrase limit) get through to decrypt and race for the claim;
    # the others are refused (429). Of those let through, all but the claimer get "not found",
    # as does everyone who comes after the claim.
    outcomes = [outcome(answer) for answer in answers]
    assert outcomes.count("value") == 1
    assert outcomes.count("not_found") >= 1
    assert receipt["state"] == "revealed"
    assert_no_server_errors(server, *answers)


@pytest.mark.parametrize("start", ["interleaved", "burns-first"])
async def test_200_burns_racing_200_reveals_have_one_winner(server: LiveServer, start: str) -> None:
    """Whichever side wins, it is one side. A reveal is one store operation and a burn three
    (receipt, secret, claim): sent interleaved (a reveal, then a burn, …) reveals tend to win;
    with the burns sent BURN_HEAD_START seconds ahead, burns tend to. Neither is promised."""
    async with http(server) as client:
        key, receipt_key = await conceal(client, "burn me or read me")
        reveals = [reveal(client, key, n) for n in range(CONCURRENCY)]
        burns = [burn(client, receipt_key, n) for n in range(CONCURRENCY)]
        if start == "interleaved":
            pairs = zip(reveals, burns, strict=True)
            answers = await asyncio.gather(*(request for pair in pairs for request in pair))
        else:
            ahead = [asyncio.ensure_future(request) for request in burns]
            await asyncio.sleep(BURN_HEAD_START)
            answers = await asyncio.gather(*ahead, *reveals)
        final = (await client.get(f"/api/v2/receipt/{receipt_key}")).json()["record"]
        final_v1 = (await client.get(f"/api/v1/receipt/{receipt_key}")).json()
    reveal_answers = [a for a in answers if "/secret/" in a.url.path]
    burn_answers = [a for a in answers if a.url.path.endswith("/burn")]
    assert len(reveal_answers) == len(burn_answers) == CONCURRENCY
    assert_no_server_errors(server, *answers)

    values = [value for answer in reveal_answers if (value := value_of(answer)) is not None]
    assert {outcome(answer) for answer in reveal_answers} <= {"value", "not_found"}
    burn_states = [burn_state(answer) for answer in burn_answers]  # every burn answers 200
    # One side won: either one reveal got the value, or the secret was burned — never both.
    assert len(values) + (final["state"] == "burned") == 1
    if values:
        assert values == ["burn me or read me"]
        assert (final["state"], final_v1["state"]) == ("revealed", "received")
        assert final["revealed"] is not None
        assert final["burned"] is None
        assert final["is_burned"] is False
        assert "burned" not in burn_states
        # A burn read while the reveal was between its two writes (secret gone, receipt not
        # marked yet) says "orphaned" for that moment; never "burned", never "new".
        assert set(burn_states) <= {"revealed", "orphaned"}
    else:
        assert (final["state"], final_v1["state"]) == ("burned", "burned")
        assert final["burned"] is not None
        assert final["revealed"] is None
        assert final["is_revealed"] is False
        assert "burned" in burn_states  # the winner's own answer
        assert set(burn_states) <= {"burned", "orphaned"}


async def test_both_workers_served_the_races(server: LiveServer) -> None:
    pids = worker_pids(server)
    assert len(pids) == WORKERS
    before = {pid: cpu_ticks(pid) for pid in pids}
    async with http(server) as client:
        key, _ = await conceal(client, "spread over the workers")
        answers = await asyncio.gather(*(reveal(client, key, n) for n in range(CONCURRENCY)))
        statuses = await asyncio.gather(*(client.get("/api/v2/status") for _ in range(CONCURRENCY)))
    assert [outcome(a) for a in answers].count("value") == 1
    assert {s.status_code for s in statuses} == {200}
    used = {pid: cpu_ticks(pid) - before[pid] for pid in pids}
    # 400 requests on fresh connections: each worker took its share of them, and so each
    # spent CPU time (more than idling would) answering.
    assert all(ticks >= 3 for ticks in used.values()), used
