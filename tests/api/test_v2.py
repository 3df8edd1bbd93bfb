"""API v2 and its /guest/ twin: every endpoint, the create answer, secrets, receipts, memos."""

from __future__ import annotations

import string
from typing import Any

import pytest

import onetime
from onetime.core.passwords import DEFAULT_LENGTH
from tests.api.flows import (
    ONE_HOUR,
    V2,
    assert_v2_error,
    v2_conceal,
    v2_keys,
    v2_receipt,
)
from tests.conftest import InProcess

PREFIXES = [V2, f"{V2}/guest"]
AMBIGUOUS = set("0O1lI|5S2Z8B")


# -- service information ----------------------------------------------------------------------


async def test_status(env: InProcess) -> None:
    response = await env.client.get(f"{V2}/status")
    assert response.status_code == 200
    assert response.json() == {"success": True, "status": "nominal", "locale": "en"}


async def test_supported_locales(env: InProcess) -> None:
    response = await env.client.get(f"{V2}/supported-locales")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert "en" in body["locales"]
    assert body["default_locale"] == "en"
    assert body["locale"] == "en"


async def test_version_needs_an_account(env: InProcess) -> None:
    response = await env.client.get(f"{V2}/version")
    assert_v2_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].lower().startswith("basic")
    assert onetime.__version__  # the number /version would show to an account


@pytest.mark.parametrize("path", ["receipt/recent", "private/recent"])
async def test_recent_needs_an_account(env: InProcess, path: str) -> None:
    assert_v2_error(await env.client.get(f"{V2}/{path}"), 401, "unauthorized")


# -- conceal ----------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_conceal_answer_has_the_documented_shape(env: InProcess, prefix: str) -> None:
    body = await v2_conceal(env.client, "hello", prefix=prefix, ttl=ONE_HOUR)
    now = env.clock.now()
    assert body["success"] is True
    assert body["details"] == {"kind": "conceal", "recipient": [], "recipient_safe": []}
    record = body["record"]
    assert set(record) == {"receipt", "metadata", "secret", "share_domain"}
    assert record["share_domain"] is None
    assert record["metadata"] == record["receipt"]

    receipt, secret = record["receipt"], record["secret"]
    skey, rkey = secret["identifier"], receipt["identifier"]
    assert receipt["key"] == rkey
    assert receipt["shortid"] == rkey[:8]
    assert receipt["owner_id"] is None
    assert receipt["kind"] == "conceal"
    assert receipt["secret_identifier"] == skey
    assert receipt["secret_shortid"] == skey[:8]
    assert receipt["state"] == "new"
    assert receipt["secret_state"] == "new"
    assert receipt["lifespan"] == ONE_HOUR
    assert receipt["secret_ttl"] == receipt["expiration_in_seconds"] == ONE_HOUR
    assert receipt["metadata_ttl"] == receipt["receipt_ttl"] == 2 * ONE_HOUR
    assert receipt["created"] == receipt["updated"] == receipt["shared"] == now
    assert receipt["expiration"] == now + ONE_HOUR
    assert receipt["natural_expiration"] == "1 hour"
    for stamp in ("previewed", "viewed", "revealed", "received", "burned"):
        assert receipt[stamp] is None
    for flag in (
        "is_previewed", "is_viewed", "is_received", "is_revealed",
        "is_burned", "is_expired", "is_orphaned", "is_destroyed", "has_passphrase",
    ):  # fmt: skip
        assert receipt[flag] is False, flag
    assert receipt["recipients"] == []
    assert receipt["memo"] is None
    assert receipt["share_path"] == f"/secret/{skey}"
    assert receipt["receipt_path"] == f"/receipt/{rkey}"
    assert receipt["burn_path"] == f"/api/v2/receipt/{rkey}/burn"
    assert receipt["share_url"] == f"http://testserver/secret/{skey}"
    assert receipt["receipt_url"] == f"http://testserver/receipt/{rkey}"
    assert receipt["burn_url"] == f"http://testserver/api/v2/receipt/{rkey}/burn"

    assert secret == {
        "identifier": skey,
        "key": skey,
        "shortid": skey[:8],
        "state": "new",
        "lifespan": ONE_HOUR,
        "secret_ttl": ONE_HOUR,
        "has_passphrase": False,
        "created": now,
        "updated": now,
        "is_previewed": False,
        "is_viewed": False,
        "is_revealed": False,
        "is_received": False,
    }


