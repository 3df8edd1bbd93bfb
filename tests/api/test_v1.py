"""API v1: every endpoint and alias, the receipt hash, and the three ways v1 clients send fields."""

from __future__ import annotations

import base64

import pytest

from onetime.core.passwords import DEFAULT_LENGTH
from tests.api.flows import (
    ONE_HOUR,
    V1,
    AppFactory,
    assert_v1_error,
    assert_v1_unknown_secret,
    v1_receipt,
    v1_share,
)
from tests.conftest import InProcess

RECEIPT_PREFIXES = ["receipt", "private", "metadata"]
STATUS = {"status": "nominal", "locale": "en"}
WRONG_AUTH = {"Authorization": "Basic " + base64.b64encode(b"a@example.com:nope").decode()}


async def test_status_is_nominal(env: InProcess) -> None:
    response = await env.client.get(f"{V1}/status")
    assert response.status_code == 200
    assert response.json() == STATUS


@pytest.mark.parametrize("headers", [{}, WRONG_AUTH], ids=["no-credentials", "wrong-credentials"])
async def test_authcheck_without_valid_credentials_is_a_legacy_401(
    env: InProcess, headers: dict[str, str]
) -> None:
    response = await env.client.get(f"{V1}/authcheck", headers=headers)
    assert_v1_error(response, intended=401)
    assert response.headers["www-authenticate"].lower().startswith("basic")


@pytest.mark.parametrize("path", ["share", "create"])
async def test_share_and_its_alias_create_a_secret_that_reveals_once(
    env: InProcess, path: str
) -> None:
    response = await env.client.post(f"{V1}/{path}", data={"secret": "top secret", "ttl": "3600"})
    assert response.status_code == 200
    receipt = response.json()
    key = receipt["secret_key"]

    first = await env.client.post(f"{V1}/secret/{key}")
    assert first.status_code == 200
    assert first.json() == {
        "value": "top secret",
        "secret_key": key,
        "share_domain": "http://testserver",
    }
    assert_v1_unknown_secret(await env.client.post(f"{V1}/secret/{key}"), key)


async def test_second_reveal_says_unknown_secret_with_intended_status(env: InProcess) -> None:
    key = (await v1_share(env.client))["secret_key"]
    await env.client.post(f"{V1}/secret/{key}")
    response = await env.client.post(f"{V1}/secret/{key}")
    assert response.status_code == 404
    assert response.json() == {"message": "Unknown secret", "secret_key": key}
    assert response.headers["x-ots-intended-status"] == "404"


async def test_receipt_hash_has_every_documented_field_at_creation(env: InProcess) -> None:
    receipt = await v1_share(env.client, ttl=str(ONE_HOUR))
    now = env.clock.now()
    rkey, skey = receipt["metadata_key"], receipt["secret_key"]
    receipt_url = f"http://testserver/receipt/{rkey}"
    assert receipt == {
        "custid": "anon",
        "metadata_key": rkey,
        "secret_key": skey,
        "ttl": ONE_HOUR,
        "metadata_ttl": 2 * ONE_HOUR,
        "secret_ttl": ONE_HOUR,
        "metadata_url": receipt_url,
        "state": "new",
        "updated": now,
        "created": now,
        "recipient": [],
        "share_domain": "",
        "passphrase_required": False,
        "identifier": rkey,
        "secret_identifier": skey,
        "has_passphrase": False,
        "recipients": [],
        "receipt_ttl": 2 * ONE_HOUR,
        "receipt_url": receipt_url,
    }
    assert len(rkey) == len(skey) == 62
    assert rkey != skey


async def test_receipt_ttls_count_down(env: InProcess) -> None:
    receipt = await v1_share(env.client, ttl="600")
    env.clock.advance(100)
    later = await v1_receipt(env.client, receipt["metadata_key"])
    assert later["ttl"] == 600
    assert later["secret_ttl"] == 500
    assert later["metadata_ttl"] == later["receipt_ttl"] == 1100
    assert later["created"] == receipt["created"]


async def test_receipt_after_reveal_says_received_and_hides_the_secret_key(env: InProcess) -> None:
    receipt = await v1_share(env.client, ttl=str(ONE_HOUR))
    env.clock.advance(10)
    revealed_at = env.clock.now()
    await env.client.post(f"{V1}/secret/{receipt['secret_key']}")
    env.clock.advance(5)

    after = await v1_receipt(env.client, receipt["metadata_key"])
    assert after["state"] == "received"
    assert after["received"] == revealed_at
    assert after["updated"] == revealed_at
    for hidden in ("secret_key", "secret_ttl", "secret_identifier"):
        assert hidden not in after
    assert after["metadata_ttl"] == 2 * ONE_HOUR - 15


