"""On Redis too: nothing secret at rest, and start-up problems in one line."""

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import LiveServer, free_port, start_server, stop_server
from tests.services import (
    delete_prefixed,
    everything_under,
    require_redis,
    spawn_redis,
    unique_prefix,
)
from tests.system.flows import run_all_flows
from tests.system.test_startup_errors import assert_one_line, serve

pytestmark = pytest.mark.slow


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[tuple[LiveServer, str, str]]:
    url, prefix = require_redis(), unique_prefix()
    server = start_server(
        tmp_path / "data",
        tmp_path / "server.log",
        extra_env={"ONETIME_STORE_URL": f"{url}?prefix={prefix}"},
    )
    yield server, url, prefix
    stop_server(server)
    asyncio.run(delete_prefixed(url, prefix))


def test_redis_holds_no_content_keys_passphrases_or_addresses(
    redis_server: tuple[LiveServer, str, str],
) -> None:
    server, url, prefix = redis_server
    traces = run_all_flows(server.url, "redis")
    blobs = asyncio.run(everything_under(url, prefix))
    assert len(blobs) > 20  # the flows did leave receipts and counters to scan
    raw = b"\x00".join(blobs)
    needles = [n.encode() for n in traces.needles()] + [b"127.0.0.1"]
    assert [n.decode() for n in needles if n in raw or n.upper() in raw] == []
    assert not [
        line for line in server.logs().splitlines() if any(n in line for n in traces.needles())
    ]


def test_an_unreachable_redis_is_one_line(tmp_path: Path) -> None:
    result = serve(tmp_path, ONETIME_STORE_URL="redis://127.0.0.1:1/0", ONETIME_SECRET="s" * 40)
    assert_one_line(result, "cannot reach Redis at", "127.0.0.1:1")


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_a_wrong_redis_password_is_one_line(tmp_path: Path) -> None:
    port = free_port()
    guarded = spawn_redis(port, tmp_path, "--requirepass", "the-real-one")
    try:
        url = f"redis://:not-the-password@127.0.0.1:{port}/0"
        result = serve(tmp_path, ONETIME_STORE_URL=url, ONETIME_SECRET="s" * 40)
        assert_one_line(result, "cannot reach Redis")
        assert "not-the-password" not in result.stderr
    finally:
        guarded.terminate()
        guarded.wait(timeout=10)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis+cluster://", "names no host"),
        ("redis+cluster://host-without-port", "is not host:port"),
        ("redis+sentinel://127.0.0.1:26379", "names its service"),
        ("redis://127.0.0.1:6379/0?timeout=soon", "timeout"),
        # Before, redis-py handed a misspelt option to the connection: a TypeError's traceback.
        ("redis://127.0.0.1:6379/0?prefx=ot:", "does not know here: 'prefx'"),
        ("unix:///run/redis.sock?db=0&socket_timout=1", "does not know here: 'socket_timout'"),
        ("redis://127.0.0.1:6379/0?ssl_certfile=/c.pem", "does not know here: 'ssl_certfile'"),
        # Cluster and Sentinel URLs take only onetime's options; others used to be dropped.
        ("redis+cluster://127.0.0.1:6379?socket_keepalive=1", "here: 'socket_keepalive'"),
        ("redis+sentinel://127.0.0.1:26379/main?db=2", "does not know here: 'db'"),
        ("redis://127.0.0.1:6379/0?max_connections=many", "'max_connections'"),
    ],
)
def test_a_malformed_redis_url_is_one_line(tmp_path: Path, url: str, expected: str) -> None:
    result = serve(tmp_path, ONETIME_STORE_URL=url, ONETIME_SECRET="s" * 40)
    assert_one_line(result, expected)
