"""Finding the real services tests need: skip with a reason locally, fail loudly in CI."""

import os
import socket
import uuid
from urllib.parse import urlsplit

import pytest

REDIS_URL = os.environ.get("ONETIME_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or 6379), timeout=1
        ):
            return True
    except OSError:
        return False


def require_redis() -> str:
    """The test Redis URL; without a server, skip (locally) or fail (in CI, where it must run)."""
    if not _reachable(REDIS_URL):
        message = (
            f"no Redis server at {REDIS_URL} (set ONETIME_TEST_REDIS_URL, or start redis-server)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return REDIS_URL


def unique_prefix() -> str:
    """A key prefix no other test (or person) uses, so tests clean up only what they made."""
    return f"onetime-test-{uuid.uuid4().hex[:12]}:"


async def delete_prefixed(url: str, prefix: str) -> int:
    """Delete the keys under `prefix` (and only those)."""
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await client.delete(*keys)
        return len(keys)
    finally:
        await client.aclose()
