"""What only the Redis store promises beyond the contract: takes survive a stalled server, and
deleting an account's items leaves no key behind that names it or them."""

import asyncio
import contextlib
import gc
import shutil
import signal
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import cast

import pytest
from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from onetime.core.errors import StoreUnavailable
from onetime.core.records import ReceiptState, StoredReceipt, StoredSecret
from onetime.store import redis_scripts as scripts
from onetime.store.codec import pack_receipt_static
from onetime.store.redis import RedisStore, _digest
from onetime.store.redis_batch import CommandBatcher
from onetime.store.redis_records import unpack_secret
from tests.conftest import free_port
from tests.services import spawn_redis
from tests.store.test_contract import NOW, item, records

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="redis-server is not installed"
)
BUSY_SCRIPT = "local s = redis.call('TIME')[1] * 1000000 + redis.call('TIME')[2] while (redis.call('TIME')[1] * 1000000 + redis.call('TIME')[2]) - s < tonumber(ARGV[1]) do end return 1"


async def _answers_ping(port: int) -> bool:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"PING\r\n")
        await writer.drain()
        await asyncio.wait_for(reader.readline(), 0.05)
        return True
    except TimeoutError:
        return False
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def stalled(port: int, seconds: float = 1.5) -> AsyncIterator[None]:
    """Keep the server busy in a script for `seconds`; the body runs once it has stopped
    answering (a fixed sleep is not enough on a loaded machine), the exit waits for the end."""
    stall = await asyncio.create_subprocess_exec(
        "redis-cli", "-p", str(port), "eval", BUSY_SCRIPT, "0", str(int(seconds * 1_000_000)),
        stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(100):
            if not await _answers_ping(port):
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the Redis server never became busy")
        yield
    finally:
        await stall.wait()


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


async def test_an_item_taken_twice_by_one_take_gets_the_same_answer(
    own_redis: tuple[RedisStore, int],
) -> None:
    # A batch replayed after its answers were lost: the take already happened once.
    store, _ = own_redis
    link = item("token", expires_at=NOW + 600)
    await store.put_item(link, NOW)
    key = store._item_key(link.kind, link.key)
    first = await store._script(scripts.TAKE_ITEM, key, NOW, "token-a")
    again = await store._script(scripts.TAKE_ITEM, key, NOW, "token-a")
    other = await store._script(scripts.TAKE_ITEM, key, NOW, "token-b")
    assert first == [link.owner.encode(), link.value, str(NOW + 600).encode()]
    assert again == first
    assert other is None
    # Taken reads as gone to everyone else, and its key may be given out again.
    assert await store.get_item(link.kind, link.key, NOW) is None
    assert await store.owned_items(link.owner, link.kind, NOW) == []
    assert not await store.delete_item(link.kind, link.key, NOW)
    assert await store.put_item(link, NOW, only_if_absent=True)
    assert await store.get_item(link.kind, link.key, NOW) == link


async def test_a_take_deletes_the_item_at_once_not_in_a_minute(
    own_redis: tuple[RedisStore, int],
) -> None:
    store, _ = own_redis
    link = item("token")
    await store.put_item(link, NOW)
    assert await store.take_item(link.kind, link.key, NOW) == link
    assert await store.client.exists(store._item_key(link.kind, link.key)) == 0
    assert await store.take_item(link.kind, link.key, NOW) is None


async def test_an_only_if_absent_put_sent_twice_wins_twice_and_no_one_else_does(
    own_redis: tuple[RedisStore, int],
) -> None:
    store, _ = own_redis
    entry = item("email")
    key = store._item_key(entry.kind, entry.key)
    put = (NOW, 1, entry.owner, entry.value, "", 0)
    assert await store._script(scripts.PUT_ITEM, key, *put, "token-a") == 1
    assert await store._script(scripts.PUT_ITEM, key, *put, "token-a") == 1
    assert await store._script(scripts.PUT_ITEM, key, *put, "token-b") == 0
    assert not await store.put_item(replace(entry, owner="acct-2"), NOW, only_if_absent=True)
    assert await store.get_item(entry.kind, entry.key, NOW) == entry


async def test_a_take_during_a_stall_longer_than_the_timeout_still_delivers(
    own_redis: tuple[RedisStore, int],
) -> None:
    store, port = own_redis
    secret, receipt = records()
    await store.create(secret, receipt, NOW)
    async with stalled(port, 1.4):  # longer than the timeout of 1 s, shorter than two
        taken = await store.take_secret(secret.sid, NOW)
    assert taken == secret
    assert await store.take_secret(secret.sid, NOW) is None


async def test_a_claim_during_a_stall_still_reports_the_win(
    own_redis: tuple[RedisStore, int],
) -> None:
    store, port = own_redis
    secret, receipt = records(passphrase=True)
    await store.create(secret, receipt, NOW)
    async with stalled(port, 1.4):
        claimed = await store.claim_secret(secret.sid, NOW)
    assert claimed is True
    assert await store.claim_secret(secret.sid, NOW) is False


async def _all_keys(store: RedisStore) -> set[bytes]:
    return {key async for key in store.client.scan_iter(match=b"*", count=500)}


async def test_a_stall_longer_than_two_deadlines_fails_the_batch_in_about_two_deadlines(
    own_redis_port: int,
) -> None:
    """A batch runs under one deadline and is sent once more; then the caller hears of it
    (a 503), and answers that arrive late never reach a later command."""
    store = RedisStore(f"redis://127.0.0.1:{own_redis_port}/0?timeout=0.3")
    await store.open()
    try:
        (first, first_receipt), (second, second_receipt) = records(1), records(2)
        await store.create(first, first_receipt, NOW)
        await store.create(second, second_receipt, NOW)
        async with stalled(own_redis_port, 2.5):  # far longer than two tries of 0.3 s
            started = time.monotonic()
            # Said by our deadline, or by redis-py's when the second try had to reconnect first.
            with pytest.raises(StoreUnavailable, match=r"within 0\.3 s|Timeout reading"):
                await store.get_secret(first.sid, NOW)
            elapsed = time.monotonic() - started
        assert 0.55 <= elapsed < 2.0
        # The late answers (the first secret, twice) went with their closed connections.
        assert await store.get_secret(second.sid, NOW) == second
        assert await store.get_secret(first.sid, NOW) == first
    finally:
        await store.close()


async def test_a_create_that_fails_leaves_no_unread_failure_behind(tmp_path: Path) -> None:
    """A create's two writes come back together; when they fail, the caller hears of it once
    and the second write's failure is taken too (asyncio would log it as never retrieved)."""
    port = free_port()
    server = spawn_redis(port, tmp_path)
    store = RedisStore(f"redis://127.0.0.1:{port}/0?timeout=0.5")
    await store.open()
    unretrieved: list[str] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _, context: unretrieved.append(context["message"]))
    try:
        secret, receipt = records(1)
        await store.create(secret, receipt, NOW)
        server.terminate()
        server.wait(timeout=10)
        for n in range(2, 5):
            secret, receipt = records(n)
            with pytest.raises(StoreUnavailable):
                await store.create(secret, receipt, NOW)
        await asyncio.sleep(0)  # the callbacks that take the failures run in the next turn
        gc.collect()
        assert unretrieved == []
    finally:
        loop.set_exception_handler(None)
        await store.close()
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=10)


