"""Commands issued during one turn of the event loop go to Redis together, as one pipeline.

redis-py's asyncio client spends far more CPU on each call (a pooled connection, a timeout, a
retry wrapper, its own bookkeeping) than on the bytes of the command. A busy worker has many
requests waiting on Redis at once, so gathering their commands into one pipeline pays that cost
once per turn instead of once per command: it measured three times less CPU per command with 32
requests in flight. Every command still stands alone (no MULTI): each is one command or one Lua
script on one key, atomic by itself, so batching changes no guarantee and works on a cluster,
where redis-py's cluster pipeline sends each command to the node that holds its key.

A failure of the whole pipeline (Redis unreachable, a timeout) fails each command in it; an
error answer to one command (a missing script, say) fails only that command.

Each pipeline on its way holds a connection (one per node on a cluster), and redis-py's pools
refuse a connection beyond their limit (100 per node by default) with an error, not a wait. So
at most `max_in_flight` pipelines travel at once; commands issued meanwhile wait and go together
in the next one as soon as one returns. Without this a burst on a slow server opened one
pipeline per turn of the event loop until the pool ran out and requests failed with 503.

With a `deadline`, a pipeline's whole round trip runs under one timeout, and the connections
skip redis-py's own timeout around every write and every answer they read (`UNDER_DEADLINE`,
honoured by the store's connection class): those timeouts cost about a tenth of a request's CPU.
A pipeline that misses its deadline is sent once more, on a fresh connection, as redis-py's
retry did before: every command we batch may be repeated (a take or claim by the same token
answers the same), and a stall a little longer than the timeout then still gets its answer.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

# Well under redis-py's default pool limit of 100 connections (per node on a cluster), which
# the store's other calls (SCAN, PING) share.
MAX_IN_FLIGHT = 32

# True inside a pipeline that runs under the batcher's deadline (each pipeline runs in a task of
# its own, so the flag never leaks to other calls on the client).
UNDER_DEADLINE: ContextVar[bool] = ContextVar("onetime_redis_under_deadline", default=False)


class CommandBatcher:
    """Queues commands and sends each turn's queue as one non-transactional pipeline."""

    def __init__(
        self, client: Any, max_in_flight: int = MAX_IN_FLIGHT, deadline: float | None = None
    ) -> None:
        self._client = client
        self._max_in_flight = max_in_flight
        self._deadline = deadline
        self._queue: list[tuple[tuple[Any, ...], asyncio.Future[Any]]] = []
        self._flushing: set[asyncio.Task[None]] = set()

    def call(self, *args: Any) -> asyncio.Future[Any]:
        """Queue one command (its name and arguments); the future gets its answer."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._queue:
            # Later in this same turn, so every request that runs now adds its commands first.
            loop.call_soon(self._send_queue)
        self._queue.append((args, future))
        return future

    def _send_queue(self) -> None:
        if not self._queue or len(self._flushing) >= self._max_in_flight:
            return  # nothing to send, or the next pipeline to return sends it (_sent)
        batch, self._queue = self._queue, []
        task = asyncio.ensure_future(self._send(batch))
        self._flushing.add(task)  # a reference, so the task is not collected mid-flight
        task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._flushing.discard(task)
        if self._queue:
            asyncio.get_running_loop().call_soon(self._send_queue)

    async def _execute(self, batch: list[tuple[tuple[Any, ...], asyncio.Future[Any]]]) -> list[Any]:
        pipe = self._client.pipeline(transaction=False)
        for args, _ in batch:
            pipe.execute_command(*args)
        return list(await pipe.execute(raise_on_error=False))

    async def _execute_by_deadline(
        self, batch: list[tuple[tuple[Any, ...], asyncio.Future[Any]]], deadline: float
    ) -> list[Any]:
        UNDER_DEADLINE.set(True)
        try:
            async with asyncio.timeout(deadline):
                return await self._execute(batch)
        except TimeoutError:
            pass  # the connection was closed under the cancelled read or write: try once more
        try:
            async with asyncio.timeout(deadline):
                return await self._execute(batch)
        except TimeoutError:
            raise RedisTimeoutError(f"Redis did not answer within {deadline:g} s") from None

    async def _send(self, batch: list[tuple[tuple[Any, ...], asyncio.Future[Any]]]) -> None:
        try:
            if self._deadline is None:
                answers = await self._execute(batch)
            else:
                answers = await self._execute_by_deadline(batch, self._deadline)
        except (RedisError, OSError) as error:
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        except RuntimeError as error:
            # uvloop says so when a transport closed under a write (another command's timeout
            # reset the connection): a lost connection like any other, not a bug to re-raise.
            for _, future in batch:
                if not future.done():
                    future.set_exception(RedisConnectionError(f"the connection failed: {error}"))
            return
        except BaseException as error:  # cancelled while closing, or a bug: nobody may hang
            for _, future in batch:
                if not future.done():
                    future.set_exception(RedisError(f"the pipeline failed: {error!r}"))
            raise
        for (_, future), answer in zip(batch, answers, strict=True):
            if future.done():  # its request was cancelled (the client went away)
                continue
            if isinstance(answer, Exception):
                future.set_exception(answer)
            else:
                future.set_result(answer)

    async def drain(self) -> None:
        """Send what waits and wait for every pipeline on its way (before the client is closed)."""
        while self._flushing or self._queue:
            if self._flushing:
                await asyncio.gather(*self._flushing, return_exceptions=True)
            else:
                self._send_queue()
