"""The Store contract (onetime/store/base.py), run against every backend.

Each backend is a parameter of the `store` fixture: SQLite, a real Redis, and a real
three-node Redis Cluster and a Redis primary behind a real Sentinel, started for the run.
"""

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pytest

from onetime.core.errors import StoreUnavailable
from onetime.core.records import (
    ReceiptState,
    SecretKind,
    StoredItem,
    StoredReceipt,
    StoredSecret,
)
from onetime.store.base import Store
from onetime.store.redis import RedisStore
from onetime.store.sqlite import SqliteStore
from tests.services import delete_prefixed, require_redis, unique_prefix

NOW = 1_700_000_000
StoreMaker = Callable[[], Awaitable[Store]]


@pytest.fixture(params=["sqlite", "redis", "redis-cluster", "redis-sentinel"])
async def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreMaker]:
    """Opens stores of one backend that all share the same data (like several processes would)."""
    opened: list[Store] = []
    redis_url = ""
    if request.param == "redis":
        redis_url = require_redis()
    elif request.param in ("redis-cluster", "redis-sentinel"):
        redis_url = request.getfixturevalue(request.param.replace("-", "_")).url
    prefix = unique_prefix()

    async def make() -> Store:
        store: Store
        if request.param == "sqlite":
            store = SqliteStore(tmp_path / "store.sqlite3", counters_dir=tmp_path)
        else:
            separator = "&" if "?" in redis_url else "?"
            store = RedisStore(f"{redis_url}{separator}prefix={prefix}")
        await store.open()
        opened.append(store)
        return store

    yield make
    for store in opened:
        await store.close()
    if request.param == "redis":
        await delete_prefixed(redis_url, prefix)  # the cluster is ours alone and goes away


@pytest.fixture
async def store(make_store: StoreMaker) -> Store:
    return await make_store()


def records(
    n: int = 0, ttl: int = 3600, passphrase: bool = False
) -> tuple[StoredSecret, StoredReceipt]:
    sid, rid = os.urandom(32), os.urandom(32)
    secret = StoredSecret(sid, rid, b"envelope-%d" % n, NOW, NOW + ttl, has_passphrase=passphrase)
    receipt = StoredReceipt(
        rid=rid, sid=sid, owner_id=None, kind=SecretKind.CONCEAL, ttl=ttl, created=NOW,
        secret_expires_at=NOW + ttl, expires_at=NOW + 2 * ttl, has_passphrase=passphrase,
        share_domain="", recipients=("al***@e***.com",), share_key=b"sealed", updated=NOW,
    )  # fmt: skip
    return secret, receipt


async def test_created_records_read_back_unchanged(store: Store) -> None:
    secret, receipt = records()
    await store.create(secret, receipt, NOW)
    assert await store.get_secret(secret.sid, NOW) == secret
    assert await store.get_receipt(receipt.rid, NOW) == receipt


async def test_whether_a_secret_has_an_owner_is_kept(store: Store) -> None:
    secret, receipt = records()
    secret = replace(secret, owned=False)
    await store.create(secret, receipt, NOW)
    assert await store.get_secret(secret.sid, NOW) == secret
    assert await store.take_secret(secret.sid, NOW) == secret


async def test_expired_records_do_not_exist(store: Store) -> None:
    secret, receipt = records(ttl=60)
    await store.create(secret, receipt, NOW)
    assert await store.get_secret(secret.sid, NOW + 60) is None
    assert await store.take_secret(secret.sid, NOW + 60) is None
    assert not await store.claim_secret(secret.sid, NOW + 60)
    assert await store.get_receipt(receipt.rid, NOW + 119) is not None
    assert await store.get_receipt(receipt.rid, NOW + 120) is None
    assert not await store.advance_receipt(receipt.rid, ReceiptState.REVEALED, NOW + 120)


async def test_take_returns_the_secret_once(store: Store) -> None:
    secret, receipt = records()
    await store.create(secret, receipt, NOW)
    assert await store.take_secret(secret.sid, NOW) == secret
    assert await store.take_secret(secret.sid, NOW) is None
    assert await store.get_secret(secret.sid, NOW) is None


