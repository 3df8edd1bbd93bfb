"""Passphrases: a wrong one never burns; guessing locks out per client and per secret."""

from __future__ import annotations

import asyncio

import httpx

from tests.api.flows import (
    V1,
    V2,
    assert_v1_error,
    assert_v1_unknown_secret,
    assert_v2_error,
    client_from,
    v1_receipt,
    v1_share,
    v2_keys,
    v2_receipt,
)
from tests.conftest import InProcess

RIGHT = "correct horse"
LOCKOUT = 30 * 60
PER_CLIENT = 5
PER_SECRET = 20


async def guess(client: httpx.AsyncClient, skey: str, passphrase: str) -> httpx.Response:
    return await client.post(
        f"{V2}/secret/{skey}/reveal", json={"continue": True, "passphrase": passphrase}
    )


async def test_wrong_passphrase_never_burns_and_the_right_one_still_works(env: InProcess) -> None:
    skey, rkey = await v2_keys(env.client, "behind a passphrase", passphrase=RIGHT)
    for attempt in ("wrong", "Correct horse", RIGHT + " ", ""):
        response = await guess(env.client, skey, attempt)
        assert_v2_error(response, 422, "wrong_passphrase", field="passphrase")
        assert "behind a passphrase" not in response.text
    status = await env.client.get(f"{V2}/secret/{skey}/status")
    assert status.json()["record"]["state"] == "new"
    assert (await v2_receipt(env.client, rkey))["state"] == "new"

    response = await guess(env.client, skey, RIGHT)
    assert response.status_code == 200
    assert response.json()["record"]["secret_value"] == "behind a passphrase"
    assert response.json()["record"]["has_passphrase"] is True
    assert (await v2_receipt(env.client, rkey))["state"] == "revealed"
    assert_v2_error(await guess(env.client, skey, RIGHT), 404, "not_found")


async def test_missing_passphrase_is_refused_without_burning(env: InProcess) -> None:
    skey, _ = await v2_keys(env.client, "needs it", passphrase=RIGHT)
    for response in (
        await env.client.post(f"{V2}/secret/{skey}/reveal"),
        await env.client.post(f"{V2}/secret/{skey}/reveal", json={"continue": True}),
        await env.client.get(f"{V2}/secret/{skey}", params={"continue": "true"}),
    ):
        assert_v2_error(response, 422, "wrong_passphrase")
    assert (await guess(env.client, skey, RIGHT)).json()["record"]["secret_value"] == "needs it"


async def test_passphrase_in_the_query_reveals_with_continue(env: InProcess) -> None:
    skey, _ = await v2_keys(env.client, "via query", passphrase=RIGHT)
    response = await env.client.get(
        f"{V2}/secret/{skey}", params={"continue": "true", "passphrase": RIGHT}
    )
    assert response.json()["record"]["secret_value"] == "via query"


async def test_preview_of_a_passphrase_secret_says_so_and_shows_nothing(env: InProcess) -> None:
    skey, _ = await v2_keys(env.client, "hidden", passphrase=RIGHT)
    response = await env.client.get(f"{V2}/secret/{skey}")
    assert response.status_code == 200
    assert response.json()["record"]["has_passphrase"] is True
    assert "secret_value" not in response.json()["record"]


async def test_v1_wrong_passphrase_is_unknown_secret_and_never_burns(env: InProcess) -> None:
    receipt = await v1_share(env.client, "legacy guarded", passphrase=RIGHT)
    skey = receipt["secret_key"]
    for attempt in ("nope", ""):
        response = await env.client.post(f"{V1}/secret/{skey}", data={"passphrase": attempt})
        assert_v1_unknown_secret(response, skey)
    assert (await v1_receipt(env.client, receipt["metadata_key"]))["state"] == "new"
    response = await env.client.post(f"{V1}/secret/{skey}", data={"passphrase": RIGHT})
    assert response.json()["value"] == "legacy guarded"


async def test_sixth_try_from_one_client_is_429_even_with_the_right_passphrase(
    env: InProcess,
) -> None:
    skey, _ = await v2_keys(env.client, "locked away", passphrase=RIGHT)
    for _ in range(PER_CLIENT):
        assert (await guess(env.client, skey, "wrong")).status_code == 422
    env.clock.advance(10)

    response = await guess(env.client, skey, RIGHT)
    body = assert_v2_error(response, 429, "rate_limited")
    assert body["retry_after"] == LOCKOUT - 10
    assert response.headers["retry-after"] == str(LOCKOUT - 10)
    assert "locked away" not in response.text
    # A wrong guess while locked is refused the same way, and does not extend the lock.
    again = await guess(env.client, skey, "wrong")
    assert again.json()["retry_after"] == LOCKOUT - 10


