"""What only the Redis store promises beyond the contract: takes survive a stalled server."""

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from onetime.store import redis_scripts as scripts
from onetime.store.redis import RedisStore
from tests.conftest import free_port
from tests.services import spawn_redis
from tests.store.test_contract import NOW, records

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="redis-server is not installed"
)
BUSY_SCRIPT = "local s = redis.call('TIME')[1] * 1000000 + redis.call('TIME')[2] while (redis.call('TIME')[1] * 1000000 + redis.call('TIME')[2]) - s < 1500000 do end return 1"


@pytest.fixture
def own_redis_port(tmp_path: Path) -> Iterator[int]:
    """A redis-server of this test's own, so stalling it disturbs nobody."""
    port = free_port()
    server = spawn_redis(port, tmp_path)
    yield port
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
async def own_redis(own_redis_port: int) -> AsyncIterator[tuple[RedisStore, int]]:
    store = RedisStore(f"redis://127.0.0.1:{own_redis_port}/0")
    await store.open()
    yield store, own_redis_port
    await store.close()


async def test_the_same_take_sent_twice_gets_the_same_answer(
    own_redis: tuple[RedisStore, int],
) -> None:
    store, _ = own_redis
    secret, receipt = records()
    await store.create(secret, receipt, NOW)
    key = store._secret_key(secret.sid)
    first = await store._script(scripts.TAKE_SECRET, key, NOW, "token-a")
    again = await store._script(scripts.TAKE_SECRET, key, NOW, "token-a")
    other = await store._script(scripts.TAKE_SECRET, key, NOW, "token-b")
    assert first
    assert again == first
    assert other is None
    assert await store.get_secret(secret.sid, NOW) is None  # taken reads as gone


async def test_a_take_during_a_stall_longer_than_the_timeout_still_delivers(
    own_redis: tuple[RedisStore, int],
) -> None:
    store, port = own_redis
    secret, receipt = records()
    await store.create(secret, receipt, NOW)
    stall = await asyncio.create_subprocess_exec(
        "redis-cli", "-p", str(port), "eval", BUSY_SCRIPT, "0", stdout=asyncio.subprocess.DEVNULL
    )
    await asyncio.sleep(0.2)  # the server is now busy for about 1.3 more seconds
    taken = await store.take_secret(secret.sid, NOW)
    await stall.wait()
    assert taken == secret
    assert await store.take_secret(secret.sid, NOW) is None


async def test_a_claim_during_a_stall_still_reports_the_win(
    own_redis: tuple[RedisStore, int],
) -> None:
    store, port = own_redis
    secret, receipt = records(passphrase=True)
    await store.create(secret, receipt, NOW)
    stall = await asyncio.create_subprocess_exec(
        "redis-cli", "-p", str(port), "eval", BUSY_SCRIPT, "0", stdout=asyncio.subprocess.DEVNULL
    )
    await asyncio.sleep(0.2)
    claimed = await store.claim_secret(secret.sid, NOW)
    await stall.wait()
    assert claimed is True
    assert await store.claim_secret(secret.sid, NOW) is False