async def test_a_frozen_server_fails_every_batch_within_two_deadlines(tmp_path: Path) -> None:
    """Frozen (SIGSTOP), Redis still accepts connections in the kernel but never greets a new
    one: getting a connection counts against the deadline too, or batches waiting for fresh
    connections take far longer to fail than the timeout promises."""
    port = free_port()
    server = spawn_redis(port, tmp_path)
    store = RedisStore(f"redis://127.0.0.1:{port}/0?timeout=0.5")
    await store.open()
    try:
        await asyncio.gather(*(store.ping() for _ in range(20)))  # some pooled connections
        server.send_signal(signal.SIGSTOP)
        try:

            async def get(n: int, after: float) -> float:
                await asyncio.sleep(after)
                started = time.monotonic()
                with pytest.raises(StoreUnavailable):
                    await store._cmd("GET", f"key-{n}")
                return time.monotonic() - started

            # A first wave meets pooled connections; a second one needs new connections.
            took = await asyncio.gather(*(get(n, 0.0 if n < 3 else 0.3) for n in range(6)))
        finally:
            server.send_signal(signal.SIGCONT)
        assert max(took) < 1.35, took  # two tries of 0.5 s, with room for a busy machine
        assert await store._cmd("ECHO", "back") == b"back"
    finally:
        await store.close()
        server.terminate()
        server.wait(timeout=10)