@pytest.mark.parametrize("ttl", [900, "900", " 900 ", 900.0])
async def test_conceal_accepts_ttl_as_number_or_digit_string(env: InProcess, ttl: Any) -> None:
    record = (await v2_conceal(env.client, ttl=ttl))["record"]
    assert record["receipt"]["lifespan"] == 900
    assert record["secret"]["secret_ttl"] == 900


async def test_conceal_ignores_unknown_fields(env: InProcess) -> None:
    response = await env.client.post(
        f"{V2}/secret/conceal",
        json={"secret": {"secret": "x", "colour": "blue"}, "extra": 1},
    )
    assert response.status_code == 200


async def test_conceal_with_a_passphrase_is_flagged(env: InProcess) -> None:
    record = (await v2_conceal(env.client, passphrase="correct horse"))["record"]
    assert record["receipt"]["has_passphrase"] is True
    assert record["secret"]["has_passphrase"] is True


async def test_conceal_with_a_configured_share_domain(app_factory: Any) -> None:
    async with app_factory(share_domains="a.example") as env:
        record = (await v2_conceal(env.client, share_domain="a.example"))["record"]
        receipt = record["receipt"]
        skey = record["secret"]["identifier"]
        assert receipt["share_domain"] == "a.example"
        assert receipt["share_url"] == f"https://a.example/secret/{skey}"
        assert receipt["receipt_url"].startswith("http://testserver/receipt/")

        response = await env.client.post(
            f"{V2}/secret/conceal", json={"secret": {"secret": "x", "share_domain": "b.example"}}
        )
        assert_v2_error(response, 422, "invalid_input", field="share_domain")


async def test_recipient_needs_an_account(env: InProcess) -> None:
    response = await env.client.post(
        f"{V2}/secret/conceal", json={"secret": {"secret": "x", "recipient": "bob@example.com"}}
    )
    body = assert_v2_error(response, 403, "forbidden")
    assert body["code"] == "recipient_needs_account"


@pytest.mark.parametrize("recipient", ["not an address", ["a@example.com", "b@"], [1], 7])
async def test_a_recipient_that_is_not_an_address_is_invalid(
    env: InProcess, recipient: Any
) -> None:
    response = await env.client.post(
        f"{V2}/secret/conceal", json={"secret": {"secret": "x", "recipient": recipient}}
    )
    assert_v2_error(response, 422, "invalid_input", field="recipient")


# -- generate ---------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_generate_returns_the_password_once_and_the_link_reveals_it(
    env: InProcess, prefix: str
) -> None:
    response = await env.client.post(f"{prefix}/secret/generate", json={"secret": {"ttl": 600}})
    assert response.status_code == 200
    body = response.json()
    assert body["details"]["kind"] == "generate"
    record = body["record"]
    assert record["receipt"]["kind"] == "generate"
    assert record["receipt"]["lifespan"] == 600
    value = record["secret"]["secret_value"]
    assert len(value) == DEFAULT_LENGTH
    assert not AMBIGUOUS & set(value)
    assert "secret_value" not in record["receipt"]

    skey = record["secret"]["identifier"]
    revealed = await env.client.post(f"{prefix}/secret/{skey}/reveal", json={"continue": True})
    assert revealed.json()["record"]["secret_value"] == value
    # The receipt never shows the password.
    assert value not in (await env.client.get(f"{V2}/receipt/{record['receipt']['key']}")).text


async def test_generate_honours_numbers_only(env: InProcess) -> None:
    sets = {"uppercase": False, "lowercase": False, "numbers": True, "symbols": False}
    response = await env.client.post(
        f"{V2}/secret/generate", json={"secret": {"length": 64, "character_sets": sets}}
    )
    value = response.json()["record"]["secret"]["secret_value"]
    assert len(value) == 64
    assert set(value) <= set(string.digits) - AMBIGUOUS


async def test_generate_with_symbols_and_ambiguous_characters(env: InProcess) -> None:
    sets = {
        "uppercase": False,
        "lowercase": False,
        "numbers": False,
        "symbols": True,
        "exclude_ambiguous": False,
    }
    response = await env.client.post(
        f"{V2}/secret/generate", json={"secret": {"length": 40, "character_sets": sets}}
    )
    value = response.json()["record"]["secret"]["secret_value"]
    assert value
    assert not set(value) & set(string.ascii_letters + string.digits)


