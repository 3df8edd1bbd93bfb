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

With a `deadline` (a single server), a batch makes its own round trip on a pooled connection,
which it then keeps for the next batch: all commands written at once, the answers read in order,
the whole exchange under one timeout.
redis-py's pipeline puts a timeout of its own around every write and every answer read, which
cost about a tenth of a request's CPU. A batch whose connection fails or which misses its
deadline is sent once more, as redis-py's retry did before, on a new connection (every idle one
is closed first: they may all be dead), so a stall a little longer than the timeout still gets
its answer; a take or claim carries a token and answers the same when
repeated. (Not every command is like that: a counter hit sent twice counts twice, which only
makes a limit stricter.) Without a deadline (a cluster, which routes each command to the node
holding its key; Sentinel, which finds the master anew on failover) redis-py's pipeline is used.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

# Well under redis-py's default pool limit of 100 connections (per node on a cluster), which
# the store's other calls (SCAN, PING) share.
MAX_IN_FLIGHT = 32
# A connection lost or a deadline missed: the batch may not have run, or only in part.
_LOST = (OSError, RedisConnectionError, RedisTimeoutError)

Batch = list[tuple[tuple[Any, ...], "asyncio.Future[Any]"]]


class CommandBatcher:
    """Queues commands and sends each turn's queue as one non-transactional pipeline."""

    def __init__(
        self, client: Any, max_in_flight: int = MAX_IN_FLIGHT, deadline: float | None = None
    ) -> None:
        self._client = client
        self._max_in_flight = max_in_flight
        self._deadline = deadline
        self._queue: Batch = []
        self._flushing: set[asyncio.Task[None]] = set()
        # Connections of finished round trips, kept for the next batches instead of going back
        # to the pool: redis-py's pool takes a lock, checks the socket and records metrics on
        # every loan and return, which cost more than a small batch's own exchange.
        self._idle: list[Any] = []

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

    async def _pipeline(self, batch: Batch) -> list[Any]:
        pipe = self._client.pipeline(transaction=False)
        for args, _ in batch:
            pipe.execute_command(*args)
        return list(await pipe.execute(raise_on_error=False))

    async def _round_trip_or_retry(self, batch: Batch, deadline: float) -> list[Any]:
        try:
            return await self._round_trip(batch, deadline)
        except _LOST:
            # A connection gone stale (Redis restarted, say: then all of ours are), or a stall:
            # once more, on a connection made now. Any connection kept from before is suspect,
            # and the pool's check of one it hands out sees only a close already announced: a
            # NAT or load balancer that forgot a connection closes it when the client speaks.
            await self._drop_idle()
        try:
            return await self._round_trip(batch, deadline)
        except TimeoutError:  # ours; redis-py's own timeouts are its TimeoutError
            raise RedisTimeoutError(f"Redis did not answer within {deadline:g} s") from None

    async def _round_trip(self, batch: Batch, deadline: float) -> list[Any]:
        """Write every command of the batch, read every answer; an error answer fails only its
        command. The connection is this batch's alone; a clean one is kept for the next batch,
        one with answers still on their way is closed and goes back to the pool.

        The deadline covers getting the connection too: a new one connects and greets the
        server first, and a frozen server must not hold a batch longer there than in a read.
        """
        pool = self._client.connection_pool
        callbacks = self._client.response_callbacks
        connection: Any = None
        socket_timeout: float | None = None
        answers: list[Any] = []
        try:
            async with asyncio.timeout(deadline):
                connection = self._idle.pop() if self._idle else await pool.get_connection()
                socket_timeout, connection.socket_timeout = connection.socket_timeout, None
                commands = [args for args, _ in batch]
                await connection.send_packed_command(connection.pack_commands(commands))
                for args in commands:
                    try:
                        answer = await connection.read_response()
                    except ResponseError as error:  # read whole: the next answer follows
                        answers.append(error)
                        continue
                    callback = callbacks.get(args[0])
                    answers.append(answer if callback is None else callback(answer))
        finally:
            if connection is not None:
                connection.socket_timeout = socket_timeout
                if len(answers) < len(batch):
                    # Answers still on their way must not reach the connection's next user.
                    await connection.disconnect(nowait=True)
                    await pool.release(connection)
                else:
                    self._idle.append(connection)
        return answers

    async def _release_idle(self) -> None:
        """Give the kept connections back to the pool."""
        idle, self._idle = self._idle, []
        for connection in idle:
            await self._client.connection_pool.release(connection)

    async def _drop_idle(self) -> None:
        """Close every connection kept here or idle in the pool: the next ones connect afresh.
        (Those out with other batches go back to the pool closed if their batch fails.)"""
        await self._release_idle()
        with contextlib.suppress(RedisError, OSError):
            await self._client.connection_pool.disconnect(inuse_connections=False)

    async def _send(self, batch: Batch) -> None:
        try:
            if self._deadline is None:
                answers = await self._pipeline(batch)
            else:
                answers = await self._round_trip_or_retry(batch, self._deadline)
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
        await self._release_idle()
