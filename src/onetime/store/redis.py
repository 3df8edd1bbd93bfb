"""The Redis/Valkey store: a single server, Sentinel, or Cluster, through redis-py's asyncio client.

Key layout (every key starts with the prefix, `onetime:` by default):

    {prefix}s:{sid hex}   string a secret (layout in redis_records.py)       TTL = lifetime
    {prefix}r:{rid hex}   string a receipt (likewise)                         TTL = twice the lifetime
    {prefix}c:{name}      hash   a counter: n (value), x (window end)             TTL = window
    {prefix}i:{kind}:{key hex}
                          hash   an item: o (owner), v (value), x (expires at; absent: never)
                                                                                   TTL = lifetime, if any
    {prefix}o:{owner}     set    the owner's index: `{kind}:{key hex}` of each item it owns

Every operation is one command or one Lua script on one key (see redis_scripts.py).

An item and its owner's index are two keys, which a cluster may keep on different nodes, so
they cannot change together. The index may therefore name more than the owner has, never less:
a member is added before its item is written (and again after), and readers check each item's
owner and drop members whose item is gone.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import hiredis
from redis import exceptions as redis_errors
from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff

from onetime.core.errors import StoreUnavailable
from onetime.core.records import Counter, ReceiptState, StoredItem, StoredReceipt, StoredSecret
from onetime.store import redis_scripts as scripts
from onetime.store.redis_batch import CommandBatcher
from onetime.store.redis_records import (
    TIMESTAMP_OFFSET,
    pack_receipt,
    pack_secret,
    unpack_receipt_record,
    unpack_secret,
)

log = logging.getLogger("onetime.store.redis")
_UNAVAILABLE = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)
# What a single server's URL may carry besides ours, by scheme: options redis-py reads from a
# URL, and those it takes as text (a TLS connection's files and checks, the client's name, a Unix
# socket's credentials). Each connection class takes only its own: redis-py hands the rest to
# it as they are, and the first connection failed with a TypeError's traceback. Left out on
# purpose: socket_timeout and socket_connect_timeout (our `timeout` sets both, and the batches'
# deadline relies on it), retry_on_timeout (we set the retry), protocol and legacy_responses
# (they change the answers the store reads).
_COMMON_OPTIONS = frozenset(
    {"db", "health_check_interval", "max_connections", "socket_read_size", "client_name"}
    | {"username", "password"}
)
_TCP_OPTIONS = _COMMON_OPTIONS | {"socket_keepalive"}
_TLS_OPTIONS = _TCP_OPTIONS | {
    "ssl_ca_certs", "ssl_ca_path", "ssl_cert_reqs", "ssl_certfile", "ssl_check_hostname",
    "ssl_ciphers", "ssl_exclude_verify_flags", "ssl_include_verify_flags", "ssl_keyfile",
    "ssl_min_version", "ssl_password",
}  # fmt: skip
_OPTIONS_BY_SCHEME = {"redis": _TCP_OPTIONS, "rediss": _TLS_OPTIONS, "unix": _COMMON_OPTIONS}
_SET_BY_US = frozenset({"socket_timeout", "socket_connect_timeout"})
_ENCODE_SPECIAL_CHARACTERS = (
    "the Redis URL holds a {char}: percent-encode the password's special characters "
    "(a '?' as %3F, a '#' as %23, a '/' as %2F, an '@' as %40)"
)
_CLUSTER_AND_SENTINEL = ("redis+cluster", "rediss+cluster", "redis+sentinel", "rediss+sentinel")


class _ScriptMissing(StoreUnavailable):
    """Redis answered NOSCRIPT: it ran nothing, and the script's source should go along."""


class _WrongType(StoreUnavailable):
    """Redis answered WRONGTYPE: the key holds a record in an earlier version's layout."""


@functools.cache
def _digest(source: str) -> str:
    return hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()


