"""Finding the real services tests need: skip with a reason locally, fail loudly in CI."""

import os
import socket
import subprocess
import uuid
from pathlib import Path
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


def _cluster_port() -> int:
    """A port that is free together with port + 10000, which a cluster node uses for its bus."""
    import random

    for _ in range(200):
        port = random.randint(20000, 45000)
        try:
            with socket.socket() as first, socket.socket() as second:
                first.bind(("127.0.0.1", port))
                second.bind(("127.0.0.1", port + 10000))
                return port
        except OSError:
            continue
    raise RuntimeError("no free port pair for a Redis Cluster node")


class RedisCluster:
    """Three real redis-server processes in cluster mode on loopback ports, joined together."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ports: list[int] = []
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in self.ports)

    def start(self) -> None:
        import shutil
        import time

        if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
            message = "redis-server and redis-cli are needed for the cluster tests"
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)
        for index in range(3):
            port = _cluster_port()
            node_dir = self.root / f"node-{index}"
            node_dir.mkdir(parents=True)
            command = [
                "redis-server", "--port", str(port), "--bind", "127.0.0.1",
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--save", "", "--appendonly", "no", "--dir", str(node_dir),
            ]  # fmt: skip
            self.processes.append(
                subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
            self.ports.append(port)
        for port in self.ports:
            self._wait_until_answering(port)
        nodes = [f"127.0.0.1:{port}" for port in self.ports]
        subprocess.run(
            ["redis-cli", "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            info = subprocess.run(
                ["redis-cli", "-p", str(self.ports[0]), "cluster", "info"],
                capture_output=True, text=True, timeout=5,
            )  # fmt: skip
            if "cluster_state:ok" in info.stdout:
                return
            time.sleep(0.2)
        raise RuntimeError("the test Redis Cluster did not reach cluster_state:ok")

    @staticmethod
    def _wait_until_answering(port: int) -> None:
        import time

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if _reachable(f"redis://127.0.0.1:{port}"):
                return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {port} did not start")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=10)


class RedisSentinel:
    """A real Redis primary watched by one real Sentinel, both on loopback ports."""

    service = "onetime-test"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.processes: list[subprocess.Popen[bytes]] = []
        self.primary_port = 0
        self.sentinel_port = 0

    @property
    def url(self) -> str:
        return f"redis+sentinel://127.0.0.1:{self.sentinel_port}/{self.service}/0"

    def start(self) -> None:
        import shutil
        import time

        if shutil.which("redis-server") is None:
            message = "redis-server is needed for the Sentinel tests"
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)
        self.primary_port, self.sentinel_port = _cluster_port(), _cluster_port()
        primary = [
            "redis-server",
            "--port",
            str(self.primary_port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ]
        self.processes.append(subprocess.Popen(primary, stdout=subprocess.DEVNULL))
        config = self.root / "sentinel.conf"
        config.write_text(
            f"port {self.sentinel_port}\nbind 127.0.0.1\ndir {self.root}\n"
            f"sentinel monitor {self.service} 127.0.0.1 {self.primary_port} 1\n"
        )
        sentinel = ["redis-server", str(config), "--sentinel"]
        self.processes.append(subprocess.Popen(sentinel, stdout=subprocess.DEVNULL))
        for port in (self.primary_port, self.sentinel_port):
            RedisCluster._wait_until_answering(port)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            answer = subprocess.run(
                ["redis-cli", "-p", str(self.sentinel_port), "sentinel", "get-master-addr-by-name", self.service],
                capture_output=True, text=True, timeout=5,
            )  # fmt: skip
            if str(self.primary_port) in answer.stdout:
                return
            time.sleep(0.1)
        raise RuntimeError("the test Sentinel does not know its primary")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=10)


def wait_for_port(port: int, seconds: float = 10) -> None:
    """Return once something accepts connections on the loopback port."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _reachable(f"redis://127.0.0.1:{port}"):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def spawn_redis(port: int, directory: Path, *options: str) -> subprocess.Popen[bytes]:
    """A throwaway redis-server of one test's own on a loopback port, answering when returned."""
    command = [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--dir",
        str(directory),
        *options,
    ]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    wait_for_port(port)
    return server


async def everything_under(url: str, prefix: str) -> list[bytes]:
    """Every key under `prefix`, and every field, member and value in them: for at-rest scans."""
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    blobs: list[bytes] = []
    try:
        async for key in client.scan_iter(match=f"{prefix}*", count=1000):
            blobs.append(key)
            kind = await client.type(key)
            if kind == b"hash":
                for field, value in (await client.hgetall(key)).items():
                    blobs += [field, value]
            elif kind == b"set":
                blobs += list(await client.smembers(key))
            elif kind == b"string":
                blobs.append(await client.get(key) or b"")  # raw: a DUMP may be compressed
            elif kind == b"zset":
                blobs += [member for member, _ in await client.zrange(key, 0, -1, withscores=True)]
            elif kind == b"list":
                blobs += list(await client.lrange(key, 0, -1))
            else:
                raise AssertionError(f"a Redis {kind!r} the at-rest scans cannot read raw")
    finally:
        await client.aclose()
    return blobs