async def test_the_lock_lifts_after_thirty_minutes(env: InProcess) -> None:
    skey, _ = await v2_keys(env.client, "patience", passphrase=RIGHT)
    for _ in range(PER_CLIENT):
        await guess(env.client, skey, "wrong")
    env.clock.advance(LOCKOUT - 1)
    assert (await guess(env.client, skey, RIGHT)).json()["retry_after"] == 1
    env.clock.advance(1)
    response = await guess(env.client, skey, RIGHT)
    assert response.status_code == 200
    assert response.json()["record"]["secret_value"] == "patience"


async def test_four_wrong_tries_do_not_lock(env: InProcess) -> None:
    skey, _ = await v2_keys(env.client, "four is fine", passphrase=RIGHT)
    for _ in range(PER_CLIENT - 1):
        await guess(env.client, skey, "wrong")
    assert (await guess(env.client, skey, RIGHT)).json()["record"]["secret_value"] == "four is fine"


async def test_wrong_tries_are_forgotten_after_ten_minutes(env: InProcess) -> None:
    skey, _ = await v2_keys(env.client, "slow guesser", passphrase=RIGHT)
    for _ in range(PER_CLIENT - 1):
        await guess(env.client, skey, "wrong")
    env.clock.advance(600)
    for _ in range(PER_CLIENT - 1):
        assert (await guess(env.client, skey, "wrong")).status_code == 422
    response = await guess(env.client, skey, RIGHT)
    assert response.json()["record"]["secret_value"] == "slow guesser"


async def test_a_locked_client_does_not_lock_out_others(env: InProcess) -> None:
    skey, _ = await v2_keys(env.client, "for the recipient", passphrase=RIGHT)
    for _ in range(PER_CLIENT):
        await guess(env.client, skey, "wrong")
    assert (await guess(env.client, skey, RIGHT)).status_code == 429
    async with client_from(env, "10.0.0.2") as recipient:
        response = await guess(recipient, skey, RIGHT)
        assert response.json()["record"]["secret_value"] == "for the recipient"


async def test_the_lock_is_per_secret(env: InProcess) -> None:
    locked, _ = await v2_keys(env.client, "one", passphrase=RIGHT)
    other, _ = await v2_keys(env.client, "two", passphrase=RIGHT)
    for _ in range(PER_CLIENT):
        await guess(env.client, locked, "wrong")
    assert (await guess(env.client, other, RIGHT)).json()["record"]["secret_value"] == "two"


async def test_twenty_wrong_tries_across_clients_lock_the_secret_for_everyone(
    env: InProcess,
) -> None:
    skey, _ = await v2_keys(env.client, "popular target", passphrase=RIGHT)
    # 19 wrong tries from five addresses, none reaching its own limit of five.
    for n, tries in enumerate([4, 4, 4, 4, 3]):
        async with client_from(env, f"10.0.1.{n}") as guesser:
            for _ in range(tries):
                assert (await guess(guesser, skey, "wrong")).status_code == 422
    async with client_from(env, "10.0.2.1") as twentieth:
        assert (await guess(twentieth, skey, "wrong")).status_code == 422

    async with client_from(env, "10.0.3.1") as newcomer:
        response = await guess(newcomer, skey, RIGHT)
        body = assert_v2_error(response, 429, "rate_limited")
        assert body["retry_after"] == LOCKOUT
        assert response.headers["retry-after"] == str(LOCKOUT)
    assert (await guess(env.client, skey, RIGHT)).status_code == 429

    env.clock.advance(LOCKOUT)
    async with client_from(env, "10.0.3.1") as newcomer:
        response = await guess(newcomer, skey, RIGHT)
        assert response.json()["record"]["secret_value"] == "popular target"


async def test_nineteen_wrong_tries_across_clients_do_not_lock(env: InProcess) -> None:
    skey, _ = await v2_keys(env.client, "still open", passphrase=RIGHT)
    for n, tries in enumerate([4, 4, 4, 4, 3]):
        async with client_from(env, f"10.0.1.{n}") as guesser:
            for _ in range(tries):
                await guess(guesser, skey, "wrong")
    async with client_from(env, "10.0.3.1") as newcomer:
        response = await guess(newcomer, skey, RIGHT)
        assert response.json()["record"]["secret_value"] == "still open"


