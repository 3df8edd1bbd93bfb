"""Guessing keys is limited: failed secret and receipt lookups are counted per client.

Every lookup that finds nothing counts — an unknown, expired, already read or burned key, and a
key that fails its check — whichever surface asked (API v1, v2, the fast lane, the pages).
Past ONETIME_REVEAL_GUESS_LIMIT misses in a window the client gets 429 with Retry-After; a
client under the limit is never refused a right key, and successful lookups never count.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from onetime.core import guards
from onetime.core.clock import ManualClock
from onetime.core.errors import RateLimited
from onetime.settings import Settings
from onetime.store.sqlite import SqliteStore
from tests.api.flows import (
    V1,
    V2,
    AppFactory,
    assert_v1_error,
    assert_v1_unknown_secret,
    assert_v2_error,
    client_from,
    v2_keys,
)
from tests.conftest import InProcess

WINDOW = 900  # the default ONETIME_REVEAL_GUESS_LIMIT window
GARBLED_SECRET = "a" * 62  # the shape of a key, but its check fails: never reaches the store
GARBLED_RECEIPT = "b" * 62


async def reveal(client: httpx.AsyncClient, key: str) -> httpx.Response:
    return await client.post(f"{V2}/secret/{key}/reveal", json={})


async def miss(client: httpx.AsyncClient) -> httpx.Response:
    """A reveal of a key that fails its check."""
    return await reveal(client, GARBLED_SECRET)


def assert_guessing_refused(response: httpx.Response, at_most: int = WINDOW) -> int:
    """The v2 429 of the guessing limit; its Retry-After, in seconds."""
    body = assert_v2_error(response, 429, "rate_limited")
    assert "unknown links" in body["error"]
    assert 0 < body["retry_after"] <= at_most
    assert response.headers["retry-after"] == str(body["retry_after"])
    retry_after: int = body["retry_after"]
    return retry_after


def miss_counters(env: InProcess) -> dict[str, int]:
    """The guessing counters in the real counters database, as keys and values."""
    path = Path(env.app.state.context.store.counters_path)
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute("SELECT key, value FROM counters WHERE key LIKE 'miss:%'").fetchall()
    return {key: value for key, value in rows}


def test_the_defaults_allow_a_few_hundred_misses_per_quarter_hour(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    assert (settings.reveal_guess_limit, settings.reveal_guess_window) == (300, WINDOW)
    rules = settings.guard_rules()
    assert (rules.reveal_guess_limit, rules.reveal_guess_window) == (300, WINDOW)


async def test_every_kind_of_miss_counts_and_the_next_one_is_429(app_factory: AppFactory) -> None:
    async with app_factory(reveal_guess_limit=6) as env:
        read_key, _ = await v2_keys(env.client, "read once")
        assert (await reveal(env.client, read_key)).status_code == 200
        burned_key, burned_receipt = await v2_keys(env.client, "burned")
        burn = await env.client.post(f"{V2}/receipt/{burned_receipt}/burn", json={"continue": True})
        assert burn.json()["record"]["state"] == "burned"
        expiring_key, _ = await v2_keys(env.client, "short", ttl=60)
        env.clock.advance(61)

        misses = [
            await reveal(env.client, GARBLED_SECRET),  # fails its check
            await reveal(env.client, read_key),  # already read
            await reveal(env.client, burned_key),  # burned
            await reveal(env.client, expiring_key),  # expired
            await env.client.get(f"{V2}/receipt/{GARBLED_RECEIPT}"),  # unknown receipt
            await env.client.get(f"{V2}/secret/{GARBLED_SECRET}"),  # preview of an unknown key
        ]
        for response in misses:
            assert_v2_error(response, 404, "not_found")
        assert_guessing_refused(await miss(env.client))
        assert list(miss_counters(env).values()) == [6]  # a refused lookup is not counted


async def test_a_right_key_under_the_limit_is_never_refused_and_successes_never_count(
    app_factory: AppFactory,
) -> None:
    async with app_factory(reveal_guess_limit=3) as env:
        for _ in range(2):
            assert_v2_error(await miss(env.client), 404, "not_found")
        for n in range(10):  # many more successes than the limit allows misses
            key, receipt = await v2_keys(env.client, f"value {n}")
            assert (await env.client.get(f"{V2}/receipt/{receipt}")).status_code == 200
            assert (await env.client.get(f"{V2}/secret/{key}")).status_code == 200
            revealed = await reveal(env.client, key)
            assert revealed.json()["record"]["secret_value"] == f"value {n}"
        assert list(miss_counters(env).values()) == [2]
        assert_v2_error(await miss(env.client), 404, "not_found")  # the third miss of three
        assert_guessing_refused(await miss(env.client))


async def test_past_the_limit_even_a_right_key_is_refused_and_nothing_is_consumed(
    app_factory: AppFactory,
) -> None:
    async with app_factory(reveal_guess_limit=2) as env:
        key, receipt = await v2_keys(env.client, "kept safe")
        for _ in range(2):
            assert_v2_error(await miss(env.client), 404, "not_found")
        assert_guessing_refused(await reveal(env.client, key))
        assert_guessing_refused(await env.client.get(f"{V2}/receipt/{receipt}"))
        assert list(miss_counters(env).values()) == [2]  # refusals before a lookup do not count
        async with client_from(env, "10.0.0.2") as other:
            assert (await other.get(f"{V2}/receipt/{receipt}")).json()["record"]["state"] == "new"
            assert (await reveal(other, key)).json()["record"]["secret_value"] == "kept safe"


async def test_the_limit_is_per_client_and_ends_with_its_window(app_factory: AppFactory) -> None:
    async with app_factory(reveal_guess_limit=2) as env:
        for _ in range(2):
            await miss(env.client)
        env.clock.advance(100)
        assert assert_guessing_refused(await miss(env.client)) == WINDOW - 100
        async with client_from(env, "10.0.0.2") as other:
            assert_v2_error(await miss(other), 404, "not_found")
        env.clock.advance(WINDOW - 100)
        assert_v2_error(await miss(env.client), 404, "not_found")
        key, _ = await v2_keys(env.client, "after the window")
        assert (await reveal(env.client, key)).status_code == 200


async def test_concurrent_misses_get_exactly_the_limit_of_not_founds(
    app_factory: AppFactory,
) -> None:
    async with app_factory(reveal_guess_limit=5) as env:
        answers = await asyncio.gather(*(miss(env.client) for _ in range(30)))
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [404] * 5 + [429] * 25
        for answer in answers:
            if answer.status_code == 429:
                assert_guessing_refused(answer)


async def test_v1_and_the_fast_lane_answer_a_legacy_429(app_factory: AppFactory) -> None:
    async with app_factory(reveal_guess_limit=2) as env:
        assert_v1_unknown_secret(
            await env.client.post(f"{V1}/secret/{GARBLED_SECRET}"), GARBLED_SECRET
        )
        assert_v1_error(await env.client.get(f"{V1}/receipt/{GARBLED_RECEIPT}"), intended=404)
        for response in (
            await env.client.post(f"{V1}/secret/{GARBLED_SECRET}"),  # fast lane
            await env.client.post(f"{V1}/receipt/{GARBLED_RECEIPT}"),  # fast lane
            await env.client.get(f"{V1}/metadata/{GARBLED_RECEIPT}"),
            await env.client.post(f"{V1}/receipt/{GARBLED_RECEIPT}/burn"),  # a FastAPI route
        ):
            body = assert_v1_error(response, intended=429)
            assert "unknown links" in body["message"]
            assert 0 < int(response.headers["retry-after"]) <= WINDOW


async def test_receipt_burn_memo_and_status_lookups_count_too(app_factory: AppFactory) -> None:
    async with app_factory(reveal_guess_limit=5) as env:
        unknown_state = {"success": True, "record": {"state": "unknown"}}
        status = await env.client.get(f"{V2}/secret/{GARBLED_SECRET}/status")
        assert status.json() == unknown_state
        burn = await env.client.post(
            f"{V2}/receipt/{GARBLED_RECEIPT}/burn", json={"continue": True}
        )
        assert_v2_error(burn, 404, "not_found")
        memo = await env.client.patch(f"{V2}/receipt/{GARBLED_RECEIPT}", json={"memo": "x"})
        assert_v2_error(memo, 404, "not_found")
        assert list(miss_counters(env).values()) == [3]
        # Two more unknown keys in one status request use up the five; the third is refused.
        keys = ",".join([GARBLED_SECRET, "c" * 62, "d" * 62])
        many = await env.client.post(f"{V2}/secret/status", json={"identifiers": keys})
        assert_guessing_refused(many)
        assert list(miss_counters(env).values()) == [5]


async def test_wrong_passphrases_are_not_misses(app_factory: AppFactory) -> None:
    async with app_factory(reveal_guess_limit=2) as env:
        key, _ = await v2_keys(env.client, "guarded", passphrase="correct horse")
        for attempt in range(3):
            wrong = await env.client.post(
                f"{V2}/secret/{key}/reveal", json={"passphrase": f"guess {attempt}"}
            )
            assert_v2_error(wrong, 422, "wrong_passphrase")
        assert miss_counters(env) == {}
        right = await env.client.post(
            f"{V2}/secret/{key}/reveal", json={"passphrase": "correct horse"}
        )
        assert right.json()["record"]["secret_value"] == "guarded"


async def test_the_pages_count_misses_and_show_a_429_page(app_factory: AppFactory) -> None:
    async with app_factory(reveal_guess_limit=2) as env:
        gone = await env.client.get(f"/secret/{GARBLED_SECRET}")
        assert gone.status_code == 404
        receipt = await env.client.get(f"/receipt/{GARBLED_RECEIPT}")
        assert receipt.status_code == 404
        refused = await env.client.get(f"/secret/{GARBLED_SECRET}")
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("text/html")
        assert 0 < int(refused.headers["retry-after"]) <= WINDOW
        assert "unknown links" in refused.text
        assert GARBLED_SECRET not in refused.text


async def test_zero_switches_the_limit_off(app_factory: AppFactory) -> None:
    async with app_factory(reveal_guess_limit=0) as env:
        answers = [await miss(env.client) for _ in range(40)]
        assert {answer.status_code for answer in answers} == {404}
        assert miss_counters(env) == {}


async def test_counters_are_keyed_by_a_hash_never_by_the_address(app_factory: AppFactory) -> None:
    async with app_factory(reveal_guess_limit=10) as env:
        async with client_from(env, "198.51.100.23") as other:
            await miss(other)
        await miss(env.client)
        counters = miss_counters(env)
        assert len(counters) == 2
        for counter_key in counters:
            tag = counter_key.removeprefix("miss:")
            assert len(tag) == 24  # a keyed digest of the address, nothing else
            assert set(tag) <= set("0123456789abcdef")
            assert "198.51.100" not in counter_key
            assert "127.0.0.1" not in counter_key
        keyring = env.app.state.context.keyring
        assert f"miss:{keyring.client_tag('198.51.100.23')}" in counters


async def test_the_limit_holds_across_processes_sharing_a_store(app_factory: AppFactory) -> None:
    """Two apps on one data and counters directory, as two worker processes are."""
    async with (
        app_factory(reveal_guess_limit=3) as first,
        app_factory(reveal_guess_limit=3) as second,
    ):
        key, _ = await v2_keys(first.client, "shared store")
        for client in (first.client, second.client, first.client):
            assert_v2_error(await miss(client), 404, "not_found")
        # The second process has seen this client miss: it refuses even a right key.
        assert_guessing_refused(await reveal(second.client, key))
        assert_guessing_refused(await miss(first.client))
        assert list(miss_counters(first).values()) == [3]


async def test_a_process_that_saw_no_miss_refuses_at_the_first_one(
    app_factory: AppFactory,
) -> None:
    # The one lookup a process lets through for a client it has not seen miss: what bounds
    # guessing beyond the limit to one try per process (and only if it is that process's first).
    async with (
        app_factory(reveal_guess_limit=2) as first,
        app_factory(reveal_guess_limit=2) as second,
    ):
        key, _ = await v2_keys(first.client, "still readable")
        for _ in range(2):
            assert_v2_error(await miss(first.client), 404, "not_found")
        assert (await reveal(second.client, key)).json()["record"][
            "secret_value"
        ] == "still readable"
        assert_guessing_refused(await miss(second.client))
        other_key, _ = await v2_keys(first.client, "now refused")
        assert_guessing_refused(await reveal(second.client, other_key))


async def test_a_full_watch_table_checks_every_client(
    app_factory: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(guards, "WATCH_MAX", 2)
    async with app_factory(reveal_guess_limit=1) as env, app_factory(reveal_guess_limit=1) as peer:
        hosts = ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
        for host in hosts:
            async with client_from(env, host) as client:
                assert_v2_error(await miss(client), 404, "not_found")
        # The third client did not fit the table: this process now checks everyone, so the
        # third client's right key is refused as the first two clients' keys are.
        key, _ = await v2_keys(peer.client, "checked")
        for host in hosts:
            async with client_from(env, host) as client:
                assert_guessing_refused(await reveal(client, key))
        async with client_from(env, "10.0.0.4") as fresh:
            assert (await reveal(fresh, key)).json()["record"]["secret_value"] == "checked"
        env.clock.advance(WINDOW)
        again, _ = await v2_keys(peer.client, "after the window")
        async with client_from(env, "10.0.0.3") as client:
            assert (await reveal(client, again)).status_code == 200


async def test_retry_after_never_exceeds_the_window_another_process_opened(
    tmp_path: Path,
) -> None:
    """Two workers on one store; the one that opened each window read its clock a second later.

    Regression: Retry-After was the window's end minus this worker's (earlier) time, one second
    more than the window itself (seen as 601 for a 600-second creation window).
    """
    store = SqliteStore(tmp_path / "store.sqlite3", counters_dir=tmp_path)
    await store.open()
    try:
        rules = guards.GuardRules(create_limit=1, reveal_guess_limit=1)
        ahead = guards.Guards(store, ManualClock(1_700_000_001), rules)
        behind = guards.Guards(store, ManualClock(1_700_000_000), rules)
        sid = bytes(32)
        await ahead.count_creation("client-tag")
        await ahead.count_miss("client-tag")
        attempt = await ahead.begin_passphrase_attempt(sid, "client-tag")
        await ahead.count_wrong_passphrase(sid, "client-tag", replace(attempt, per_client=5))

        with pytest.raises(RateLimited) as creation:
            await behind.count_creation("client-tag")
        assert creation.value.retry_after == rules.create_window
        with pytest.raises(RateLimited) as guessing:
            await behind.count_miss("client-tag")
        assert guessing.value.retry_after == rules.reveal_guess_window
        with pytest.raises(RateLimited) as locked:
            await behind.check_lookups("client-tag")  # watched now: the counter is read first
        assert locked.value.retry_after == rules.reveal_guess_window
        with pytest.raises(RateLimited) as lockout:
            await behind.check_passphrase_lock(sid, "client-tag")
        assert lockout.value.retry_after == rules.passphrase_lockout
    finally:
        await store.close()