class RedisURLError(ValueError):
    """The Redis URL cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class RedisTarget:
    """What a store URL names: the kind of deployment, where it is, and our own options."""

    kind: str  # "single", "cluster" or "sentinel"
    url: str  # for "single": the URL redis-py understands
    nodes: tuple[tuple[str, int], ...] = ()
    service: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = None
    tls: bool = False
    prefix: str = "onetime:"
    timeout: float = 1.0


def parse_redis_url(url: str) -> RedisTarget:
    """Read `redis://`, `rediss://`, `unix://`, `redis+sentinel://` and `redis+cluster://` URLs.

    Our options ride in the query string: `prefix` (key prefix) and `timeout` (seconds).
    """
    if "#" in url:
        # Only a password's unencoded "#" puts one there; what follows would be taken for a
        # fragment, and the host and port left over (a piece of the password) named in errors.
        raise RedisURLError(_ENCODE_SPECIAL_CHARACTERS.format(char="'#'"))
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    prefix = query.pop("prefix", "onetime:")
    try:
        timeout = float(query.pop("timeout", "1.0"))
    except ValueError:
        raise RedisURLError("the timeout in the Redis URL must be a number of seconds") from None
    scheme = parts.scheme
    if scheme not in _OPTIONS_BY_SCHEME and scheme not in _CLUSTER_AND_SENTINEL:
        raise RedisURLError(f"unsupported Redis URL scheme {scheme!r}")
    _check_options(scheme, query, parts.query)
    if scheme in _OPTIONS_BY_SCHEME:
        plain = urlunsplit(parts._replace(query=urlencode(query)))
        return RedisTarget("single", plain, prefix=prefix, timeout=timeout)
    userinfo, _, hosts = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    nodes = tuple(_host_port(item) for item in hosts.split(",") if item)
    if not nodes:
        raise RedisURLError("the Redis URL names no host")
    path = [p for p in parts.path.split("/") if p]
    common = {
        "nodes": nodes,
        "username": unquote(username) or None,
        "password": unquote(password) or None,
        "tls": scheme.startswith("rediss"),
        "prefix": prefix,
        "timeout": timeout,
    }
    if scheme.endswith("+cluster"):
        return RedisTarget("cluster", url, **common)  # type: ignore[arg-type]
    if not path:
        raise RedisURLError(
            "a Sentinel URL names its service: redis+sentinel://host:26379/mymaster"
        )
    db = int(path[1]) if len(path) > 1 and path[1].isdigit() else 0
    return RedisTarget("sentinel", url, service=path[0], db=db, **common)  # type: ignore[arg-type]


def _check_options(scheme: str, query: dict[str, str], raw_query: str) -> None:
    """Refuse, by name, an option of the URL that would be ignored or break the store."""
    if "@" in raw_query:
        # A password with a "?" in it, not percent-encoded: the rest of it reads as a query
        # string. Name no option: it would be a piece of the password.
        raise RedisURLError(_ENCODE_SPECIAL_CHARACTERS.format(char="'@' in its query string"))
    known = _OPTIONS_BY_SCHEME.get(scheme, frozenset())
    for name in sorted(query):
        if name in _SET_BY_US:
            raise RedisURLError(f"the Redis URL's {name!r} is onetime's to set: use 'timeout'")
        if name not in known:
            raise RedisURLError(
                f"the Redis URL has an option onetime does not know here: {name!r} "
                f"(see docs/redis.md for what a {scheme}:// URL takes)"
            )


def _host_port(item: str) -> tuple[str, int]:
    host, _, port = item.rpartition(":")
    if not host or not port.isdigit():
        raise RedisURLError(f"{item!r} is not host:port")
    return host.strip("[]"), int(port)


def _connect(target: RedisTarget) -> Any:
    options: dict[str, Any] = {
        "socket_timeout": target.timeout,
        "socket_connect_timeout": target.timeout,
        "decode_responses": False,
        # One immediate retry (a pooled connection may have gone stale), never a backoff: when
        # Redis is down, requests fail within about `timeout` with a 503; when it stalls,
        # within about twice that. The retry after a timeout is deliberate: takes and claims
        # are idempotent, so a stall a little longer than `timeout` still delivers the secret
        # instead of using it up unseen (tests/store/test_redis.py, the stall tests).
        "retry": Retry(NoBackoff(), 1),
    }
    if target.kind == "single":
        return _pack_with_hiredis(Redis.from_url(target.url, **options))
    options.update(username=target.username, password=target.password, ssl=target.tls)
    if target.kind == "cluster":
        nodes = [ClusterNode(host, port) for host, port in target.nodes]
        return RedisCluster(startup_nodes=nodes, **options)
    sentinel = Sentinel(  # type: ignore[no-untyped-call]  # redis-py leaves this one untyped
        list(target.nodes), sentinel_kwargs={"socket_timeout": target.timeout}
    )
    client = _pack_with_hiredis(sentinel.master_for(target.service, db=target.db, **options))
    # The sentinels' own connections must be closed with the client (see RedisStore.close).
    client.onetime_sentinels = sentinel.sentinels
    return client


class _HiredisPacking:
    """Packs commands with hiredis's C encoder, as redis-py's own synchronous client does.

    The asyncio client encodes every argument in Python, which measured as the largest single
    cost of a request that writes a record. Only the packing changes; values we send are bytes,
    str and int, which both encoders write alike.
    """

    def pack_command(self, *args: Any) -> list[bytes]:
        name = args[0]
        # A command name may carry words of its own ("SCRIPT FLUSH"): those go as arguments.
        words = (name.encode() if isinstance(name, str) else name).split()
        try:
            return [hiredis.pack_command((*words, *args[1:]))]
        except TypeError as error:
            raise redis_errors.DataError(str(error)) from None


def _pack_with_hiredis(client: Any) -> Any:
    """Make the client's pool open connections that pack with hiredis (any connection class)."""
    pool = client.connection_pool
    base = pool.connection_class
    pool.connection_class = type(f"Hiredis{base.__name__}", (_HiredisPacking, base), {})
    return client