async def test_receipt_after_a_preview_says_viewed(env: InProcess) -> None:
    receipt = await v1_share(env.client)
    page = await env.client.get(f"/secret/{receipt['secret_key']}")
    assert page.status_code == 200
    after = await v1_receipt(env.client, receipt["metadata_key"])
    assert after["state"] == "viewed"
    assert after["secret_key"] == receipt["secret_key"]
    assert "received" not in after


async def test_passphrase_secret_is_marked_in_the_receipt_and_needs_it(env: InProcess) -> None:
    receipt = await v1_share(env.client, "guarded", passphrase="open sesame")
    assert receipt["passphrase_required"] is True
    assert receipt["has_passphrase"] is True
    key = receipt["secret_key"]

    assert_v1_unknown_secret(await env.client.post(f"{V1}/secret/{key}"), key)
    response = await env.client.post(f"{V1}/secret/{key}", data={"passphrase": "open sesame"})
    assert response.status_code == 200
    assert response.json()["value"] == "guarded"


@pytest.mark.parametrize("prefix", RECEIPT_PREFIXES)
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_receipt_is_readable_under_every_alias_and_method(
    env: InProcess, prefix: str, method: str
) -> None:
    receipt = await v1_share(env.client)
    response = await env.client.request(method, f"{V1}/{prefix}/{receipt['metadata_key']}")
    assert response.status_code == 200
    assert response.json() == receipt


@pytest.mark.parametrize("prefix", RECEIPT_PREFIXES)
async def test_unknown_receipt_is_a_legacy_404(env: InProcess, prefix: str) -> None:
    key = "0" * 62
    response = await env.client.get(f"{V1}/{prefix}/{key}")
    assert_v1_error(response, intended=404)


@pytest.mark.parametrize("prefix", RECEIPT_PREFIXES)
@pytest.mark.parametrize("headers", [{}, WRONG_AUTH], ids=["no-credentials", "wrong-credentials"])
async def test_recent_needs_an_account(
    env: InProcess, prefix: str, headers: dict[str, str]
) -> None:
    response = await env.client.get(f"{V1}/{prefix}/recent", headers=headers)
    assert_v1_error(response, intended=401)


@pytest.mark.parametrize("prefix", RECEIPT_PREFIXES)
async def test_burn_under_every_alias_destroys_the_secret(env: InProcess, prefix: str) -> None:
    receipt = await v1_share(env.client)
    rkey, skey = receipt["metadata_key"], receipt["secret_key"]
    env.clock.advance(7)

    response = await env.client.post(f"{V1}/{prefix}/{rkey}/burn")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"state", "secret_shortkey"}
    assert body["secret_shortkey"] == skey[:8]
    state = body["state"]
    assert state["state"] == "burned"
    assert state["metadata_key"] == rkey
    assert state["updated"] == env.clock.now()
    assert "secret_key" not in state

    assert_v1_unknown_secret(await env.client.post(f"{V1}/secret/{skey}"), skey)
    assert (await v1_receipt(env.client, rkey))["state"] == "burned"


async def test_burning_twice_is_harmless(env: InProcess) -> None:
    receipt = await v1_share(env.client)
    rkey = receipt["metadata_key"]
    first = await env.client.post(f"{V1}/receipt/{rkey}/burn")
    second = await env.client.post(f"{V1}/receipt/{rkey}/burn")
    assert second.status_code == 200
    assert second.json() == first.json()


async def test_burning_a_read_secret_leaves_it_received(env: InProcess) -> None:
    receipt = await v1_share(env.client)
    await env.client.post(f"{V1}/secret/{receipt['secret_key']}")
    response = await env.client.post(f"{V1}/receipt/{receipt['metadata_key']}/burn")
    assert response.status_code == 200
    assert response.json()["state"]["state"] == "received"


async def test_burn_of_a_passphrase_secret_needs_the_passphrase(env: InProcess) -> None:
    receipt = await v1_share(env.client, passphrase="letmein")
    rkey, skey = receipt["metadata_key"], receipt["secret_key"]

    refused = await env.client.post(f"{V1}/receipt/{rkey}/burn")
    assert refused.status_code == 404
    wrong = await env.client.post(f"{V1}/receipt/{rkey}/burn", data={"passphrase": "nope"})
    assert wrong.status_code == 404
    assert (await v1_receipt(env.client, rkey))["state"] == "new"

    burned = await env.client.post(f"{V1}/receipt/{rkey}/burn", data={"passphrase": "letmein"})
    assert burned.status_code == 200
    assert burned.json()["state"]["state"] == "burned"
    response = await env.client.post(f"{V1}/secret/{skey}", data={"passphrase": "letmein"})
    assert_v1_unknown_secret(response, skey)