async def test_generate_keeps_every_chosen_set_represented(env: InProcess) -> None:
    sets = {"uppercase": True, "lowercase": True, "numbers": True, "symbols": True}
    for _ in range(10):
        response = await env.client.post(
            f"{V2}/secret/generate", json={"secret": {"length": 8, "character_sets": sets}}
        )
        value = response.json()["record"]["secret"]["secret_value"]
        assert any(c.isupper() for c in value)
        assert any(c.islower() for c in value)
        assert any(c.isdigit() for c in value)
        assert any(not c.isalnum() for c in value)


@pytest.mark.parametrize("length", [8, "16", 128])
async def test_generate_length_bounds_are_inclusive(env: InProcess, length: Any) -> None:
    response = await env.client.post(f"{V2}/secret/generate", json={"secret": {"length": length}})
    assert response.status_code == 200
    assert len(response.json()["record"]["secret"]["secret_value"]) == int(length)


@pytest.mark.parametrize("length", [7, 129, 0, -1, "abc"])
async def test_generate_length_out_of_bounds_is_422(env: InProcess, length: Any) -> None:
    response = await env.client.post(f"{V2}/secret/generate", json={"secret": {"length": length}})
    assert_v2_error(response, 422, "invalid_input", field="length")


async def test_generate_with_no_character_set_is_422(env: InProcess) -> None:
    sets = {"uppercase": False, "lowercase": False, "numbers": False, "symbols": False}
    response = await env.client.post(
        f"{V2}/secret/generate", json={"secret": {"character_sets": sets}}
    )
    assert_v2_error(response, 422, "invalid_input", field="character_sets")


# -- the recipient's side -----------------------------------------------------------------------


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_get_secret_is_a_preview_that_consumes_nothing(env: InProcess, prefix: str) -> None:
    skey, rkey = await v2_keys(env.client, "still here", ttl=ONE_HOUR)
    env.clock.advance(30)

    response = await env.client.get(f"{prefix}/secret/{skey}")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert "secret_value" not in body["record"]
    assert body["record"]["identifier"] == skey
    assert body["record"]["secret_ttl"] == ONE_HOUR - 30
    assert body["details"]["show_secret"] is False
    assert body["details"]["continue"] is False

    receipt = await v2_receipt(env.client, rkey)
    assert receipt["state"] == "previewed"
    assert receipt["previewed"] == receipt["viewed"] == env.clock.now()
    assert receipt["is_previewed"] is True
    assert receipt["secret_state"] == "previewed"

    again = await env.client.get(f"{prefix}/secret/{skey}")
    assert again.json()["record"]["state"] == "previewed"
    assert again.json()["record"]["is_previewed"] is True
    revealed = await env.client.post(f"{prefix}/secret/{skey}/reveal", json={"continue": True})
    assert revealed.json()["record"]["secret_value"] == "still here"


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_get_secret_with_continue_reveals_it(env: InProcess, prefix: str) -> None:
    skey, rkey = await v2_keys(env.client, "now you see it")
    response = await env.client.get(f"{prefix}/secret/{skey}", params={"continue": "true"})
    assert response.status_code == 200
    body = response.json()
    assert body["record"]["secret_value"] == "now you see it"
    assert body["record"]["state"] == "revealed"
    assert body["details"]["show_secret"] is True

    assert_v2_error(await env.client.get(f"{prefix}/secret/{skey}"), 404, "not_found")
    assert (await v2_receipt(env.client, rkey))["state"] == "revealed"


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_reveal_answer_has_the_documented_shape(env: InProcess, prefix: str) -> None:
    skey, _ = await v2_keys(env.client, "one line", ttl=ONE_HOUR)
    env.clock.advance(60)
    response = await env.client.post(f"{prefix}/secret/{skey}/reveal", json={"continue": True})
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    record = body["record"]
    assert record["secret_value"] == "one line"
    assert record["identifier"] == record["key"] == skey
    assert record["shortid"] == skey[:8]
    assert record["is_revealed"] is record["is_received"] is True
    assert record["has_passphrase"] is False
    assert record["lifespan"] == ONE_HOUR
    assert record["updated"] == env.clock.now()
    assert body["details"] == {
        "continue": True,
        "is_owner": False,
        "show_secret": True,
        "correct_passphrase": True,
        "display_lines": 2,
        "one_liner": True,
    }