async def test_a_batch_answers_each_command_with_redis_pys_own_conversions(
    own_redis_port: int,
) -> None:
    """The batch's own round trip: an error answer fails only its command, and the answers
    are what redis-py's client gives (SET as True, SMEMBERS as a set)."""
    client = Redis(port=own_redis_port)
    batcher = CommandBatcher(client, deadline=1.0)
    try:
        answers = await asyncio.gather(
            batcher.call("SET", "k1", "v1"),
            batcher.call("SADD", "k2", "a", "b"),
            batcher.call("EVALSHA", "0" * 40, 0),
            batcher.call("SMEMBERS", "k2"),
            batcher.call("GET", "k1"),
            return_exceptions=True,
        )
    finally:
        await batcher.drain()
        await client.aclose()
    assert answers[0] is True
    assert answers[1] == 2
    assert isinstance(answers[2], NoScriptError)
    assert answers[3] == {b"a", b"b"}
    assert answers[4] == b"v1"


async def test_delete_owned_leaves_no_key_of_the_owner_or_its_items(
    own_redis: tuple[RedisStore, int],
) -> None:
    store, _ = own_redis
    owner = "acct-5f3a9c"
    mine = [item(kind, owner) for kind in ("account", "email", "session", "token", "recent")]
    mine.append(item("session", owner, expires_at=NOW + 600))
    taken = item("token", owner, expires_at=NOW + 600)  # leaves a dangling index member
    theirs = item("account", "acct-other")
    for each in (*mine, taken, theirs):
        await store.put_item(each, NOW)
    await store.take_item(taken.kind, taken.key, NOW)
    before = await _all_keys(store)
    assert store._owner_key(owner) in before

    assert await store.delete_owned(owner, NOW) == len(mine)

    left = await _all_keys(store)
    assert not [key for key in left if owner.encode() in key]
    assert not [key for key in left for each in mine if each.key.hex().encode() in key]
    assert left == {store._item_key(theirs.kind, theirs.key), store._owner_key(theirs.owner)}


async def test_owned_items_drop_index_members_whose_item_is_gone(
    own_redis: tuple[RedisStore, int],
) -> None:
    store, _ = own_redis
    kept, taken = item("token", expires_at=NOW + 600), item("token", expires_at=NOW + 600)
    moved, session = item("email"), item("session")
    for each in (kept, taken, moved, session):
        await store.put_item(each, NOW)
    await store.take_item(taken.kind, taken.key, NOW)
    await store.put_item(replace(moved, owner="acct-2"), NOW)  # the address changed hands
    owner_key = store._owner_key(kept.owner)
    assert len(await store.client.smembers(owner_key)) == 4

    assert await store.owned_items(kept.owner, "token", NOW) == [kept]
    assert await store.owned_items(kept.owner, "email", NOW) == []

    members = await store.client.smembers(owner_key)
    assert members == {
        b"token:" + kept.key.hex().encode(),
        b"session:" + session.key.hex().encode(),
    }


async def test_an_index_member_stays_while_its_item_is_only_logically_expired(
    own_redis: tuple[RedisStore, int],
) -> None:
    store, _ = own_redis
    short = item("session", expires_at=NOW + 60)
    await store.put_item(short, NOW)
    assert await store.owned_items(short.owner, "session", NOW + 60) == []
    # The key is still in Redis (its TTL runs in real time): a put may be replacing it.
    assert len(await store.client.smembers(store._owner_key(short.owner))) == 1


