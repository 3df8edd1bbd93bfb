"""Abuse limits are per client across every worker and node: the total is the limit, not the
limit times the number of processes.

Two deployments, each started once for the module: two `onetime serve` nodes of two workers
each on one Redis (four processes), and one node of two workers on SQLite (whose counters live
in a shared counters database). Requests are spread over the nodes and arrive on fresh
connections, so every process takes its share. A client is an X-Forwarded-For address from the
trusted loopback proxy; each test uses addresses of its own.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, start_server, stop_server
from tests.services import delete_prefixed, require_redis, unique_prefix
from tests.system.workers import cpu_ticks, new_client, wait_for_workers, worker_pids

pytestmark = pytest.mark.slow

CREATE_LIMIT = 10
CREATE_WINDOW = 600
GUESS_LIMIT = 10
GUESS_WINDOW = 900
PASSPHRASE_PER_CLIENT = 5  # the fixed passphrase rules (GuardRules)
PASSPHRASE_PER_SECRET = 20
PASSPHRASE_LOCKOUT = 1800
BURST = 40
RIGHT = "the right passphrase"


@pytest.fixture(scope="module", params=["redis-two-nodes", "sqlite"])
def nodes(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[LiveServer]]:
    extra = {
        "ONETIME_CREATE_LIMIT": str(CREATE_LIMIT),
        "ONETIME_CREATE_WINDOW": str(CREATE_WINDOW),
        "ONETIME_REVEAL_GUESS_LIMIT": str(GUESS_LIMIT),
        "ONETIME_REVEAL_GUESS_WINDOW": str(GUESS_WINDOW),
    }
    root: Path = tmp_path_factory.mktemp(request.param)
    redis_url = prefix = ""
    count = 1
    if request.param == "redis-two-nodes":
        redis_url, prefix = require_redis(), unique_prefix()
        # Generous: a burst on a shared 2-core machine must not turn into 503s (see
        # test_pressure.py); what is measured here is counting, not latency.
        extra["ONETIME_STORE_URL"] = f"{redis_url}?prefix={prefix}&timeout=10"
        count = 2
    servers: list[LiveServer] = []
    try:
        for n in range(count):
            servers.append(
                start_server(root / f"node-{n}", root / f"node-{n}.log", workers=2, extra_env=extra)
            )
            wait_for_workers(servers[-1], 2)
        yield servers
    finally:
        for server in servers:
            stop_server(server)
        if prefix:
            asyncio.run(delete_prefixed(redis_url, prefix))


class Spread:
    """Sends each request to the next node in turn, on a connection of its own."""

    def __init__(self, nodes: list[LiveServer]) -> None:
        self.nodes = nodes
        self.turn = itertools.count()
        limits = httpx.Limits(max_connections=BURST * 2, max_keepalive_connections=0)
        self.http = httpx.AsyncClient(limits=limits, timeout=120)

    async def __aenter__(self) -> Spread:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    def post(self, path: str, headers: dict[str, str], **kwargs: Any) -> Any:
        node = self.nodes[next(self.turn) % len(self.nodes)]
        return self.http.post(f"{node.url}{path}", headers=headers, **kwargs)

    def get(self, path: str, headers: dict[str, str]) -> Any:
        node = self.nodes[next(self.turn) % len(self.nodes)]
        return self.http.get(f"{node.url}{path}", headers=headers)


def refused(answer: httpx.Response, window: int) -> bool:
    """Whether the answer is a rate-limit refusal; if it is, its Retry-After must be sound.

    v2 answers 429 with `retry_after` in the body; v1 answers its legacy 404 with the real
    status in X-OTS-Intended-Status. Both carry Retry-After: whole seconds, at most the window.
    """
    v1 = answer.url.path.startswith("/api/v1/")
    if v1 and answer.headers.get("x-ots-intended-status") != "429":
        return False
    if not v1 and answer.status_code != 429:
        return False
    retry_after = int(answer.headers["retry-after"])
    assert 0 < retry_after <= window, retry_after
    if v1:
        assert answer.status_code == 404
        assert answer.json()["message"]
    else:
        body = answer.json()
        assert body["error_type"] == "rate_limited"
        assert body["retry_after"] == retry_after
    return True


def assert_only(answers: list[httpx.Response], *statuses: int) -> None:
    assert {answer.status_code for answer in answers} <= set(statuses), [
        (answer.status_code, answer.text) for answer in answers
    ]


async def conceal(spread: Spread, passphrase: str | None = None) -> tuple[str, str]:
    fields = {"secret": "guard me", "passphrase": passphrase} if passphrase else {"secret": "x"}
    answer = await spread.post("/api/v2/secret/conceal", new_client(), json={"secret": fields})
    assert answer.status_code == 200, answer.text
    record = answer.json()["record"]
    return record["secret"]["key"], record["receipt"]["key"]


# -- the tests --------------------------------------------------------------------------------


async def test_the_creation_limit_holds_across_processes(nodes: list[LiveServer]) -> None:
    pids = worker_pids(*nodes)
    assert len(pids) == 2 * len(nodes)
    before = {pid: cpu_ticks(pid) for pid in pids}
    creator = new_client()
    async with Spread(nodes) as spread:
        answers = await asyncio.gather(
            *(
                spread.post("/api/v1/share", creator, data={"secret": f"n{n}"})
                if n % 2
                else spread.post(
                    "/api/v2/secret/conceal", creator, json={"secret": {"secret": f"n{n}"}}
                )
                for n in range(BURST)
            )
        )
        other = await spread.post("/api/v1/share", new_client(), data={"secret": "still fine"})
    created = [answer for answer in answers if answer.status_code == 200]
    limited = [answer for answer in answers if refused(answer, CREATE_WINDOW)]
    assert (len(created), len(limited)) == (CREATE_LIMIT, BURST - CREATE_LIMIT)
    assert other.status_code == 200  # the limit is per client
    # Several processes shared the burst (so one counter, not one per process, was at work).
    busy = [pid for pid in pids if cpu_ticks(pid) > before[pid]]
    assert len(busy) >= 2, busy


async def test_the_reveal_guessing_limit_holds_across_processes(nodes: list[LiveServer]) -> None:
    guesser = new_client()
    async with Spread(nodes) as spread:
        read_key, _ = await conceal(spread)
        assert (await spread.post(f"/api/v1/secret/{read_key}", new_client())).status_code == 200
        # Garbled keys (their check fails), an already read key and unknown receipt keys.
        paths = [
            f"/api/v2/secret/{'a' * 62}/reveal",
            f"/api/v1/secret/{read_key}",
            f"/api/v2/secret/{read_key}/reveal",
            f"/api/v1/receipt/{'b' * 62}",
        ]
        answers = await asyncio.gather(
            *(spread.post(paths[n % len(paths)], guesser) for n in range(BURST))
        )
        later = [await spread.post(paths[n % len(paths)], guesser) for n in range(8)]
        secret_key, receipt_key = await conceal(spread)
        other = new_client()
        receipt = await spread.get(f"/api/v2/receipt/{receipt_key}", other)
        revealed = await spread.post(f"/api/v2/secret/{secret_key}/reveal", other)
    limited = [answer for answer in answers if refused(answer, GUESS_WINDOW)]
    not_found = [answer for answer in answers if answer not in limited]
    assert (len(not_found), len(limited)) == (GUESS_LIMIT, BURST - GUESS_LIMIT)
    assert_only(not_found, 404)
    for answer in not_found:
        intended = answer.headers.get("x-ots-intended-status")
        assert intended in (None, "404")
    assert all(refused(answer, GUESS_WINDOW) for answer in later)
    # A client under the limit reads its receipt and reveals its secret as ever.
    assert receipt.json()["record"]["state"] == "new"
    assert revealed.json()["record"]["secret_value"] == "x"


async def test_the_passphrase_limit_per_client_holds_across_processes(
    nodes: list[LiveServer],
) -> None:
    guesser = new_client()
    async with Spread(nodes) as spread:
        key, _ = await conceal(spread, passphrase=RIGHT)
        path = f"/api/v2/secret/{key}/reveal"
        answers = await asyncio.gather(
            *(spread.post(path, guesser, json={"passphrase": f"guess {n}"}) for n in range(BURST))
        )
        locked_out = await spread.post(path, guesser, json={"passphrase": RIGHT})
        someone_else = await spread.post(path, new_client(), json={"passphrase": RIGHT})
    limited = [answer for answer in answers if refused(answer, PASSPHRASE_LOCKOUT)]
    wrong = [answer for answer in answers if answer not in limited]
    assert (len(wrong), len(limited)) == (PASSPHRASE_PER_CLIENT, BURST - PASSPHRASE_PER_CLIENT)
    assert {answer.json()["error_type"] for answer in wrong} == {"wrong_passphrase"}
    assert refused(locked_out, PASSPHRASE_LOCKOUT)  # even the right one, for this client
    assert someone_else.json()["record"]["secret_value"] == "guard me"


async def test_the_passphrase_limit_per_secret_holds_across_processes(
    nodes: list[LiveServer],
) -> None:
    async with Spread(nodes) as spread:
        key, receipt_key = await conceal(spread, passphrase=RIGHT)
        path = f"/api/v2/secret/{key}/reveal"
        answers = await asyncio.gather(
            *(spread.post(path, new_client(), json={"passphrase": f"g{n}"}) for n in range(30))
        )
        late = await spread.post(path, new_client(), json={"passphrase": RIGHT})
        receipt = await spread.get(f"/api/v2/receipt/{receipt_key}", new_client())
    limited = [answer for answer in answers if refused(answer, PASSPHRASE_LOCKOUT)]
    wrong = [answer for answer in answers if answer not in limited]
    assert (len(wrong), len(limited)) == (PASSPHRASE_PER_SECRET, 30 - PASSPHRASE_PER_SECRET)
    assert_only(wrong, 422)
    assert refused(late, PASSPHRASE_LOCKOUT)  # the secret is locked for everybody now
    assert receipt.json()["record"]["state"] == "new"  # and nothing was consumed
