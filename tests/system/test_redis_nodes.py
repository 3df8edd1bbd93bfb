"""Scale-out on Redis: stateless nodes sharing one Redis, and what happens when Redis goes away."""

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer, free_port, start_server, stop_server
from tests.services import delete_prefixed, require_redis, unique_prefix, wait_for_port

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[LiveServer]]:
    """Two `onetime serve` processes (2 workers each) on different ports, one shared Redis."""
    url = require_redis()
    prefix = unique_prefix()
    store_url = f"{url}?prefix={prefix}"
    root: Path = tmp_path_factory.mktemp("nodes")
    servers = [
        start_server(
            root / f"node-{n}",
            root / f"node-{n}.log",
            workers=2,
            extra_env={"ONETIME_STORE_URL": store_url},
        )
        for n in (1, 2)
    ]
    yield servers
    for server in servers:
        stop_server(server)
    asyncio.run(delete_prefixed(url, prefix))


def test_a_secret_made_on_one_node_is_revealed_on_the_other(two_nodes: list[LiveServer]) -> None:
    first, second = two_nodes
    created = httpx.post(f"{first.url}/api/v1/share", data={"secret": "crosses nodes"}).json()
    receipt = httpx.get(f"{second.url}/api/v1/receipt/{created['metadata_key']}").json()
    assert receipt["state"] == "new"
    assert (
        httpx.post(f"{second.url}/api/v1/secret/{created['secret_key']}").json()["value"]
        == "crosses nodes"
    )
    assert httpx.post(f"{first.url}/api/v1/secret/{created['secret_key']}").status_code == 404
    assert (
        httpx.get(f"{first.url}/api/v1/receipt/{created['metadata_key']}").json()["state"]
        == "received"
    )


async def test_200_concurrent_reveals_over_two_nodes_yield_one_value(
    two_nodes: list[LiveServer],
) -> None:
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        share = await http.post(f"{two_nodes[0].url}/api/v1/share", data={"secret": "one winner"})
        path = f"/api/v2/secret/{share.json()['secret_key']}/reveal"
        answers = await asyncio.gather(
            *(http.post(f"{two_nodes[i % 2].url}{path}", json={}) for i in range(200))
        )
    values = [a.json()["record"]["secret_value"] for a in answers if a.status_code == 200]
    assert values == ["one winner"]
    assert {a.status_code for a in answers} == {200, 404}


def test_passphrase_lockout_holds_across_nodes(two_nodes: list[LiveServer]) -> None:
    body = {"secret": {"secret": "locked", "passphrase": "the right one"}}
    key = httpx.post(f"{two_nodes[0].url}/api/v2/secret/conceal", json=body).json()["record"][
        "secret"
    ]["key"]
    for attempt in range(5):
        node = two_nodes[attempt % 2]
        wrong = httpx.post(
            f"{node.url}/api/v2/secret/{key}/reveal", json={"passphrase": f"guess {attempt}"}
        )
        assert wrong.status_code == 422
    locked = httpx.post(
        f"{two_nodes[1].url}/api/v2/secret/{key}/reveal", json={"passphrase": "the right one"}
    )
    assert locked.status_code == 429
    assert locked.json()["retry_after"] > 0


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_a_redis_outage_gives_fast_503s_and_the_service_recovers(tmp_path: Path) -> None:
    port = free_port()
    redis_dir = tmp_path / "redis"
    redis_dir.mkdir()
    redis_command = [
        "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(redis_dir),
        "--appendonly", "yes", "--appendfsync", "always", "--save", "",
    ]  # fmt: skip
    redis = subprocess.Popen(redis_command, stdout=subprocess.DEVNULL)
    wait_for_port(port)
    server = start_server(
        tmp_path / "data", tmp_path / "server.log",
        extra_env={"ONETIME_STORE_URL": f"redis://127.0.0.1:{port}/0"},
    )  # fmt: skip
    try:
        created = httpx.post(f"{server.url}/api/v1/share", data={"secret": "survives"}).json()
        redis.terminate()
        redis.wait(timeout=10)

        started = time.monotonic()
        down = httpx.post(
            f"{server.url}/api/v2/secret/conceal", json={"secret": {"secret": "x"}}, timeout=10
        )
        assert time.monotonic() - started < 2.5
        assert down.status_code == 503
        assert "temporarily unavailable" in down.json()["error"]
        health = httpx.get(f"{server.url}/health", timeout=10)
        assert (health.status_code, health.json()["status"]) == (503, "unavailable")
        page = httpx.get(f"{server.url}/", timeout=10)
        assert page.status_code == 200  # the create form needs no store

        redis = subprocess.Popen(redis_command, stdout=subprocess.DEVNULL)  # same dir: AOF replays
        wait_for_port(port)
        deadline = time.monotonic() + 10
        while httpx.get(f"{server.url}/health").status_code != 200:
            assert time.monotonic() < deadline, "the service did not recover"
            time.sleep(0.1)
        revealed = httpx.post(f"{server.url}/api/v1/secret/{created['secret_key']}").json()
        assert revealed["value"] == "survives"
        assert "Traceback" not in server.logs()
    finally:
        stop_server(server)
        redis.terminate()
        redis.wait(timeout=10)