async def test_items_without_expiry_have_no_ttl_and_others_a_bounded_one(
    own_redis: tuple[RedisStore, int],
) -> None:
    store, _ = own_redis
    forever, lasting = item("account"), item("session", expires_at=NOW + 600)
    await store.put_item(forever, NOW)
    await store.put_item(lasting, NOW)
    assert await store.client.ttl(store._item_key(forever.kind, forever.key)) == -1
    assert 595 <= await store.client.ttl(store._item_key(lasting.kind, lasting.key)) <= 600
    await store.put_item(replace(lasting, expires_at=None), NOW)  # a replacement drops the TTL
    assert await store.client.ttl(store._item_key(lasting.kind, lasting.key)) == -1


async def test_scripts_forgotten_by_the_server_are_sent_again(
    own_redis: tuple[RedisStore, int],
) -> None:
    """A restarted or failed-over Redis has no scripts: the store resends their source."""
    store, _ = own_redis
    secret, receipt = records()
    await store.create(secret, receipt, NOW)
    await store.client.script_flush()
    assert await store.take_secret(secret.sid, NOW) == secret
    assert await store.client.script_exists(_digest(scripts.TAKE_SECRET)) == [True]


async def test_commands_of_one_turn_travel_in_one_pipeline(
    own_redis: tuple[RedisStore, int],
) -> None:
    """Concurrent operations share round trips; each still gets its own answer."""
    store, _ = own_redis
    pairs = [records(n) for n in range(50)]
    await asyncio.gather(*(store.create(secret, receipt, NOW) for secret, receipt in pairs))
    taken = await asyncio.gather(*(store.take_secret(secret.sid, NOW) for secret, _ in pairs))
    assert taken == [secret for secret, _ in pairs]
    # One command at a time, 50 concurrent creates would each have taken a connection.
    connections = await store.client.info("clients")
    assert connections["connected_clients"] <= 5


async def test_connections_kept_between_batches_survive_a_redis_restart(tmp_path: Path) -> None:
    """A batch's connection is kept for the next batch; when Redis restarts meanwhile, the next
    batch fails on it and goes again on a fresh connection: the caller sees no error."""
    port = free_port()
    server = spawn_redis(port, tmp_path)
    store = RedisStore(f"redis://127.0.0.1:{port}/0")
    try:
        await store.open()
        # Sequential calls, each a batch of its own, so that connections are kept between them.
        for expected in (1, 2, 3):
            assert (await store.hit_counter("k", 60, NOW)).value == expected
        clients = await store.client.info("clients")
        assert clients["connected_clients"] <= 2  # the batches' kept one, and INFO's
        server.terminate()
        server.wait(timeout=10)
        server = spawn_redis(port, tmp_path)  # empty: nothing was saved
        assert (await store.hit_counter("k", 60, NOW)).value == 1
        assert (await store.hit_counter("k", 60, NOW)).value == 2
    finally:
        await store.close()
        server.terminate()
        server.wait(timeout=10)