async def test_concurrent_wrong_guesses_from_one_client_are_tried_at_most_five_times(
    env: InProcess,
) -> None:
    skey, _ = await v2_keys(env.client, "raced", passphrase=RIGHT)
    answers = await asyncio.gather(*(guess(env.client, skey, f"wrong {n}") for n in range(40)))
    statuses = [a.status_code for a in answers]
    assert statuses.count(422) == PER_CLIENT
    assert statuses.count(429) == 40 - PER_CLIENT
    for answer in answers:
        if answer.status_code == 429:
            assert_v2_error(answer, 429, "rate_limited")
    # The five that were tried lock this client, even with the right passphrase.
    assert (await guess(env.client, skey, RIGHT)).status_code == 429


async def test_concurrent_wrong_guesses_across_clients_are_tried_at_most_twenty_times(
    env: InProcess,
) -> None:
    skey, _ = await v2_keys(env.client, "raced by many", passphrase=RIGHT)

    async def four_guesses(n: int) -> list[int]:
        async with client_from(env, f"10.0.4.{n}") as guesser:
            answers = await asyncio.gather(*(guess(guesser, skey, "wrong") for _ in range(4)))
            return [a.status_code for a in answers]

    statuses = [s for batch in await asyncio.gather(*map(four_guesses, range(10))) for s in batch]
    assert statuses.count(422) == PER_SECRET
    assert statuses.count(429) == 40 - PER_SECRET
    async with client_from(env, "10.0.5.1") as newcomer:
        assert (await guess(newcomer, skey, RIGHT)).status_code == 429


async def test_v1_lockout_is_a_legacy_429(env: InProcess) -> None:
    skey = (await v1_share(env.client, "legacy lock", passphrase=RIGHT))["secret_key"]
    for _ in range(PER_CLIENT):
        await env.client.post(f"{V1}/secret/{skey}", data={"passphrase": "wrong"})
    response = await env.client.post(f"{V1}/secret/{skey}", data={"passphrase": RIGHT})
    assert_v1_error(response, intended=429)
    assert response.headers["retry-after"] == str(LOCKOUT)
    assert "legacy lock" not in response.text


async def test_v1_and_v2_guesses_count_together(env: InProcess) -> None:
    skey, _ = await v2_keys(env.client, "shared count", passphrase=RIGHT)
    for _ in range(3):
        await env.client.post(f"{V1}/secret/{skey}", data={"passphrase": "wrong"})
    for _ in range(2):
        await guess(env.client, skey, "wrong")
    assert (await guess(env.client, skey, RIGHT)).status_code == 429


async def test_a_secret_without_a_passphrase_ignores_one(env: InProcess) -> None:
    skey, _ = await v2_keys(env.client, "open")
    response = await guess(env.client, skey, "anything at all")
    assert response.json()["record"]["secret_value"] == "open"


# -- burning a secret that has a passphrase -----------------------------------------------------


async def test_burn_of_a_passphrase_secret_needs_the_passphrase(env: InProcess) -> None:
    skey, rkey = await v2_keys(env.client, "burn me", passphrase=RIGHT)
    missing = await env.client.post(f"{V2}/receipt/{rkey}/burn", json={"continue": True})
    assert_v2_error(missing, 422, "wrong_passphrase", field="passphrase")
    wrong = await env.client.post(
        f"{V2}/receipt/{rkey}/burn", json={"continue": True, "passphrase": "wrong"}
    )
    assert_v2_error(wrong, 422, "wrong_passphrase", field="passphrase")
    assert (await v2_receipt(env.client, rkey))["state"] == "new"

    burned = await env.client.post(
        f"{V2}/receipt/{rkey}/burn", json={"continue": True, "passphrase": RIGHT}
    )
    assert burned.json()["record"]["state"] == "burned"
    assert_v2_error(await guess(env.client, skey, RIGHT), 404, "not_found")


async def test_wrong_passphrases_at_burn_count_towards_the_lock(env: InProcess) -> None:
    skey, rkey = await v2_keys(env.client, "guarded", passphrase=RIGHT)
    for _ in range(PER_CLIENT):
        await env.client.post(
            f"{V2}/receipt/{rkey}/burn", json={"continue": True, "passphrase": "wrong"}
        )
    burn = await env.client.post(
        f"{V2}/receipt/{rkey}/burn", json={"continue": True, "passphrase": RIGHT}
    )
    assert_v2_error(burn, 429, "rate_limited")
    assert (await guess(env.client, skey, RIGHT)).status_code == 429
    assert (await v2_receipt(env.client, rkey))["state"] == "new"
