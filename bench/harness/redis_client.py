"""A minimal Redis client (RESP2 over a socket), enough for the few commands the harness sends.

The harness runs on the standard library and Rich only; redis-py belongs to the servers under
test, and its version may move with them.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from types import TracebackType
from typing import Self

Reply = bytes | int | list["Reply"] | None

_SCAN_BATCH = 10_000

# One SCAN step done inside Redis: the keys it finds under the prefixes (ARGV[4:]) are unlinked
# there, so a million keys never travel to the harness and through its Python parser (that
# took half a minute at the end of every run). Returns the next cursor and how many went.
_DELETE_STEP = """
local reply = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[3])
local doomed = {}
for _, key in ipairs(reply[2]) do
  for i = 4, #ARGV do
    if string.sub(key, 1, #ARGV[i]) == ARGV[i] then
      doomed[#doomed + 1] = key
      break
    end
  end
end
for first = 1, #doomed, 1000 do
  redis.call('UNLINK', unpack(doomed, first, math.min(first + 999, #doomed)))
end
return {reply[1], #doomed}
"""


class RedisError(RuntimeError):
    """Redis answered with an error, or could not be reached."""


def escape_glob(text: str) -> str:
    """`text` as a literal inside a SCAN MATCH pattern."""
    return "".join("\\" + char if char in "*?[]\\" else char for char in text)


def _common_start(texts: tuple[str, ...]) -> str:
    """The longest string every one of `texts` starts with."""
    shortest = min(texts, key=len, default="")
    for length in range(len(shortest), 0, -1):
        if all(text.startswith(shortest[:length]) for text in texts):
            return shortest[:length]
    return ""


class RedisClient:
    """One connection to Redis; use it as a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 6379, timeout: float = 60.0) -> None:
        try:
            self._socket = socket.create_connection((host, port), timeout=timeout)
        except OSError as error:
            raise RedisError(f"cannot reach Redis at {host}:{port}: {error}") from None
        self._reader = self._socket.makefile("rb")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._reader.close()
        self._socket.close()

    def command(self, *args: str | bytes | int) -> Reply:
        """Send one command and return its reply."""
        parts = [arg if isinstance(arg, bytes) else str(arg).encode() for arg in args]
        request = [b"*%d\r\n" % len(parts)]
        for part in parts:
            request.append(b"$%d\r\n%s\r\n" % (len(part), part))
        self._socket.sendall(b"".join(request))
        return self._read_reply()

    def _read_reply(self) -> Reply:
        line = self._reader.readline()
        if not line:
            raise RedisError("Redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest
        if kind == b"-":
            raise RedisError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = self._reader.read(size + 2)
            return data[:-2]
        if kind == b"*":
            count = int(rest)
            return None if count < 0 else [self._read_reply() for _ in range(count)]
        raise RedisError(f"unexpected reply from Redis: {line!r}")

    # -- what the harness asks ------------------------------------------------------------------

    def info(self, section: str) -> dict[str, str]:
        """One INFO section as a dict of its `name:value` lines."""
        reply = self.command("INFO", section)
        if not isinstance(reply, bytes):
            raise RedisError("INFO did not answer text")
        fields: dict[str, str] = {}
        for line in reply.decode().splitlines():
            name, sep, value = line.partition(":")
            if sep and not name.startswith("#"):
                fields[name] = value
        return fields

    def used_memory(self) -> int:
        return int(self.info("memory")["used_memory"])

    def process_identity(self) -> tuple[int | None, int | None]:
        """The pid Redis reports for itself (in its own pid namespace, which may not be ours),
        and how many seconds it has been running."""
        server = self.info("server")
        pid, uptime = server.get("process_id", ""), server.get("uptime_in_seconds", "")
        return (int(pid) if pid.isdigit() else None, int(uptime) if uptime.isdigit() else None)

    def version(self) -> str:
        return self.info("server").get("redis_version", "unknown")

    def scan_batches(self, prefix: str) -> Iterator[list[bytes]]:
        """Keys starting with `prefix`, a SCAN batch at a time."""
        pattern = escape_glob(prefix) + "*"
        cursor = b"0"
        while True:
            reply = self.command("SCAN", cursor, "MATCH", pattern, "COUNT", _SCAN_BATCH)
            if not isinstance(reply, list) or len(reply) != 2:
                raise RedisError("SCAN answered something unexpected")
            next_cursor, batch = reply
            if not isinstance(next_cursor, bytes) or not isinstance(batch, list):
                raise RedisError("SCAN answered something unexpected")
            cursor = next_cursor
            yield [key for key in batch if isinstance(key, bytes)]
            if cursor == b"0":
                return

    def first_key(self, prefix: str) -> bytes | None:
        """Some key starting with `prefix`, or None when there is none."""
        for batch in self.scan_batches(prefix):
            if batch:
                return batch[0]
        return None

    def delete_prefixes(self, *prefixes: str) -> int:
        """Delete every key starting with one of `prefixes`; return how many there were.

        Only those: the Redis is shared (the test suite and people use it too), so the harness
        never flushes a database. One pass over the keyspace serves all the prefixes.
        """
        pattern = escape_glob(_common_start(prefixes)) + "*"
        cursor = b"0"
        deleted = 0
        while True:
            reply = self.command("EVAL", _DELETE_STEP, "0", cursor, pattern, _SCAN_BATCH, *prefixes)
            if not isinstance(reply, list) or len(reply) != 2:
                raise RedisError("the deletion script answered something unexpected")
            next_cursor, count = reply
            if not isinstance(next_cursor, bytes) or not isinstance(count, int):
                raise RedisError("the deletion script answered something unexpected")
            cursor, deleted = next_cursor, deleted + count
            if cursor == b"0":
                return deleted

    def delete_prefix(self, prefix: str) -> int:
        return self.delete_prefixes(prefix)