async def test_take_marks_the_receipt_revealed(store: Store) -> None:
    secret, receipt = records()
    await store.create(secret, receipt, NOW)
    await store.take_secret(secret.sid, NOW + 5)
    stored = await store.get_receipt(receipt.rid, NOW + 6)
    assert stored is not None
    assert (stored.state, stored.revealed, stored.updated) == (
        ReceiptState.REVEALED,
        NOW + 5,
        NOW + 5,
    )


async def test_a_failed_take_leaves_the_receipt_as_it_was(store: Store) -> None:
    secret, receipt = records(passphrase=True)
    await store.create(secret, receipt, NOW)
    assert await store.take_secret(secret.sid, NOW + 5) is None
    assert await store.get_receipt(receipt.rid, NOW + 6) == receipt


async def test_take_leaves_a_passphrase_secret_alone(store: Store) -> None:
    secret, receipt = records(passphrase=True)
    await store.create(secret, receipt, NOW)
    assert await store.take_secret(secret.sid, NOW) is None
    assert await store.get_secret(secret.sid, NOW) == secret


async def test_claim_is_true_for_exactly_one_caller(make_store: StoreMaker) -> None:
    stores = [await make_store() for _ in range(3)]
    secret, receipt = records(passphrase=True)
    await stores[0].create(secret, receipt, NOW)
    results = await asyncio.gather(*(s.claim_secret(secret.sid, NOW) for s in stores * 10))
    assert results.count(True) == 1


async def test_concurrent_takes_from_several_connections_yield_one_record(
    make_store: StoreMaker,
) -> None:
    stores = [await make_store() for _ in range(4)]
    secret, receipt = records()
    await stores[0].create(secret, receipt, NOW)
    results = await asyncio.gather(*(s.take_secret(secret.sid, NOW) for s in stores * 25))
    assert [r for r in results if r is not None] == [secret]


async def test_preview_mark_is_kept(store: Store) -> None:
    secret, receipt = records()
    await store.create(secret, receipt, NOW)
    await store.mark_secret_previewed(secret.sid, NOW)
    stored = await store.get_secret(secret.sid, NOW)
    assert stored is not None
    assert stored.previewed
    await store.mark_secret_previewed(os.urandom(32), NOW)  # a missing secret is not an error


async def test_receipts_only_move_forward(store: Store) -> None:
    secret, receipt = records()
    await store.create(secret, receipt, NOW)
    assert await store.advance_receipt(receipt.rid, ReceiptState.PREVIEWED, NOW + 1)
    assert await store.advance_receipt(receipt.rid, ReceiptState.REVEALED, NOW + 2)
    assert not await store.advance_receipt(receipt.rid, ReceiptState.PREVIEWED, NOW + 3)
    assert not await store.advance_receipt(receipt.rid, ReceiptState.BURNED, NOW + 4)
    stored = await store.get_receipt(receipt.rid, NOW + 5)
    assert stored is not None
    assert (stored.state, stored.previewed, stored.revealed, stored.burned) == (
        ReceiptState.REVEALED, NOW + 1, NOW + 2, None,
    )  # fmt: skip
    assert stored.updated == NOW + 2


async def test_memo_is_replaced_and_cleared(store: Store) -> None:
    secret, receipt = records()
    await store.create(secret, receipt, NOW)
    assert await store.set_receipt_memo(receipt.rid, b"sealed memo", NOW + 1)
    stored = await store.get_receipt(receipt.rid, NOW + 1)
    assert stored is not None
    assert stored.memo == b"sealed memo"
    assert await store.set_receipt_memo(receipt.rid, None, NOW + 2)
    stored = await store.get_receipt(receipt.rid, NOW + 2)
    assert stored is not None
    assert stored.memo is None
    assert not await store.set_receipt_memo(os.urandom(32), b"x", NOW)


async def test_counters_count_within_a_window_then_restart(store: Store) -> None:
    assert (await store.hit_counter("c", 60, NOW)).value == 1
    second = await store.hit_counter("c", 60, NOW + 30)
    assert (second.value, second.expires_at) == (2, NOW + 60)
    assert await store.read_counter("c", NOW + 59) == second
    assert await store.read_counter("c", NOW + 60) is None
    assert (await store.hit_counter("c", 60, NOW + 60)).value == 1