async def test_reveal_of_several_lines_is_not_a_one_liner(env: InProcess) -> None:
    skey, _ = await v2_keys(env.client, "a\nb\nc")
    details = (await env.client.post(f"{V2}/secret/{skey}/reveal", json={})).json()["details"]
    assert details["one_liner"] is False
    assert details["display_lines"] == 4


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_reveal_works_exactly_once(env: InProcess, prefix: str) -> None:
    skey, _ = await v2_keys(env.client, "once")
    first = await env.client.post(f"{prefix}/secret/{skey}/reveal")
    assert first.json()["record"]["secret_value"] == "once"
    second = await env.client.post(f"{prefix}/secret/{skey}/reveal", json={"continue": True})
    body = assert_v2_error(second, 404, "not_found")
    assert "once" not in second.text
    assert body["error"]


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_status_of_one_secret(env: InProcess, prefix: str) -> None:
    skey, _ = await v2_keys(env.client, ttl=ONE_HOUR)
    env.clock.advance(100)
    response = await env.client.get(f"{prefix}/secret/{skey}/status")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["record"]["state"] == "new"
    assert body["record"]["identifier"] == skey
    assert "secret_value" not in body["record"]
    assert body["details"] == {"current_expiration": ONE_HOUR - 100}

    await env.client.post(f"{V2}/secret/{skey}/reveal", json={"continue": True})
    gone = await env.client.get(f"{prefix}/secret/{skey}/status")
    assert gone.status_code == 200
    assert gone.json() == {"success": True, "record": {"state": "unknown"}}


async def test_status_does_not_mark_a_preview(env: InProcess) -> None:
    skey, rkey = await v2_keys(env.client)
    await env.client.get(f"{V2}/secret/{skey}/status")
    assert (await v2_receipt(env.client, rkey))["state"] == "new"


@pytest.mark.parametrize("key", ["nope", "0" * 62, "x" * 500])
async def test_status_of_an_unknown_secret(env: InProcess, key: str) -> None:
    response = await env.client.get(f"{V2}/secret/{key}/status")
    assert response.status_code == 200
    assert response.json()["record"] == {"state": "unknown"}


async def test_status_accepts_the_key_in_upper_case(env: InProcess) -> None:
    skey, _ = await v2_keys(env.client)
    response = await env.client.get(f"{V2}/secret/{skey.upper()}/status")
    assert response.json()["record"]["state"] == "new"


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("as_list", [False, True], ids=["comma-string", "array"])
async def test_status_of_several_secrets(env: InProcess, prefix: str, as_list: bool) -> None:
    live, _ = await v2_keys(env.client, ttl=600)
    read, _ = await v2_keys(env.client)
    await env.client.post(f"{V2}/secret/{read}/reveal", json={"continue": True})
    keys = [live, read, "bogus"]
    identifiers: Any = keys if as_list else f"{live}, {read},bogus,"

    response = await env.client.post(f"{prefix}/secret/status", json={"identifiers": identifiers})
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["count"] == 3
    records = body["records"]
    assert [r["identifier"] for r in records] == keys
    assert [r["state"] for r in records] == ["new", "unknown", "unknown"]
    assert records[0]["secret_ttl"] == 600


async def test_status_of_25_secrets_is_allowed_and_26_is_not(env: InProcess) -> None:
    skey, _ = await v2_keys(env.client)
    ok = await env.client.post(f"{V2}/secret/status", json={"identifiers": [skey] * 25})
    assert ok.status_code == 200
    assert ok.json()["count"] == 25
    too_many = await env.client.post(
        f"{V2}/secret/status", json={"identifiers": ",".join([skey] * 26)}
    )
    assert_v2_error(too_many, 422, "invalid_input", field="identifiers")


@pytest.mark.parametrize(
    "body", [{}, {"identifiers": 5}, {"identifiers": ["a", 1]}, {"identifiers": None}]
)
async def test_status_of_several_needs_identifiers(env: InProcess, body: dict[str, Any]) -> None:
    response = await env.client.post(f"{V2}/secret/status", json=body)
    assert_v2_error(response, 422, "invalid_input", field="identifiers")


async def test_status_of_no_secrets_is_an_empty_list(env: InProcess) -> None:
    response = await env.client.post(f"{V2}/secret/status", json={"identifiers": " , "})
    assert response.json() == {"success": True, "records": [], "count": 0}