async def test_generate_returns_a_password_of_twelve_that_the_link_reveals(env: InProcess) -> None:
    response = await env.client.post(f"{V1}/generate", data={"ttl": "600"})
    assert response.status_code == 200
    body = response.json()
    value = body["value"]
    assert isinstance(value, str)
    assert len(value) == DEFAULT_LENGTH == 12
    assert body["ttl"] == 600
    assert body["state"] == "new"
    assert body["custid"] == "anon"

    revealed = await env.client.post(f"{V1}/secret/{body['secret_key']}")
    assert revealed.json()["value"] == value


async def test_generated_passwords_differ(env: InProcess) -> None:
    values = set()
    for _ in range(5):
        values.add((await env.client.post(f"{V1}/generate")).json()["value"])
    assert len(values) == 5


@pytest.mark.parametrize("length", [8, 20, 128])
async def test_generate_honours_length(env: InProcess, length: int) -> None:
    response = await env.client.post(f"{V1}/generate", data={"length": str(length)})
    assert response.status_code == 200
    assert len(response.json()["value"]) == length


@pytest.mark.parametrize("length", ["7", "129", "0", "twelve"])
async def test_generate_refuses_a_bad_length(env: InProcess, length: str) -> None:
    response = await env.client.post(f"{V1}/generate", data={"length": length})
    assert_v1_error(response, intended=400)


async def test_generate_with_a_passphrase(env: InProcess) -> None:
    body = (await env.client.post(f"{V1}/generate", data={"passphrase": "pass1234"})).json()
    assert body["passphrase_required"] is True
    key = body["secret_key"]
    response = await env.client.post(f"{V1}/secret/{key}", data={"passphrase": "pass1234"})
    assert response.json()["value"] == body["value"]


async def test_share_accepts_a_json_body(env: InProcess) -> None:
    response = await env.client.post(f"{V1}/share", json={"secret": "from json", "ttl": 600})
    assert response.status_code == 200
    receipt = response.json()
    assert receipt["ttl"] == 600
    revealed = await env.client.post(f"{V1}/secret/{receipt['secret_key']}", json={})
    assert revealed.json()["value"] == "from json"


async def test_share_accepts_query_parameters(env: InProcess) -> None:
    response = await env.client.post(
        f"{V1}/share", params={"secret": "from the query", "ttl": "900"}
    )
    assert response.status_code == 200
    receipt = response.json()
    assert receipt["ttl"] == 900
    revealed = await env.client.post(f"{V1}/secret/{receipt['secret_key']}")
    assert revealed.json()["value"] == "from the query"


async def test_the_body_wins_over_the_query(env: InProcess) -> None:
    response = await env.client.post(
        f"{V1}/share", params={"secret": "query", "ttl": "900"}, data={"secret": "body"}
    )
    receipt = response.json()
    assert receipt["ttl"] == 900
    revealed = await env.client.post(f"{V1}/secret/{receipt['secret_key']}")
    assert revealed.json()["value"] == "body"


async def test_reveal_accepts_the_passphrase_as_json_and_as_query(env: InProcess) -> None:
    first = (await v1_share(env.client, "one", passphrase="phrase1"))["secret_key"]
    second = (await v1_share(env.client, "two", passphrase="phrase2"))["secret_key"]
    by_json = await env.client.post(f"{V1}/secret/{first}", json={"passphrase": "phrase1"})
    by_query = await env.client.post(f"{V1}/secret/{second}", params={"passphrase": "phrase2"})
    assert by_json.json()["value"] == "one"
    assert by_query.json()["value"] == "two"


async def test_multipart_form_is_accepted(env: InProcess) -> None:
    response = await env.client.post(
        f"{V1}/share", data={"secret": "multi"}, files={"unused": ("a.txt", b"x")}
    )
    assert response.status_code == 200
    revealed = await env.client.post(f"{V1}/secret/{response.json()['secret_key']}")
    assert revealed.json()["value"] == "multi"


async def test_unicode_and_newlines_round_trip(env: InProcess) -> None:
    text = "héllo wörld 🔑\nsecond line\n\ttabbed"
    key = (await v1_share(env.client, text))["secret_key"]
    assert (await env.client.post(f"{V1}/secret/{key}")).json()["value"] == text


async def test_recipient_needs_an_account(env: InProcess) -> None:
    response = await env.client.post(
        f"{V1}/share", data={"secret": "x", "recipient": "someone@example.com"}
    )
    assert_v1_error(response, intended=403)


async def test_share_domain_must_be_configured(app_factory: AppFactory) -> None:
    async with app_factory(share_domains="a.example") as env:
        receipt = await v1_share(env.client, share_domain="A.example")
        assert receipt["share_domain"] == "a.example"
        response = await env.client.post(
            f"{V1}/share", data={"secret": "x", "share_domain": "b.example"}
        )
        assert_v1_error(response, intended=400)


async def test_get_on_a_post_route_is_refused_in_legacy_shape(env: InProcess) -> None:
    response = await env.client.get(f"{V1}/share")
    assert response.status_code == 404
    assert "message" in response.json()
    assert response.headers["x-ots-intended-status"] == "405"
