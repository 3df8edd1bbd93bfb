"""Lifetimes are clamped silently, as OTS does; creation is rate limited per client."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onetime.deps import client_bucket
from tests.api.flows import (
    SEVEN_DAYS,
    V1,
    V2,
    AppFactory,
    assert_v1_error,
    assert_v2_error,
    client_from,
    v1_share,
    v2_conceal,
)
from tests.conftest import InProcess

# -- lifetimes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "granted"),
    [
        (1, 60),
        (0, 60),
        (-5, 60),
        ("-5", 60),
        (59, 60),
        (60, 60),
        (61, 61),
        (3600, 3600),
        (SEVEN_DAYS, SEVEN_DAYS),
        (SEVEN_DAYS + 1, SEVEN_DAYS),
        (30 * 24 * 3600, SEVEN_DAYS),
        ("9999999999999999999999", SEVEN_DAYS),
    ],
)
async def test_v2_ttl_is_clamped_to_the_anonymous_range(
    env: InProcess, requested: Any, granted: int
) -> None:
    record = (await v2_conceal(env.client, ttl=requested))["record"]
    assert record["receipt"]["lifespan"] == granted
    assert record["secret"]["secret_ttl"] == granted
    assert record["receipt"]["metadata_ttl"] == 2 * granted


@pytest.mark.parametrize("ttl", [None, ""])
async def test_v2_default_ttl_is_seven_days(env: InProcess, ttl: Any) -> None:
    fields = {} if ttl is None else {"ttl": ttl}
    record = (await v2_conceal(env.client, **fields))["record"]
    assert record["receipt"]["lifespan"] == SEVEN_DAYS
    assert record["receipt"]["natural_expiration"] == "7 days"


@pytest.mark.parametrize(
    ("requested", "granted"), [("30", 60), ("120", 120), (str(10 * 24 * 3600), SEVEN_DAYS)]
)
async def test_v1_ttl_is_clamped(env: InProcess, requested: str, granted: int) -> None:
    receipt = await v1_share(env.client, ttl=requested)
    assert receipt["ttl"] == granted
    assert receipt["secret_ttl"] == granted
    assert receipt["metadata_ttl"] == 2 * granted


async def test_v1_default_ttl_is_seven_days(env: InProcess) -> None:
    assert (await v1_share(env.client))["ttl"] == SEVEN_DAYS
    generated = (await env.client.post(f"{V1}/generate")).json()
    assert generated["ttl"] == SEVEN_DAYS


async def test_generate_ttl_is_clamped_too(env: InProcess) -> None:
    short = await env.client.post(f"{V2}/secret/generate", json={"secret": {"ttl": 5}})
    assert short.json()["record"]["receipt"]["lifespan"] == 60
    long = await env.client.post(f"{V1}/generate", data={"ttl": str(SEVEN_DAYS * 4)})
    assert long.json()["ttl"] == SEVEN_DAYS


async def test_ttl_cap_setting_lowers_the_maximum_and_the_default(app_factory: AppFactory) -> None:
    async with app_factory(ttl_cap=3600) as env:
        asked_more = (await v2_conceal(env.client, ttl=7200))["record"]["receipt"]
        assert asked_more["lifespan"] == 3600
        default = (await v2_conceal(env.client))["record"]["receipt"]
        assert default["lifespan"] == 3600
        below = (await v2_conceal(env.client, ttl=1800))["record"]["receipt"]
        assert below["lifespan"] == 1800
        assert (await v1_share(env.client, ttl="86400"))["ttl"] == 3600


async def test_ttl_cap_below_the_minimum_keeps_the_minimum(app_factory: AppFactory) -> None:
    async with app_factory(ttl_cap=10) as env:
        assert (await v2_conceal(env.client, ttl=3600))["record"]["receipt"]["lifespan"] == 60


async def test_secret_lives_exactly_its_clamped_ttl(env: InProcess) -> None:
    record = (await v2_conceal(env.client, "short lived", ttl=1))["record"]
    skey = record["secret"]["identifier"]
    env.clock.advance(59)
    status = await env.client.get(f"{V2}/secret/{skey}/status")
    assert status.json()["details"]["current_expiration"] == 1
    env.clock.advance(1)
    assert (await env.client.get(f"{V2}/secret/{skey}/status")).json()["record"] == {
        "state": "unknown"
    }


# -- creation rate limit ------------------------------------------------------------------------


async def test_fourth_creation_over_a_limit_of_three_is_429(app_factory: AppFactory) -> None:
    async with app_factory(create_limit=3) as env:
        for _ in range(3):
            await v2_conceal(env.client)
        env.clock.advance(100)
        response = await env.client.post(f"{V2}/secret/conceal", json={"secret": {"secret": "x"}})
        body = assert_v2_error(response, 429, "rate_limited")
        assert body["retry_after"] == env.settings.create_window - 100
        assert response.headers["retry-after"] == str(body["retry_after"])


async def test_every_way_of_creating_counts(app_factory: AppFactory) -> None:
    async with app_factory(create_limit=3) as env:
        await v2_conceal(env.client)
        assert (await env.client.post(f"{V1}/share", data={"secret": "x"})).status_code == 200
        assert (
            await env.client.post(f"{V2}/guest/secret/generate", json={"secret": {}})
        ).status_code == 200
        generate = await env.client.post(f"{V1}/generate")
        assert_v1_error(generate, intended=429)
        assert generate.headers["retry-after"] == str(env.settings.create_window)


async def test_v1_rate_limit_is_a_legacy_429(app_factory: AppFactory) -> None:
    async with app_factory(create_limit=3) as env:
        for _ in range(3):
            await v1_share(env.client)
        response = await env.client.post(f"{V1}/share", data={"secret": "x"})
        assert_v1_error(response, intended=429)
        assert int(response.headers["retry-after"]) == env.settings.create_window


async def test_rate_limit_is_per_client(app_factory: AppFactory) -> None:
    async with app_factory(create_limit=3) as env:
        for _ in range(3):
            await v2_conceal(env.client)
        async with client_from(env, "10.0.0.2") as other:
            await v2_conceal(other)
        limited = await env.client.post(f"{V2}/secret/conceal", json={"secret": {"secret": "x"}})
        assert limited.status_code == 429


async def test_rate_limit_lifts_after_its_window(app_factory: AppFactory) -> None:
    async with app_factory(create_limit=3) as env:
        for _ in range(3):
            await v2_conceal(env.client)
        env.clock.advance(env.settings.create_window - 1)
        assert (
            await env.client.post(f"{V2}/secret/conceal", json={"secret": {"secret": "x"}})
        ).status_code == 429
        env.clock.advance(1)
        await v2_conceal(env.client)


async def test_refused_creations_do_not_use_up_the_limit(app_factory: AppFactory) -> None:
    async with app_factory(create_limit=3) as env:
        for _ in range(5):
            empty = await env.client.post(f"{V2}/secret/conceal", json={"secret": {"secret": ""}})
            assert empty.status_code == 422
        for _ in range(3):
            await v2_conceal(env.client)


async def test_reading_is_not_rate_limited_by_the_creation_limit(app_factory: AppFactory) -> None:
    async with app_factory(create_limit=1) as env:
        record = (await v2_conceal(env.client, "readable"))["record"]
        skey, rkey = record["secret"]["identifier"], record["receipt"]["identifier"]
        for _ in range(3):
            assert (await env.client.get(f"{V2}/receipt/{rkey}")).status_code == 200
            assert (await env.client.get(f"{V2}/secret/{skey}/status")).status_code == 200
        revealed = await env.client.post(f"{V2}/secret/{skey}/reveal")
        assert revealed.json()["record"]["secret_value"] == "readable"


async def test_a_limit_of_zero_switches_it_off(app_factory: AppFactory) -> None:
    async with app_factory(create_limit=0) as env:
        for _ in range(120):
            response = await env.client.post(f"{V1}/share", data={"secret": "x"})
            assert response.status_code == 200


async def test_ipv6_clients_are_limited_per_64_network(app_factory: AppFactory) -> None:
    # One IPv6 host usually holds a whole /64; counting each address alone would let it create
    # without limit (and guess without a per-client limit) by changing the last 64 bits.
    async with app_factory(create_limit=3) as env:
        for host in ("2001:db8:0:1::1", "2001:db8:0:1::2", "2001:db8:0:1:ffff:1:2:3"):
            async with client_from(env, host) as client:
                await v2_conceal(client)
        async with client_from(env, "2001:db8:0:1::abcd") as same_network:
            limited = await same_network.post(
                f"{V2}/secret/conceal", json={"secret": {"secret": "x"}}
            )
            assert_v2_error(limited, 429, "rate_limited")
        async with client_from(env, "2001:db8:0:2::1") as next_network:
            await v2_conceal(next_network)


async def test_an_ipv4_mapped_address_counts_as_its_ipv4_address(app_factory: AppFactory) -> None:
    async with app_factory(create_limit=2) as env:
        async with client_from(env, "192.0.2.7") as plain:
            await v2_conceal(plain)
        async with client_from(env, "::ffff:192.0.2.7") as mapped:
            await v2_conceal(mapped)
            limited = await mapped.post(f"{V2}/secret/conceal", json={"secret": {"secret": "x"}})
            assert_v2_error(limited, 429, "rate_limited")


@pytest.mark.parametrize(
    ("address", "bucket"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("0.0.0.0", "0.0.0.0"),
        ("255.255.255.255", "255.255.255.255"),
        # Not plain IPv4 (leading zeros, too few parts, out of range, a NUL): counted as given.
        ("192.0.2.07", "192.0.2.07"),
        ("192.0.2", "192.0.2"),
        ("256.0.2.7", "256.0.2.7"),
        ("192.0.2.7\x00", "192.0.2.7\x00"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:DB8:0:0::1", "2001:db8::/64"),
        ("testclient", "testclient"),
    ],
)
def test_what_a_client_is_counted_by(address: str, bucket: str) -> None:
    assert client_bucket(address) == bucket


def _bucket_by_ipaddress(address: str) -> str:
    """What clients were counted by before the IPv4 fast path: ipaddress alone."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@settings(max_examples=500, deadline=None)
@given(
    st.ip_addresses().map(str)
    | st.ip_addresses(v=4).map(lambda ip: ".".join(f"0{part}" for part in str(ip).split(".")))
    | st.text(st.sampled_from("0123456789.:abcdefx% \n\x00"), max_size=24)
    | st.text(max_size=24)
)
def test_the_ipv4_fast_path_counts_as_ipaddress_does(address: str) -> None:
    assert client_bucket(address) == _bucket_by_ipaddress(address)