# -- the creator's side -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["receipt", "private", "guest/receipt", "guest/private"])
async def test_receipt_is_readable_under_every_alias(env: InProcess, path: str) -> None:
    created = (await v2_conceal(env.client, ttl=ONE_HOUR))["record"]["receipt"]
    env.clock.advance(10)
    response = await env.client.get(f"{V2}/{path}/{created['key']}")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["details"] == {}
    receipt = body["record"]
    expected = {
        **created,
        "secret_ttl": ONE_HOUR - 10,
        "expiration_in_seconds": ONE_HOUR - 10,
        "metadata_ttl": 2 * ONE_HOUR - 10,
        "receipt_ttl": 2 * ONE_HOUR - 10,
    }
    assert receipt == expected


async def test_memo_round_trips(env: InProcess) -> None:
    _, rkey = await v2_keys(env.client)
    env.clock.advance(3)
    response = await env.client.patch(f"{V2}/receipt/{rkey}", json={"memo": "for the DB migration"})
    assert response.status_code == 200
    assert response.json()["record"]["memo"] == "for the DB migration"
    assert response.json()["record"]["updated"] == env.clock.now()

    receipt = await v2_receipt(env.client, rkey)
    assert receipt["memo"] == "for the DB migration"
    assert receipt["state"] == "new"


async def test_memo_of_500_characters_is_the_limit(env: InProcess) -> None:
    _, rkey = await v2_keys(env.client)
    longest = "m" * 500
    ok = await env.client.patch(f"{V2}/receipt/{rkey}", json={"memo": longest})
    assert ok.json()["record"]["memo"] == longest

    too_long = await env.client.patch(f"{V2}/receipt/{rkey}", json={"memo": longest + "m"})
    assert_v2_error(too_long, 422, "invalid_input", field="memo")
    assert (await v2_receipt(env.client, rkey))["memo"] == longest


async def test_memo_far_too_long_is_422(env: InProcess) -> None:
    _, rkey = await v2_keys(env.client)
    response = await env.client.patch(f"{V2}/receipt/{rkey}", json={"memo": "m" * 20_000})
    assert_v2_error(response, 422, "invalid_input", field="memo")


async def test_memo_can_be_cleared(env: InProcess) -> None:
    _, rkey = await v2_keys(env.client)
    await env.client.patch(f"{V2}/receipt/{rkey}", json={"memo": "note"})
    cleared = await env.client.patch(f"{V2}/receipt/{rkey}", json={"memo": ""})
    assert cleared.json()["record"]["memo"] is None


async def test_memo_of_an_unknown_receipt_is_404(env: InProcess) -> None:
    response = await env.client.patch(f"{V2}/receipt/{'0' * 62}", json={"memo": "x"})
    assert_v2_error(response, 404, "not_found")


async def test_memo_survives_the_reveal(env: InProcess) -> None:
    skey, rkey = await v2_keys(env.client)
    await env.client.patch(f"{V2}/receipt/{rkey}", json={"memo": "kept"})
    await env.client.post(f"{V2}/secret/{skey}/reveal", json={"continue": True})
    assert (await v2_receipt(env.client, rkey))["memo"] == "kept"


@pytest.mark.parametrize("path", ["receipt", "private", "guest/receipt", "guest/private"])
async def test_burn_destroys_the_secret(env: InProcess, path: str) -> None:
    skey, rkey = await v2_keys(env.client)
    env.clock.advance(5)
    response = await env.client.post(f"{V2}/{path}/{rkey}/burn", json={"continue": True})
    assert response.status_code == 200
    record = response.json()["record"]
    assert record["state"] == "burned"
    assert record["burned"] == env.clock.now()
    assert record["is_burned"] is record["is_destroyed"] is True
    assert record["secret_identifier"] is None
    assert record["secret_shortid"] == skey[:8]
    assert record["share_url"] is None
    assert record["secret_state"] is None

    assert_v2_error(
        await env.client.post(f"{V2}/secret/{skey}/reveal", json={"continue": True}),
        404,
        "not_found",
    )


@pytest.mark.parametrize("body", [None, {}, {"continue": False}, {"continue": "no"}])
async def test_burn_needs_continue_true(env: InProcess, body: Any) -> None:
    skey, rkey = await v2_keys(env.client)
    response = await env.client.post(f"{V2}/receipt/{rkey}/burn", json=body)
    assert_v2_error(response, 422, "invalid_input", field="continue")
    status = await env.client.get(f"{V2}/secret/{skey}/status")
    assert status.json()["record"]["state"] == "new"


async def test_burn_accepts_continue_as_a_string(env: InProcess) -> None:
    _, rkey = await v2_keys(env.client)
    response = await env.client.post(f"{V2}/receipt/{rkey}/burn", json={"continue": "true"})
    assert response.json()["record"]["state"] == "burned"