class ForgetfulProxy:
    """A TCP proxy to Redis that can forget its connections the way a NAT or a load balancer
    does after a restart or an idle timeout: nothing tells the client, until it next sends;
    then its connection is closed without an answer."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.open: list[asyncio.StreamWriter] = []
        self.forgotten: set[asyncio.StreamWriter] = set()
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    def forget_all(self) -> None:
        self.forgotten.update(self.open)

    async def close(self) -> None:
        for writer in self.open:
            writer.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.open.append(writer)

        async def answers() -> None:
            with contextlib.suppress(OSError):
                while data := await up_reader.read(65536):
                    writer.write(data)
                    await writer.drain()

        back = asyncio.create_task(answers())
        try:
            while (data := await reader.read(65536)) and writer not in self.forgotten:
                up_writer.write(data)
                await up_writer.drain()
        except OSError:
            pass
        finally:
            back.cancel()
            up_writer.close()
            writer.close()


async def test_a_retry_never_reuses_a_connection_from_before_the_failure(
    own_redis_port: int,
) -> None:
    """Connections kept between batches can all die unseen (a middlebox forgot them): the first
    try meets one, and the retry must connect afresh rather than take another from the pool."""
    proxy = ForgetfulProxy(own_redis_port)
    store = RedisStore(f"redis://127.0.0.1:{await proxy.start()}/0")
    try:
        await store.open()
        secret, receipt = records()
        await store.create(secret, receipt, NOW)

        async def read() -> StoredSecret | None:
            return await store.get_secret(secret.sid, NOW)

        # A read a turn while earlier ones travel: batches in flight together, so several
        # connections are kept afterwards (in the batcher and in redis-py's pool).
        reads = []
        for _ in range(12):
            reads.append(asyncio.create_task(read()))
            await asyncio.sleep(0)
        assert await asyncio.gather(*reads) == [secret] * 12
        batcher = cast(CommandBatcher, store._batcher)
        kept = len(batcher._idle) + len(store.client.connection_pool._available_connections)
        assert kept >= 2, "the test needs two kept connections"
        proxy.forget_all()
        assert await store.get_secret(secret.sid, NOW) == secret
        await store.delete_receipt(receipt.rid, NOW)
        assert await store.take_secret(secret.sid, NOW) == secret
    finally:
        await store.close()
        await proxy.close()


# -- records kept as hashes by earlier versions -------------------------------------------------


async def _write_as_hashes(
    store: RedisStore, secret: StoredSecret, receipt: StoredReceipt, memo: bytes | None = None
) -> None:
    """Write a pair the way versions before the string layout did (one hash per record)."""
    secret_key, receipt_key = store._secret_key(secret.sid), store._receipt_key(receipt.rid)
    await store.client.hset(
        secret_key,
        mapping={
            "p": int(secret.has_passphrase), "v": int(secret.previewed), "c": secret.created,
            "x": secret.expires_at, "r": secret.rid, "e": secret.envelope, "o": int(secret.owned),
        },
    )  # fmt: skip
    receipt_fields: dict[str, bytes | int | str] = {
        "sid": receipt.sid, "x": receipt.expires_at, "static": pack_receipt_static(receipt),
        "state": receipt.state.value, "rank": receipt.state.rank, "updated": receipt.updated,
    }  # fmt: skip
    if memo:
        receipt_fields["memo"] = memo
    await store.client.hset(receipt_key, mapping=receipt_fields)
    await store.client.expire(secret_key, 3600)
    await store.client.expire(receipt_key, 7200)


async def test_records_kept_as_hashes_read_the_same_and_become_strings(
    own_redis: tuple[RedisStore, int],
) -> None:
    store, _ = own_redis
    secret, receipt = records()
    await _write_as_hashes(store, secret, receipt, memo=b"for the auditor")
    assert await store.get_secret(secret.sid, NOW) == secret
    assert await store.get_receipt(receipt.rid, NOW) == replace(receipt, memo=b"for the auditor")
    for key in (store._secret_key(secret.sid), store._receipt_key(receipt.rid)):
        assert await store.client.type(key) == b"string"
        # The TTL it had is kept (3600 and 7200 seconds, a moment ago).
        assert 3590_000 <= await store.client.pttl(key) <= 7200_000
    assert await store.take_secret(secret.sid, NOW) == secret
    assert await store.take_secret(secret.sid, NOW) is None
    revealed = await store.get_receipt(receipt.rid, NOW + 1)
    assert revealed is not None
    assert revealed.state is ReceiptState.REVEALED


async def test_every_script_rewrites_a_hash_before_it_acts(
    own_redis: tuple[RedisStore, int],
) -> None:
    """A record may first be met by any operation, not only a read."""
    store, _ = own_redis
    taken, taken_receipt = records(1)
    claimed, claimed_receipt = records(2, passphrase=True)
    previewed, previewed_receipt = records(3)
    for pair in (
        (taken, taken_receipt),
        (claimed, claimed_receipt),
        (previewed, previewed_receipt),
    ):
        await _write_as_hashes(store, *pair)

    assert await store.take_secret(taken.sid, NOW) == taken
    assert await store.claim_secret(claimed.sid, NOW) is True
    assert await store.claim_secret(claimed.sid, NOW) is False
    await store.mark_secret_previewed(previewed.sid, NOW)
    assert await store.get_secret(previewed.sid, NOW) == replace(previewed, previewed=True)

    assert await store.advance_receipt(previewed_receipt.rid, ReceiptState.BURNED, NOW + 5)
    burned = await store.get_receipt(previewed_receipt.rid, NOW + 5)
    assert burned is not None
    assert (burned.state, burned.burned) == (ReceiptState.BURNED, NOW + 5)
    assert await store.set_receipt_memo(claimed_receipt.rid, b"note", NOW + 6)
    noted = await store.get_receipt(claimed_receipt.rid, NOW + 6)
    assert noted is not None
    assert (noted.memo, noted.updated) == (b"note", NOW + 6)
    assert await store.delete_receipt(taken_receipt.rid, NOW) is True
    assert await store.get_receipt(taken_receipt.rid, NOW) is None


async def test_a_hash_taken_by_an_earlier_version_stays_taken(
    own_redis: tuple[RedisStore, int],
) -> None:
    """A take in flight during the upgrade: its record reads as gone, and only its token gets it."""
    store, _ = own_redis
    secret, receipt = records()
    await _write_as_hashes(store, secret, receipt)
    key = store._secret_key(secret.sid)
    await store.client.hset(key, "t", "token-a")
    assert await store.get_secret(secret.sid, NOW) is None
    assert await store._script(scripts.TAKE_SECRET, key, NOW, "token-b") is None
    again = await store._script(scripts.TAKE_SECRET, key, NOW, "token-a")
    assert unpack_secret(secret.sid, again, NOW) == secret


async def test_secrets_and_receipts_are_strings_with_their_lifetimes_as_ttl(
    own_redis: tuple[RedisStore, int],
) -> None:
    store, _ = own_redis
    secret, receipt = records(ttl=600)
    await store.create(secret, receipt, NOW)
    secret_key, receipt_key = store._secret_key(secret.sid), store._receipt_key(receipt.rid)
    assert await store.client.type(secret_key) == b"string"
    assert 595 <= await store.client.ttl(secret_key) <= 600
    assert 1195 <= await store.client.ttl(receipt_key) <= 1200
    # Changing a receipt in place keeps its TTL.
    assert await store.advance_receipt(receipt.rid, ReceiptState.PREVIEWED, NOW)
    assert await store.set_receipt_memo(receipt.rid, b"memo", NOW)
    assert 1195 <= await store.client.ttl(receipt_key) <= 1200
    await store.mark_secret_previewed(secret.sid, NOW)
    assert 595 <= await store.client.ttl(secret_key) <= 600


async def test_a_hash_without_its_passphrase_flag_is_never_handed_out_by_a_take(
    own_redis: tuple[RedisStore, int],
) -> None:
    store, _ = own_redis
    secret, receipt = records()
    await _write_as_hashes(store, secret, receipt)
    await store.client.hdel(store._secret_key(secret.sid), "p")
    assert await store.take_secret(secret.sid, NOW) is None
    assert await store.get_secret(secret.sid, NOW) == replace(secret, has_passphrase=True)


@pytest.mark.parametrize("deadline", [None, 5.0], ids=["redis-py pipeline", "own round trip"])
async def test_a_burst_while_redis_stalls_waits_for_a_pipeline_instead_of_failing(
    own_redis_port: int, deadline: float | None
) -> None:
    """Pipelines on their way are capped below the pool's size: a pool that runs out refuses
    with an error (a 503 to the request), where waiting for an answer costs only time."""
    client = Redis(port=own_redis_port, max_connections=3)
    batcher = CommandBatcher(client, max_in_flight=3, deadline=deadline)

    async def echo(n: int) -> bytes:
        await asyncio.sleep(n * 0.002)  # each in a turn of the event loop of its own
        return cast(bytes, await batcher.call("ECHO", str(n)))

    try:
        async with stalled(own_redis_port):
            answers = await asyncio.gather(*(echo(n) for n in range(60)))
    finally:
        await batcher.drain()
        await client.aclose()
    assert answers == [str(n).encode() for n in range(60)]
