"""Error shapes: v2's {"error", "error_type"} with the real status, v1's legacy 404 + header."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.flows import (
    V1,
    V2,
    assert_v1_error,
    assert_v1_unknown_secret,
    assert_v2_error,
    v1_share,
    v2_keys,
)
from tests.conftest import InProcess

# Keys a client might send that cannot be ours: too short, too long, not base36, or close.
GARBLED_KEYS = {
    "short": "abc123",
    "long": "a" * 500,
    "not-base36": "_" * 62,
    "one-char-short": "a" * 61,
    "well-formed-but-forged": "a" * 62,
}


# -- bodies that cannot be read -----------------------------------------------------------------


@pytest.mark.parametrize("path", ["secret/conceal", "secret/generate", "guest/secret/conceal"])
async def test_v2_malformed_json_is_refused(env: InProcess, path: str) -> None:
    response = await env.client.post(
        f"{V2}/{path}",
        content=b'{"secret": {"secret": "x"',
        headers={"content-type": "application/json"},
    )
    body = assert_v2_error(response, 400, "invalid_json")
    assert "JSON" in body["error"]


@pytest.mark.parametrize("payload", [b"[]", b'"text"', b"42", b'{"secret": "flat"}', b"{}"])
async def test_v2_json_of_the_wrong_shape_is_422(env: InProcess, payload: bytes) -> None:
    response = await env.client.post(
        f"{V2}/secret/conceal", content=payload, headers={"content-type": "application/json"}
    )
    assert_v2_error(response, 422, "invalid_input")


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
async def test_v2_refuses_bodies_that_are_not_json(env: InProcess, content_type: str) -> None:
    response = await env.client.post(
        f"{V2}/secret/conceal", content=b"secret=hello", headers={"content-type": content_type}
    )
    body = assert_v2_error(response, 415, "unsupported_media_type")
    assert "application/json" in body["error"]


async def test_v2_accepts_json_with_a_charset_and_vendor_json(env: InProcess) -> None:
    for content_type in ("application/json; charset=utf-8", "application/vnd.api+json"):
        response = await env.client.post(
            f"{V2}/secret/conceal",
            content=b'{"secret": {"secret": "x"}}',
            headers={"content-type": content_type},
        )
        assert response.status_code == 200, (content_type, response.text)


async def test_v1_malformed_json_is_a_legacy_400(env: InProcess) -> None:
    response = await env.client.post(
        f"{V1}/share", content=b"{nope", headers={"content-type": "application/json"}
    )
    body = assert_v1_error(response, intended=400)
    assert "JSON" in body["message"]


async def test_v1_json_that_is_not_an_object_is_a_legacy_400(env: InProcess) -> None:
    response = await env.client.post(
        f"{V1}/share", content=b'["secret"]', headers={"content-type": "application/json"}
    )
    assert_v1_error(response, intended=400)


@pytest.mark.parametrize("path", ["share", "secret/" + "0" * 62, "receipt/" + "0" * 62 + "/burn"])
async def test_v1_deeply_nested_json_is_a_legacy_400(env: InProcess, path: str) -> None:
    # Python's JSON parser gives up on deep nesting with a RecursionError, not a ValueError.
    nested = b"[" * 30_000 + b"]" * 30_000
    response = await env.client.post(
        f"{V1}/{path}", content=nested, headers={"content-type": "application/json"}
    )
    body = assert_v1_error(response, intended=400)
    assert "JSON" in body["message"]


def _json(value: str) -> bytes:
    """A JSON body written by hand, so it can carry escapes such as a lone surrogate."""
    return value.encode()


async def test_a_passphrase_with_a_lone_surrogate_is_not_a_500(env: InProcess) -> None:
    # JSON may escape half a UTF-16 pair ("\ud800"); Python reads it as a lone surrogate.
    headers = {"content-type": "application/json"}
    created = await env.client.post(
        f"{V2}/secret/conceal",
        content=_json('{"secret": {"secret": "odd", "passphrase": "ab\\ud800cd"}}'),
        headers=headers,
    )
    assert created.status_code == 200, created.text
    skey = created.json()["record"]["secret"]["key"]
    wrong = await env.client.post(
        f"{V2}/secret/{skey}/reveal",
        content=_json('{"continue": true, "passphrase": "ab\\udc00cd"}'),
        headers=headers,
    )
    assert_v2_error(wrong, 422, "wrong_passphrase")
    v1 = await env.client.post(
        f"{V1}/share",
        content=_json('{"secret": "odd", "passphrase": "\\udfff\\udfff\\udfff\\udfff"}'),
        headers=headers,
    )
    assert v1.status_code == 200, v1.text
    right = await env.client.post(
        f"{V2}/secret/{skey}/reveal",
        content=_json('{"continue": true, "passphrase": "ab\\ud800cd"}'),
        headers=headers,
    )
    assert right.json()["record"]["secret_value"] == "odd"


async def test_status_of_an_identifier_with_a_lone_surrogate_is_unknown(env: InProcess) -> None:
    skey, _ = await v2_keys(env.client)
    response = await env.client.post(
        f"{V2}/secret/status",
        content=_json('{"identifiers": ["ab\\ud800cd", "' + skey + '"]}'),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    records = response.json()["records"]
    assert [r["state"] for r in records] == ["unknown", "new"]
    assert records[0]["identifier"].startswith("ab")


async def test_v1_refuses_a_body_it_cannot_read(env: InProcess) -> None:
    response = await env.client.post(
        f"{V1}/share", content=b"secret=hi", headers={"content-type": "text/plain"}
    )
    assert_v1_error(response, intended=400)


async def test_v1_secret_of_the_wrong_type_is_a_legacy_400(env: InProcess) -> None:
    response = await env.client.post(f"{V1}/share", json={"secret": ["a", "list"]})
    assert_v1_error(response, intended=400)


# -- missing or unusable fields -------------------------------------------------------------------


@pytest.mark.parametrize("fields", [{}, {"secret": None}, {"secret": ""}, {"secret": " \n\t "}])
async def test_v2_missing_or_empty_secret_is_422(env: InProcess, fields: dict[str, Any]) -> None:
    response = await env.client.post(f"{V2}/secret/conceal", json={"secret": fields})
    body = assert_v2_error(response, 422, "invalid_input", field="secret")
    assert "anything to share" in body["error"]


@pytest.mark.parametrize("data", [{}, {"secret": ""}, {"secret": "   "}, {"ttl": "600"}])
async def test_v1_missing_or_empty_secret_is_a_legacy_400(
    env: InProcess, data: dict[str, str]
) -> None:
    response = await env.client.post(f"{V1}/share", data=data)
    body = assert_v1_error(response, intended=400)
    assert body == {"message": "You did not provide anything to share."}


@pytest.mark.parametrize("ttl", ["abc", "1h", "12.5", True, [3600], {"s": 1}, 12.5])
async def test_v2_ttl_that_is_not_a_number_is_422(env: InProcess, ttl: Any) -> None:
    response = await env.client.post(
        f"{V2}/secret/conceal", json={"secret": {"secret": "x", "ttl": ttl}}
    )
    assert_v2_error(response, 422, "invalid_input", field="ttl")


@pytest.mark.parametrize("ttl", ["abc", "1h", "12.5", "0x10"])
async def test_v1_ttl_that_is_not_a_number_is_a_legacy_400(env: InProcess, ttl: str) -> None:
    response = await env.client.post(f"{V1}/share", data={"secret": "x", "ttl": ttl})
    body = assert_v1_error(response, intended=400)
    assert "ttl" in body["message"]


@pytest.mark.parametrize("passphrase", ["abc", "x" * 129])
async def test_v2_passphrase_too_short_or_too_long_is_422(env: InProcess, passphrase: str) -> None:
    response = await env.client.post(
        f"{V2}/secret/conceal", json={"secret": {"secret": "x", "passphrase": passphrase}}
    )
    assert_v2_error(response, 422, "invalid_input", field="passphrase")


@pytest.mark.parametrize("passphrase", ["abc", "x" * 129])
async def test_v1_passphrase_too_short_or_too_long_is_a_legacy_400(
    env: InProcess, passphrase: str
) -> None:
    response = await env.client.post(f"{V1}/share", data={"secret": "x", "passphrase": passphrase})
    assert_v1_error(response, intended=400)


@pytest.mark.parametrize("passphrase", ["abcd", "x" * 128])
async def test_passphrase_length_bounds_are_inclusive(env: InProcess, passphrase: str) -> None:
    skey, _ = await v2_keys(env.client, "inside", passphrase=passphrase)
    response = await env.client.post(
        f"{V2}/secret/{skey}/reveal", json={"continue": True, "passphrase": passphrase}
    )
    assert response.json()["record"]["secret_value"] == "inside"


async def test_required_passphrase_is_enforced(app_factory: Any) -> None:
    async with app_factory(passphrase_required=True) as env:
        missing = await env.client.post(f"{V2}/secret/conceal", json={"secret": {"secret": "x"}})
        assert_v2_error(missing, 422, "invalid_input", field="passphrase")
        generated = await env.client.post(f"{V2}/secret/generate", json={"secret": {}})
        assert_v2_error(generated, 422, "invalid_input", field="passphrase")
        legacy = await env.client.post(f"{V1}/share", data={"secret": "x"})
        assert_v1_error(legacy, intended=400)

        skey, _ = await v2_keys(env.client, "ok", passphrase="long enough")
        response = await env.client.post(
            f"{V2}/secret/{skey}/reveal", json={"passphrase": "long enough"}
        )
        assert response.json()["record"]["secret_value"] == "ok"


# -- keys that are not ours -----------------------------------------------------------------------


@pytest.mark.parametrize("key", GARBLED_KEYS.values(), ids=GARBLED_KEYS.keys())
async def test_v2_unknown_or_garbled_secret_key_is_404(env: InProcess, key: str) -> None:
    for request in (
        env.client.get(f"{V2}/secret/{key}"),
        env.client.get(f"{V2}/secret/{key}", params={"continue": "true"}),
        env.client.post(f"{V2}/secret/{key}/reveal", json={"continue": True}),
    ):
        body = assert_v2_error(await request, 404, "not_found")
        assert key not in body["error"]


@pytest.mark.parametrize("key", GARBLED_KEYS.values(), ids=GARBLED_KEYS.keys())
async def test_v2_unknown_or_garbled_receipt_key_is_404(env: InProcess, key: str) -> None:
    for request in (
        env.client.get(f"{V2}/receipt/{key}"),
        env.client.post(f"{V2}/receipt/{key}/burn", json={"continue": True}),
        env.client.patch(f"{V2}/receipt/{key}", json={"memo": "x"}),
    ):
        assert_v2_error(await request, 404, "not_found")


@pytest.mark.parametrize("key", GARBLED_KEYS.values(), ids=GARBLED_KEYS.keys())
async def test_v1_unknown_or_garbled_secret_key_is_unknown_secret(env: InProcess, key: str) -> None:
    response = await env.client.post(f"{V1}/secret/{key}")
    assert_v1_unknown_secret(response, key)
    assert response.headers["x-ots-intended-status"] == "404"


async def test_a_receipt_key_does_not_open_the_secret_and_vice_versa(env: InProcess) -> None:
    skey, rkey = await v2_keys(env.client, "swap")
    assert_v2_error(await env.client.post(f"{V2}/secret/{rkey}/reveal"), 404, "not_found")
    assert_v2_error(await env.client.get(f"{V2}/receipt/{skey}"), 404, "not_found")
    assert_v2_error(
        await env.client.post(f"{V2}/receipt/{skey}/burn", json={"continue": True}),
        404,
        "not_found",
    )
    assert_v1_unknown_secret(await env.client.post(f"{V1}/secret/{rkey}"), rkey)
    # The swapped keys consumed nothing.
    revealed = await env.client.post(f"{V2}/secret/{skey}/reveal")
    assert revealed.json()["record"]["secret_value"] == "swap"


async def test_a_key_with_one_character_changed_is_unknown(env: InProcess) -> None:
    skey, _ = await v2_keys(env.client)
    last = "0" if skey[-1] != "0" else "1"
    assert_v2_error(await env.client.get(f"{V2}/secret/{skey[:-1]}{last}"), 404, "not_found")


async def test_unknown_expired_and_read_secrets_look_the_same(env: InProcess) -> None:
    read, _ = await v2_keys(env.client)
    await env.client.post(f"{V2}/secret/{read}/reveal")
    expired, _ = await v2_keys(env.client, ttl=60)
    burned, rkey = await v2_keys(env.client, ttl=600)
    await env.client.post(f"{V2}/receipt/{rkey}/burn", json={"continue": True})
    env.clock.advance(60)

    answers = set()
    for key in (read, expired, burned, "0" * 62):
        response = await env.client.post(f"{V2}/secret/{key}/reveal")
        answers.add((response.status_code, response.text))
    assert len(answers) == 1
    legacy = set()
    for key in (read, expired, burned):
        response = await env.client.post(f"{V1}/secret/{key}")
        legacy.add((response.status_code, response.json()["message"]))
    assert legacy == {(404, "Unknown secret")}


# -- addresses that are not routes ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v2/nope", "/api/v2/secret", "/api/v3/status", "/api/nope"])
async def test_unknown_api_routes_answer_json_404(env: InProcess, path: str) -> None:
    response = await env.client.get(path)
    assert_v2_error(response, 404, "not_found")


async def test_unknown_v1_route_answers_the_legacy_404(env: InProcess) -> None:
    response = await env.client.get(f"{V1}/nope")
    assert_v1_error(response, intended=404)


async def test_wrong_method_on_v2_is_405_json(env: InProcess) -> None:
    response = await env.client.get(f"{V2}/secret/conceal/reveal")
    assert_v2_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["allow"]


# -- bodies that are too large --------------------------------------------------------------------


async def test_v2_secret_over_the_size_limit_is_422(app_factory: Any) -> None:
    async with app_factory(secret_max_bytes=100) as env:
        at_limit = await env.client.post(
            f"{V2}/secret/conceal", json={"secret": {"secret": "x" * 100}}
        )
        assert at_limit.status_code == 200
        over = await env.client.post(f"{V2}/secret/conceal", json={"secret": {"secret": "x" * 101}})
        body = assert_v2_error(over, 422, "invalid_input", field="secret")
        assert "100" in body["error"]
        # The limit is in bytes, not characters: 51 two-byte characters are 102 bytes.
        wide = await env.client.post(f"{V2}/secret/conceal", json={"secret": {"secret": "é" * 51}})
        assert_v2_error(wide, 422, "invalid_input", field="secret")


async def test_v1_secret_over_the_size_limit_is_a_legacy_400(app_factory: Any) -> None:
    async with app_factory(secret_max_bytes=100) as env:
        await v1_share(env.client, "y" * 100)
        response = await env.client.post(f"{V1}/share", data={"secret": "y" * 101})
        body = assert_v1_error(response, intended=400)
        assert "100" in body["message"]


async def test_v2_declared_body_over_the_limit_is_413_before_reading(app_factory: Any) -> None:
    async with app_factory(request_max_bytes=2000) as env:
        pulled = 0

        async def endless() -> Any:
            nonlocal pulled
            while True:
                pulled += 1
                yield b"x" * 1000

        response = await env.client.post(
            f"{V2}/secret/conceal",
            content=endless(),
            headers={"content-type": "application/json", "content-length": str(10**9)},
        )
        body = assert_v2_error(response, 413, "too_large")
        assert "2,000" in body["error"]
        assert pulled <= 1


async def test_v2_streamed_body_over_the_limit_is_413(app_factory: Any) -> None:
    async with app_factory(request_max_bytes=2000) as env:

        async def chunks() -> Any:
            for _ in range(10):
                yield b"x" * 500

        response = await env.client.post(
            f"{V2}/secret/conceal", content=chunks(), headers={"content-type": "application/json"}
        )
        assert_v2_error(response, 413, "too_large")


async def test_v1_body_over_the_limit_is_413_in_legacy_shape(app_factory: Any) -> None:
    async with app_factory(request_max_bytes=2000) as env:
        response = await env.client.post(f"{V1}/share", data={"secret": "z" * 5000})
        assert response.status_code == 413
        assert response.headers["x-ots-intended-status"] == "413"
        assert "message" in response.json()


async def test_a_body_just_under_the_limit_is_read(app_factory: Any) -> None:
    async with app_factory(request_max_bytes=2000) as env:
        response = await env.client.post(
            f"{V2}/secret/conceal", json={"secret": {"secret": "k" * 1900}}
        )
        assert response.status_code == 200


async def test_default_request_limit_leaves_room_for_a_secret_at_its_limit(env: InProcess) -> None:
    # Form encoding can triple the size of a secret; the default request limit allows for it.
    text = "%" * env.settings.secret_max_bytes
    response = await env.client.post(f"{V1}/share", data={"secret": text})
    assert response.status_code == 200
    revealed = await env.client.post(f"{V1}/secret/{response.json()['secret_key']}")
    assert revealed.json()["value"] == text


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
async def test_a_body_on_a_method_without_one_is_limited_too(app_factory: Any, method: str) -> None:
    # v2 reads the body of GET requests to refuse non-JSON ones; it must not buffer any size.
    async with app_factory(request_max_bytes=2000) as env:
        skey, _ = await v2_keys(env.client, "still here")
        pulled = 0

        async def endless() -> Any:
            nonlocal pulled
            while pulled < 10_000:
                pulled += 1
                yield b"x" * 1000

        response = await env.client.request(
            method,
            f"{V2}/secret/{skey}/status",
            content=endless(),
            headers={"content-type": "text/plain"},
        )
        assert response.status_code == 413
        assert pulled <= 3
        status = await env.client.get(f"{V2}/secret/{skey}/status")
        assert status.json()["record"]["state"] == "new"


async def test_a_v2_body_that_is_not_utf8_is_invalid_json(env: InProcess) -> None:
    answer = await env.client.post(
        "/api/v2/secret/conceal",
        content=b'{"secret": {"secret": "\xff\xfe"}}',
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.json()["error_type"] == "invalid_json"