def _fields(raw: Any) -> dict[bytes, bytes]:
    """HGETALL answers a dict; a Lua script answers a flat list. Accept both."""
    if isinstance(raw, dict):
        return cast(dict[bytes, bytes], raw)
    items = list(raw)
    return dict(zip(items[::2], items[1::2], strict=True))


def _int_or_none(value: bytes | None) -> int | None:
    return int(value) if value else None


def _collect(future: asyncio.Future[Any]) -> None:
    """Take a future's exception so that asyncio does not log it as never retrieved."""
    if not future.cancelled():
        future.exception()


def _item_member(kind: str, key: bytes) -> bytes:
    """How an owner's index names an item: its key without the prefix and the `i:`."""
    return kind.encode() + b":" + key.hex().encode()


def _item(kind: str, key: bytes, fields: dict[bytes, bytes], now: int) -> StoredItem | None:
    if b"o" not in fields:
        return None
    expires_at = _int_or_none(fields.get(b"x"))
    if expires_at is not None and expires_at <= now:
        return None
    return StoredItem(kind, key, fields[b"o"].decode(), fields[b"v"], expires_at)


class RedisStore:
    """A `Store` on Redis or Valkey."""

    def __init__(self, url: str) -> None:
        self.target = parse_redis_url(url)
        self.prefix = self.target.prefix.encode()
        self._client: Any = None
        self._batcher: CommandBatcher | None = None

    @property
    def client(self) -> Any:
        if self._client is None:
            raise StoreUnavailable("the Redis store is not open")
        return self._client

    async def _call(self, awaitable: Awaitable[Any]) -> Any:
        try:
            return await awaitable
        except _UNAVAILABLE as error:
            raise StoreUnavailable(f"Redis is unreachable: {error}") from None
        except redis_errors.NoScriptError:
            raise _ScriptMissing("Redis does not have the script") from None
        except redis_errors.ResponseError as error:
            # An error reply starts with its code (the Redis protocol); redis-py has no class
            # of its own for this one.
            if str(error).startswith("WRONGTYPE"):
                raise _WrongType("the key holds another kind of value") from None
            raise StoreUnavailable(f"Redis failed: {error}") from None
        except redis_errors.RedisError as error:
            raise StoreUnavailable(f"Redis failed: {error}") from None

    def _queue(self, *args: Any) -> asyncio.Future[Any]:
        """Queue one command with the others of this turn of the event loop (redis_batch.py)."""
        if self._batcher is None:
            raise StoreUnavailable("the Redis store is not open")
        return self._batcher.call(*args)

    async def _cmd(self, *args: Any) -> Any:
        """One command, sent with the others of this turn of the event loop."""
        return await self._call(self._queue(*args))

    async def _script(self, source: str, key: bytes, *args: Any) -> Any:
        # By digest: Redis keeps scripts it has run; a server that restarted has forgotten them,
        # and then (only then) the source goes along. A missing script ran nothing: safe to resend.
        try:
            return await self._cmd("EVALSHA", _digest(source), 1, key, *args)
        except _ScriptMissing:
            return await self._cmd("EVAL", source, 1, key, *args)

    def _secret_key(self, sid: bytes) -> bytes:
        return self.prefix + b"s:" + sid.hex().encode()

    def _receipt_key(self, rid: bytes) -> bytes:
        return self.prefix + b"r:" + rid.hex().encode()

    def _counter_key(self, name: str) -> bytes:
        return self.prefix + b"c:" + name.encode()

    def _item_key(self, kind: str, key: bytes) -> bytes:
        return self.prefix + b"i:" + _item_member(kind, key)

    def _owner_key(self, owner: str) -> bytes:
        return self.prefix + b"o:" + owner.encode()

    # -- lifecycle ----------------------------------------------------------------------------

    async def open(self) -> None:
        try:
            self._client = _connect(self.target)
        except (redis_errors.RedisError, ValueError) as error:
            raise StoreUnavailable(f"cannot use the Redis store: {error}") from None
        # A single server's batches make their own round trip under one deadline; a cluster's
        # (routed by key) and Sentinel's (master found anew on failover) go through redis-py.
        deadline = self.target.timeout if self.target.kind == "single" else None
        self._batcher = CommandBatcher(self._client, deadline=deadline)
        where = (
            ", ".join(f"{h}:{p}" for h, p in self.target.nodes) or self.target.url.split("@")[-1]
        )
        try:
            await self.ping()
        except StoreUnavailable as error:
            await self.close()
            raise StoreUnavailable(f"cannot reach Redis at {where}: {error.message}") from None

    async def close(self) -> None:
        if self._batcher is not None:
            batcher, self._batcher = self._batcher, None
            await batcher.drain()
        if self._client is not None:
            client, self._client = self._client, None
            for connection in (client, *getattr(client, "onetime_sentinels", ())):
                try:
                    await connection.aclose()
                except (*_UNAVAILABLE, redis_errors.RedisError):
                    pass

    async def ping(self) -> None:
        await self._call(self.client.ping())

    # -- secrets and receipts -----------------------------------------------------------------

    async def create(self, secret: StoredSecret | None, receipt: StoredReceipt, now: int) -> None:
        # One SET each: a record never exists without its TTL, and a copy that overwrites one
        # replaces it whole. Both are queued at once (as futures: a task each cost more than
        # the SET) and go out in one batch, the receipt first: if the secret's write fails,
        # the receipt reads as orphaned. Awaited one after the other: gathering two futures
        # cost 4.5 µs more, and they come back in the same batch anyway.
        receipt_key, packed_receipt = self._receipt_key(receipt.rid), pack_receipt(receipt)
        if secret is None:
            await self._call(self._set(receipt_key, packed_receipt, receipt, now))
            return
        packed_secret = pack_secret(secret)  # before queuing: nothing may fail in between
        receipt_written = self._set(receipt_key, packed_receipt, receipt, now)
        secret_written = self._set(self._secret_key(secret.sid), packed_secret, secret, now)
        try:
            await self._call(receipt_written)
        except BaseException:
            # Its answer is not wanted any more, but must be collected (or asyncio logs it).
            secret_written.add_done_callback(_collect)
            raise
        await self._call(secret_written)

    def _set(
        self, key: bytes, record: bytes, lifetime: StoredSecret | StoredReceipt, now: int
    ) -> asyncio.Future[Any]:
        return self._queue("SET", key, record, "EX", max(1, lifetime.expires_at - now))

    async def _read(self, key: bytes, upgrade: str) -> bytes | None:
        """The record at `key` as a string; one kept as a hash by an earlier version is rewritten."""
        try:
            return cast(bytes | None, await self._cmd("GET", key))
        except _WrongType:
            return cast(bytes | None, await self._script(upgrade, key))

    async def get_secret(self, sid: bytes, now: int) -> StoredSecret | None:
        record = await self._read(self._secret_key(sid), scripts.READ_SECRET)
        return unpack_secret(sid, record, now)

    async def take_secret(self, sid: bytes, now: int) -> StoredSecret | None:
        key = self._secret_key(sid)
        record = await self._script(scripts.TAKE_SECRET, key, now, secrets.token_hex(16))
        secret = unpack_secret(sid, record, now)
        if secret is None:  # not there, taken by another, or has a passphrase
            return None
        # Two keys (two nodes, maybe), so two commands; queued together they cost one round trip
        # (the DEL first, then the receipt's script, in the same turn; no task for either).
        deleting = self._queue_delete(key)
        try:
            await self._mark_revealed(secret.rid, now)
        finally:
            await self._forget(deleting)
        return secret

    async def _mark_revealed(self, rid: bytes, now: int) -> None:
        """The secret is taken: it must reach its reader even if its receipt cannot be updated."""
        try:
            await self.advance_receipt(rid, ReceiptState.REVEALED, now)
        except StoreUnavailable:
            log.warning("a revealed secret's receipt could not be marked; it reads as orphaned")

    async def claim_secret(self, sid: bytes, now: int) -> bool:
        key = self._secret_key(sid)
        claimed = bool(await self._script(scripts.CLAIM_SECRET, key, now, secrets.token_hex(16)))
        if claimed:
            await self._forget(self._queue_delete(key))
        return claimed

    def _queue_delete(self, key: bytes) -> asyncio.Future[Any] | None:
        """Queue the DEL of a taken record; None if the store is closing (it expires anyway)."""
        try:
            return self._queue("DEL", key)
        except StoreUnavailable:
            return None

    async def _forget(self, deleting: asyncio.Future[Any] | None) -> None:
        """A taken record is deleted now rather than in a minute; it already reads as gone."""
        if deleting is not None:
            try:
                await self._call(deleting)
                return
            except StoreUnavailable:
                pass
        log.warning("a taken secret could not be deleted yet; it expires within a minute")

    async def mark_secret_previewed(self, sid: bytes, now: int) -> None:
        await self._script(scripts.MARK_PREVIEWED, self._secret_key(sid), now)

    async def get_receipt(self, rid: bytes, now: int) -> StoredReceipt | None:
        record = await self._read(self._receipt_key(rid), scripts.READ_RECEIPT)
        return unpack_receipt_record(rid, record, now)

    async def advance_receipt(self, rid: bytes, state: ReceiptState, now: int) -> bool:
        key = self._receipt_key(rid)
        code, offset = state.value[:1], TIMESTAMP_OFFSET[state]
        return bool(await self._script(scripts.ADVANCE_RECEIPT, key, now, code, state.rank, offset))

    async def set_receipt_memo(self, rid: bytes, memo: bytes | None, now: int) -> bool:
        key = self._receipt_key(rid)
        return bool(await self._script(scripts.SET_MEMO, key, now, memo or b""))

    async def delete_receipt(self, rid: bytes, now: int) -> bool:
        return bool(await self._script(scripts.DELETE_RECEIPT, self._receipt_key(rid), now))

    # -- items --------------------------------------------------------------------------------

    async def put_item(self, item: StoredItem, now: int, only_if_absent: bool = False) -> bool:
        owner_key, member = self._owner_key(item.owner), _item_member(item.kind, item.key)
        # Indexed first: a failure after this leaves a member without an item (readers drop
        # it), never an item its owner cannot find and delete.
        await self._cmd("SADD", owner_key, member)
        expires_at = "" if item.expires_at is None else item.expires_at
        ttl = 0 if item.expires_at is None else max(1, item.expires_at - now)
        written = bool(
            await self._script(
                scripts.PUT_ITEM, self._item_key(item.kind, item.key), now,
                int(only_if_absent), item.owner, item.value, expires_at, ttl,
                secrets.token_hex(16) if only_if_absent else "",
            )
        )  # fmt: skip
        if written:
            # Again, in case a reader dropped the member between the first add and the write,
            # having looked at the item just before it was there.
            await self._cmd("SADD", owner_key, member)
        return written

    async def get_item(self, kind: str, key: bytes, now: int) -> StoredItem | None:
        raw = await self._cmd("HGETALL", self._item_key(kind, key))
        return _item(kind, key, _fields(raw), now)

    async def take_item(self, kind: str, key: bytes, now: int) -> StoredItem | None:
        item_key, token = self._item_key(kind, key), secrets.token_hex(16)
        raw = await self._script(scripts.TAKE_ITEM, item_key, now, token)
        if not raw:
            return None
        try:  # now rather than in a minute; it already reads as gone
            await self._script(scripts.DROP_TAKEN_ITEM, item_key, token)
        except StoreUnavailable:
            log.warning("a taken item could not be deleted yet; it expires within a minute")
        owner, value, expires_at = raw
        # The owner's index keeps the member; its next reader drops it.
        return StoredItem(kind, key, owner.decode(), value, _int_or_none(expires_at))

    async def delete_item(self, kind: str, key: bytes, now: int) -> bool:
        return bool(await self._script(scripts.DELETE_ITEM, self._item_key(kind, key), now))

    async def owned_items(self, owner: str, kind: str, now: int) -> list[StoredItem]:
        owner_key = self._owner_key(owner)
        members: set[bytes] = await self._cmd("SMEMBERS", owner_key)
        found: list[StoredItem] = []
        for member in members:
            member_kind, _, key_hex = member.decode().rpartition(":")
            if member_kind != kind:
                continue
            key = bytes.fromhex(key_hex)
            item = await self.get_item(kind, key, now)
            if item is not None and item.owner == owner:
                found.append(item)
            elif await self._item_is_gone(owner, kind, key):
                await self._cmd("SREM", owner_key, member)
                # A put may have written the item between our read and the removal.
                if await self._item_is_gone(owner, kind, key):
                    continue
                await self._cmd("SADD", owner_key, member)
        return found

    async def _item_is_gone(self, owner: str, kind: str, key: bytes) -> bool:
        """True when no item (live or not yet swept by Redis) with that key belongs to `owner`.

        An expired item is not gone: a put may be replacing it right now.
        """
        stored = await self._cmd("HGET", self._item_key(kind, key), "o")
        return stored is None or stored.decode() != owner

    async def items(self, kind: str, now: int) -> AsyncIterator[StoredItem]:
        start = self.prefix + b"i:" + kind.encode() + b":"
        async for name in self.client.scan_iter(match=start + b"*", count=500):
            key = bytes.fromhex(name[len(start) :].decode())
            item = await self.get_item(kind, key, now)
            if item is not None:
                yield item

    async def delete_owned(self, owner: str, now: int) -> int:
        owner_key = self._owner_key(owner)
        members: set[bytes] = await self._cmd("SMEMBERS", owner_key)
        gone = 0
        for member in members:
            # Each delete checks the owner: the key may have been given to another since.
            item_key = self.prefix + b"i:" + member
            gone += await self._script(scripts.DELETE_ITEM, item_key, now, owner)
        await self._cmd("DEL", owner_key)
        return gone

    # -- counters -----------------------------------------------------------------------------

    async def hit_counter(self, key: str, window: int, now: int) -> Counter:
        value, ends = await self._script(scripts.HIT_COUNTER, self._counter_key(key), now, window)
        return Counter(int(value), int(ends))

    async def read_counter(self, key: str, now: int) -> Counter | None:
        value, ends = await self._cmd("HMGET", self._counter_key(key), "n", "x")
        if value is None or ends is None or int(ends) <= now:
            return None
        return Counter(int(value), int(ends))

    async def set_counter(self, key: str, value: int, seconds: int, now: int) -> None:
        # One script on one key, in the batch of this turn like every other request-time call:
        # a burst of refused passphrase guesses each setting a lock used to open a pipeline
        # (and on a cluster node a connection) apiece, until the pool refused with an error.
        await self._script(
            scripts.SET_COUNTER, self._counter_key(key), value, now + seconds, max(1, seconds)
        )

    async def export(self, now: int) -> AsyncIterator[tuple[StoredReceipt, StoredSecret | None]]:
        pattern = self.prefix + b"r:*"
        async for key in self.client.scan_iter(match=pattern, count=500):
            rid = bytes.fromhex(key[len(self.prefix) + 2 :].decode())
            receipt = await self.get_receipt(rid, now)
            if receipt is not None:
                yield receipt, await self.get_secret(receipt.sid, now)

    async def count_receipts(self, now: int) -> int:
        count = 0
        async for _key in self.client.scan_iter(match=self.prefix + b"r:*", count=500):
            count += 1
        return count

    async def sweep(self, now: int) -> int:
        # Redis expires keys by itself; records past their logical expiry are never returned.
        return 0
