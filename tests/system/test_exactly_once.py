"""Exactly once, against a real server with several worker processes on one SQLite file."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import LiveServer, start_server, stop_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root: Path = tmp_path_factory.mktemp("two-workers")
    server = start_server(root / "data", root / "server.log", workers=2)
    yield server
    stop_server(server)


async def _race(url: str, path: str, body: dict[str, str], count: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:
        return await asyncio.gather(*(http.post(path, json=body) for _ in range(count)))


async def test_100_concurrent_reveals_yield_one_value(two_workers: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=two_workers.url) as http:
        created = await http.post("/api/v1/share", data={"secret": "only once, please"})
    key = created.json()["secret_key"]
    answers = await _race(two_workers.url, f"/api/v2/secret/{key}/reveal", {}, 100)
    values = [a.json()["record"]["secret_value"] for a in answers if a.status_code == 200]
    assert values == ["only once, please"]
    assert sorted({a.status_code for a in answers}) == [200, 404]


async def test_100_concurrent_passphrase_reveals_yield_one_value(two_workers: LiveServer) -> None:
    body = {"secret": {"secret": "guarded", "passphrase": "correct horse"}}
    async with httpx.AsyncClient(base_url=two_workers.url) as http:
        created = await http.post("/api/v2/secret/conceal", json=body)
    key = created.json()["record"]["secret"]["key"]
    answers = await _race(
        two_workers.url, f"/api/v2/secret/{key}/reveal", {"passphrase": "correct horse"}, 100
    )
    values = [a.json()["record"]["secret_value"] for a in answers if a.status_code == 200]
    assert values == ["guarded"]


async def test_both_workers_served_requests(two_workers: LiveServer) -> None:
    # The race above only proves something if more than one process took part.
    async with httpx.AsyncClient(base_url=two_workers.url) as http:
        await asyncio.gather(*(http.get("/api/v2/status") for _ in range(50)))
    pids = {
        line.split("[")[1].split("]")[0]
        for line in two_workers.logs().splitlines()
        if "Started server process" in line
    }
    assert len(pids) == 2