async def test_burn_of_an_unknown_receipt_is_404(env: InProcess) -> None:
    response = await env.client.post(f"{V2}/receipt/{'0' * 62}/burn", json={"continue": True})
    assert_v2_error(response, 404, "not_found")


# -- who may call -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic " + "YUBleGFtcGxlLmNvbTp3cm9uZw==",  # a@example.com:wrong
        "Basic !!!not-base64!!!",
        "Basic " + "bm9jb2xvbg==",  # "nocolon"
        "Bearer some-token",
        "",
        b"Basic \xc3\xa9t\xc3\xa9",  # not ASCII: base64 cannot even be tried
        "Basic /w==",  # base64 of a byte that is not UTF-8
    ],
    ids=["wrong-token", "garbled", "no-colon", "bearer", "empty", "non-ascii", "non-utf8"],
)
async def test_a_wrong_authorization_header_is_401_never_anonymous(
    env: InProcess, authorization: str | bytes
) -> None:
    headers = {"Authorization": authorization}
    response = await env.client.post(
        f"{V2}/secret/conceal", json={"secret": {"secret": "x"}}, headers=headers
    )
    assert_v2_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].lower().startswith("basic")

    skey, rkey = await v2_keys(env.client)
    for request in (
        env.client.get(f"{V2}/secret/{skey}", headers=headers),
        env.client.post(f"{V2}/secret/{skey}/reveal", json={}, headers=headers),
        env.client.get(f"{V2}/receipt/{rkey}", headers=headers),
        env.client.get(f"{V2}/version", headers=headers),
        env.client.get(f"{V2}/receipt/recent", headers=headers),
    ):
        assert_v2_error(await request, 401, "unauthorized")
    # Nothing was consumed by the refused calls.
    assert (await env.client.get(f"{V2}/secret/{skey}/status")).json()["record"]["state"] == "new"


async def test_public_routes_ignore_credentials(env: InProcess) -> None:
    headers = {"Authorization": "Basic YUBleGFtcGxlLmNvbTp3cm9uZw=="}
    assert (await env.client.get(f"{V2}/status", headers=headers)).status_code == 200
    assert (await env.client.get(f"{V2}/supported-locales", headers=headers)).status_code == 200


async def test_guest_routes_are_off_when_anonymous_use_is_off(app_factory: Any) -> None:
    async with app_factory(allow_anonymous=False) as env:
        guest = await env.client.post(
            f"{V2}/guest/secret/conceal", json={"secret": {"secret": "x"}}
        )
        body = assert_v2_error(guest, 403, "forbidden")
        assert body["code"] == "guest_disabled"
        for request in (
            env.client.post(f"{V2}/guest/secret/generate", json={"secret": {}}),
            env.client.get(f"{V2}/guest/secret/{'0' * 62}"),
            env.client.get(f"{V2}/guest/receipt/{'0' * 62}"),
        ):
            assert (await request).json()["code"] == "guest_disabled"

        anonymous = await env.client.post(f"{V2}/secret/conceal", json={"secret": {"secret": "x"}})
        assert assert_v2_error(anonymous, 403, "forbidden")["code"] == "anonymous_disabled"
        # Service information stays public.
        assert (await env.client.get(f"{V2}/status")).status_code == 200


async def test_v1_is_closed_to_anonymous_callers_too(app_factory: Any) -> None:
    async with app_factory(allow_anonymous=False) as env:
        response = await env.client.post("/api/v1/share", data={"secret": "x"})
        assert response.status_code == 404
        assert response.headers["x-ots-intended-status"] == "403"


# -- documentation ------------------------------------------------------------------------------


async def test_openapi_documents_v1_and_v2(env: InProcess) -> None:
    response = await env.client.get("/api/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/share",
        "/api/v1/secret/{key}",
        "/api/v1/receipt/{key}/burn",
        "/api/v2/secret/conceal",
        "/api/v2/secret/{key}/reveal",
        "/api/v2/guest/secret/conceal",
        "/api/v2/receipt/{key}",
    ):
        assert path in paths, path
    # Loose fields keep a useful schema although our own parsers read them.
    fields = response.json()["components"]["schemas"]["SecretFields"]["properties"]
    assert {"type": "integer"} in fields["ttl"]["anyOf"]
    assert {"type": "string"} in fields["ttl"]["anyOf"]