async def test_counters_are_shared_between_connections(make_store: StoreMaker) -> None:
    first, second = await make_store(), await make_store()
    await asyncio.gather(*(s.hit_counter("shared", 60, NOW) for s in (first, second) * 10))
    counter = await first.read_counter("shared", NOW)
    assert counter is not None
    assert counter.value == 20


async def test_set_counter_holds_for_its_time(store: Store) -> None:
    await store.set_counter("lock", 1, 1800, NOW)
    assert await store.read_counter("lock", NOW + 1799) is not None
    assert await store.read_counter("lock", NOW + 1800) is None


async def test_a_burst_of_counter_writes_all_land(store: Store) -> None:
    """Hundreds at once, as when a burst of refused passphrase guesses each sets a lock: none
    may fail for want of a connection (a cluster node's pool holds 100)."""
    names = [f"burst-{n}" for n in range(300)]
    await asyncio.gather(*(store.set_counter(name, 1, 60, NOW) for name in names))
    counters = await asyncio.gather(*(store.read_counter(name, NOW) for name in names))
    assert [counter.value if counter else None for counter in counters] == [1] * 300


async def test_sweep_removes_only_expired_records(store: Store) -> None:
    short, short_receipt = records(ttl=60)
    long, long_receipt = records(ttl=3600)
    await store.create(short, short_receipt, NOW)
    await store.create(long, long_receipt, NOW)
    # SQLite deletes rows itself; Redis lets its own TTLs do it. Either way, only expired go.
    await store.sweep(NOW + 60)
    await store.sweep(NOW + 120)
    assert await store.get_secret(short.sid, NOW + 60) is None
    assert await store.get_receipt(short_receipt.rid, NOW + 120) is None
    assert await store.get_secret(long.sid, NOW) == long
    assert await store.get_receipt(long_receipt.rid, NOW) == long_receipt


async def test_ping_answers_when_open(store: Store) -> None:
    await store.ping()


async def test_a_store_that_cannot_be_opened_says_where_and_why(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a directory should be")
    store = SqliteStore(blocker / "onetime.sqlite3")
    with pytest.raises(StoreUnavailable) as caught:
        await store.open()
    assert str(blocker) in caught.value.message
    await store.close()


async def test_export_lists_live_receipts_with_their_live_secrets(store: Store) -> None:
    unread, unread_receipt = records(1)
    read, read_receipt = records(2)
    expired, expired_receipt = records(3, ttl=60)
    for secret, receipt in (
        (unread, unread_receipt),
        (read, read_receipt),
        (expired, expired_receipt),
    ):
        await store.create(secret, receipt, NOW)
    await store.take_secret(read.sid, NOW)
    await store.advance_receipt(read_receipt.rid, ReceiptState.REVEALED, NOW + 1)
    exported = {receipt.rid: secret async for receipt, secret in store.export(NOW + 200)}
    assert exported == {unread_receipt.rid: unread, read_receipt.rid: None}
    assert 2 <= await store.count_receipts(NOW + 200) <= 3


async def test_create_accepts_a_receipt_alone_and_overwrites(store: Store) -> None:
    secret, receipt = records()
    await store.create(None, receipt, NOW)
    assert await store.get_secret(secret.sid, NOW) is None
    moved_on = replace(
        receipt, state=ReceiptState.BURNED, burned=NOW + 5, updated=NOW + 5, memo=b"m"
    )
    await store.create(None, moved_on, NOW + 10)
    assert await store.get_receipt(receipt.rid, NOW + 10) == moved_on


async def test_delete_receipt_leaves_its_secret(store: Store) -> None:
    secret, receipt = records()
    await store.create(secret, receipt, NOW)
    assert await store.delete_receipt(receipt.rid, NOW)
    assert await store.get_receipt(receipt.rid, NOW) is None
    assert await store.get_secret(secret.sid, NOW) == secret
    assert not await store.delete_receipt(receipt.rid, NOW)
    assert not await store.delete_receipt(os.urandom(32), NOW)


async def test_delete_receipt_reports_an_expired_one_as_absent(store: Store) -> None:
    secret, receipt = records(ttl=60)
    await store.create(secret, receipt, NOW)
    assert not await store.delete_receipt(receipt.rid, NOW + 120)
    assert await store.get_receipt(receipt.rid, NOW) is None


# -- items ------------------------------------------------------------------------------------


def item(
    kind: str = "session", owner: str = "acct-1", expires_at: int | None = None, value: bytes = b""
) -> StoredItem:
    return StoredItem(kind, os.urandom(16), owner, value or os.urandom(24), expires_at)


async def test_items_read_back_unchanged_with_and_without_expiry(store: Store) -> None:
    forever, lasting = item("account"), item("session", expires_at=NOW + 3600)
    empty = StoredItem("recent", os.urandom(16), "acct-1", b"")
    for each in (forever, lasting, empty):
        assert await store.put_item(each, NOW)
        assert await store.get_item(each.kind, each.key, NOW) == each
    assert await store.get_item("account", lasting.key, NOW) is None  # kinds are separate
    assert await store.get_item(forever.kind, forever.key, NOW + 10**9) == forever
    assert await store.get_item(lasting.kind, lasting.key, NOW + 3599) == lasting


async def test_expired_items_do_not_exist(store: Store) -> None:
    short = item("token", expires_at=NOW + 60)
    await store.put_item(short, NOW)
    later = NOW + 60
    assert await store.get_item(short.kind, short.key, later) is None
    assert await store.take_item(short.kind, short.key, later) is None
    assert await store.owned_items(short.owner, short.kind, later) == []
    assert [each async for each in store.items(short.kind, later)] == []
    assert not await store.delete_item(short.kind, short.key, later)


async def test_an_expired_item_counts_as_absent_for_a_conditional_put(store: Store) -> None:
    short = item("email", expires_at=NOW + 60)
    await store.put_item(short, NOW)
    successor = replace(short, owner="acct-2", value=b"successor", expires_at=None)
    assert not await store.put_item(successor, NOW + 59, only_if_absent=True)
    assert await store.put_item(successor, NOW + 60, only_if_absent=True)
    assert await store.get_item(short.kind, short.key, NOW + 60) == successor
    assert await store.owned_items("acct-2", "email", NOW + 60) == [successor]


async def test_put_replaces_an_item_whole(store: Store) -> None:
    first = item("session", expires_at=NOW + 60)
    second = replace(first, value=b"second", expires_at=None)
    assert await store.put_item(first, NOW)
    assert await store.put_item(second, NOW)
    assert await store.get_item(first.kind, first.key, NOW + 10**6) == second
    third = replace(first, value=b"third", expires_at=NOW + 30)
    assert await store.put_item(third, NOW)
    assert await store.get_item(first.kind, first.key, NOW + 30) is None  # its expiry came too


async def test_a_conditional_put_refuses_a_live_item(store: Store) -> None:
    taken = item("email", owner="acct-1")
    assert await store.put_item(taken, NOW, only_if_absent=True)
    rival = replace(taken, owner="acct-2", value=b"rival")
    assert not await store.put_item(rival, NOW, only_if_absent=True)
    assert await store.get_item(taken.kind, taken.key, NOW) == taken
    assert await store.owned_items("acct-2", "email", NOW) == []


async def test_of_concurrent_conditional_puts_exactly_one_wins(make_store: StoreMaker) -> None:
    stores = [await make_store() for _ in range(4)]
    key = os.urandom(16)
    claims = [StoredItem("email", key, f"acct-{n}", b"%d" % n) for n in range(20)]
    results = await asyncio.gather(
        *(stores[n % 4].put_item(claim, NOW, only_if_absent=True) for n, claim in enumerate(claims))
    )
    assert results.count(True) == 1
    winner = claims[results.index(True)]
    assert await stores[0].get_item("email", key, NOW) == winner
    for claim in claims:
        owned = await stores[1].owned_items(claim.owner, "email", NOW)
        assert owned == ([winner] if claim is winner else [])


async def test_take_item_returns_it_once(store: Store) -> None:
    token = item("token", expires_at=NOW + 600)
    await store.put_item(token, NOW)
    assert await store.take_item(token.kind, token.key, NOW) == token
    assert await store.take_item(token.kind, token.key, NOW) is None
    assert await store.get_item(token.kind, token.key, NOW) is None
    assert await store.owned_items(token.owner, token.kind, NOW) == []
    forever = item("token")
    await store.put_item(forever, NOW)
    assert await store.take_item(forever.kind, forever.key, NOW) == forever


async def test_concurrent_takes_of_an_item_give_it_to_one_caller(make_store: StoreMaker) -> None:
    stores = [await make_store() for _ in range(4)]
    token = item("token", expires_at=NOW + 600)
    await stores[0].put_item(token, NOW)
    results = await asyncio.gather(*(s.take_item(token.kind, token.key, NOW) for s in stores * 5))
    assert [r for r in results if r is not None] == [token]


async def test_delete_item_says_whether_a_live_one_was_there(store: Store) -> None:
    session = item("session", expires_at=NOW + 600)
    await store.put_item(session, NOW)
    assert await store.delete_item(session.kind, session.key, NOW)
    assert await store.get_item(session.kind, session.key, NOW) is None
    assert not await store.delete_item(session.kind, session.key, NOW)
    assert not await store.delete_item("session", os.urandom(16), NOW)


async def test_owned_items_filter_by_owner_and_kind(store: Store) -> None:
    mine = [item("session", "acct-1"), item("session", "acct-1", expires_at=NOW + 60)]
    others = [item("token", "acct-1"), item("session", "acct-2")]
    for each in (*mine, *others):
        await store.put_item(each, NOW)
    assert sorted(await store.owned_items("acct-1", "session", NOW), key=repr) == sorted(
        mine, key=repr
    )
    assert await store.owned_items("acct-1", "session", NOW + 60) == [mine[0]]
    assert await store.owned_items("acct-1", "token", NOW) == [others[0]]
    assert await store.owned_items("acct-3", "session", NOW) == []


async def test_an_item_given_to_another_owner_leaves_the_first(store: Store) -> None:
    address = item("email", "acct-1")
    await store.put_item(address, NOW)
    moved = replace(address, owner="acct-2")
    await store.put_item(moved, NOW)
    # Deleting the first owner before anything else looks at it (a Redis index still names it).
    assert await store.delete_owned("acct-1", NOW) == 0
    assert await store.get_item(address.kind, address.key, NOW) == moved
    assert await store.owned_items("acct-1", "email", NOW) == []
    assert await store.owned_items("acct-2", "email", NOW) == [moved]


async def test_items_lists_every_live_item_of_one_kind(store: Store) -> None:
    accounts = [item("account", f"acct-{n}") for n in range(3)]
    accounts.append(StoredItem("account", b"", "acct-empty", b"an empty key is a key"))
    expired = item("account", "acct-9", expires_at=NOW + 1)
    for each in (*accounts, expired, item("session"), item("email")):
        await store.put_item(each, NOW)
    listed = [each async for each in store.items("account", NOW + 1)]
    assert sorted(listed, key=repr) == sorted(accounts, key=repr)
    assert [each async for each in store.items("recent", NOW)] == []


async def test_delete_owned_removes_one_owner_entirely(store: Store) -> None:
    mine = [item(kind, "acct-1") for kind in ("account", "email", "session", "token", "recent")]
    mine.append(item("session", "acct-1", expires_at=NOW + 600))
    expired = item("session", "acct-1", expires_at=NOW + 1)
    theirs = [item("account", "acct-2"), item("session", "acct-2")]
    for each in (*mine, expired, *theirs):
        await store.put_item(each, NOW)
    assert await store.delete_owned("acct-1", NOW + 1) == len(mine)
    for each in (*mine, expired):
        assert await store.get_item(each.kind, each.key, NOW) is None
        assert await store.owned_items("acct-1", each.kind, NOW) == []
    for each in theirs:
        assert await store.get_item(each.kind, each.key, NOW) == each
    assert await store.owned_items("acct-2", "session", NOW) == [theirs[1]]
    assert await store.delete_owned("acct-1", NOW + 1) == 0


async def test_sweep_removes_only_expired_items(store: Store) -> None:
    short, lasting, forever = item(expires_at=NOW + 60), item(expires_at=NOW + 3600), item()
    for each in (short, lasting, forever):
        await store.put_item(each, NOW)
    # SQLite deletes the row (see test_sqlite.py); Redis leaves it to its TTL.
    await store.sweep(NOW + 60)
    assert await store.get_item(short.kind, short.key, NOW + 60) is None
    assert await store.get_item(lasting.kind, lasting.key, NOW + 60) == lasting
    assert await store.get_item(forever.kind, forever.key, NOW + 60) == forever
