"""A receipt's life: new → previewed → revealed | burned | expired | orphaned, then gone at twice the ttl."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import replace
from typing import Any

import pytest

from onetime.core.crypto import seal_for_receipt
from onetime.core.identifiers import TIME_BYTES, KeyFacts, KeyFormat, KeyKind
from onetime.core.records import StoredReceipt
from onetime.store.codec import pack_receipt_static, unpack_receipt
from tests.api.flows import (
    V1,
    V2,
    assert_v1_error,
    assert_v2_error,
    delete_all_secret_rows,
    v1_receipt,
    v2_keys,
    v2_receipt,
)
from tests.conftest import InProcess
from tests.store.earlier_layouts import json_static, key_before_timed_keys, whole_hash_id

TTL = 600
FLAGS = ("is_previewed", "is_revealed", "is_burned", "is_expired", "is_orphaned", "is_destroyed")


def raised_flags(receipt: dict[str, Any]) -> set[str]:
    return {flag for flag in FLAGS if receipt[flag]}


async def reveal(env: InProcess, skey: str) -> None:
    response = await env.client.post(f"{V2}/secret/{skey}/reveal", json={"continue": True})
    assert response.status_code == 200


async def test_new_receipt(env: InProcess) -> None:
    skey, rkey = await v2_keys(env.client, ttl=TTL)
    receipt = await v2_receipt(env.client, rkey)
    assert receipt["state"] == "new"
    assert raised_flags(receipt) == set()
    assert receipt["secret_identifier"] == skey
    assert (await v1_receipt(env.client, rkey))["state"] == "new"


@pytest.mark.parametrize("how", ["share-page", "share-page-head", "v2-get", "v2-guest-get"])
async def test_opening_the_share_link_marks_the_receipt_previewed(env: InProcess, how: str) -> None:
    skey, rkey = await v2_keys(env.client, "not yet", ttl=TTL)
    env.clock.advance(20)
    method, path = {
        "share-page": ("GET", f"/secret/{skey}"),
        "share-page-head": ("HEAD", f"/secret/{skey}"),
        "v2-get": ("GET", f"{V2}/secret/{skey}"),
        "v2-guest-get": ("GET", f"{V2}/guest/secret/{skey}"),
    }[how]
    response = await env.client.request(method, path)
    assert response.status_code == 200
    assert "not yet" not in response.text

    receipt = await v2_receipt(env.client, rkey)
    assert receipt["state"] == "previewed"
    assert raised_flags(receipt) == {"is_previewed"}
    assert receipt["is_viewed"] is True
    assert receipt["previewed"] == receipt["updated"] == env.clock.now()
    assert receipt["secret_identifier"] == skey
    legacy = await v1_receipt(env.client, rkey)
    assert legacy["state"] == "viewed"
    assert legacy["secret_key"] == skey


async def test_a_second_preview_keeps_the_first_time(env: InProcess) -> None:
    skey, rkey = await v2_keys(env.client, ttl=TTL)
    await env.client.get(f"{V2}/secret/{skey}")
    first = env.clock.now()
    env.clock.advance(30)
    await env.client.get(f"/secret/{skey}")
    assert (await v2_receipt(env.client, rkey))["previewed"] == first


async def test_previewed_then_revealed(env: InProcess) -> None:
    skey, rkey = await v2_keys(env.client, ttl=TTL)
    await env.client.get(f"/secret/{skey}")
    previewed_at = env.clock.now()
    env.clock.advance(40)
    await reveal(env, skey)

    receipt = await v2_receipt(env.client, rkey)
    assert receipt["state"] == "revealed"
    assert raised_flags(receipt) == {"is_previewed", "is_revealed", "is_destroyed"}
    assert receipt["is_received"] is True
    assert receipt["previewed"] == previewed_at
    assert receipt["revealed"] == receipt["received"] == env.clock.now()
    assert receipt["secret_identifier"] is None
    assert receipt["share_path"] is None
    assert receipt["share_url"] is None
    assert receipt["secret_state"] is None
    assert receipt["secret_ttl"] == receipt["expiration_in_seconds"] == 0
    assert receipt["secret_shortid"] == skey[:8]
    legacy = await v1_receipt(env.client, rkey)
    assert legacy["state"] == "received"
    assert legacy["received"] == env.clock.now()


async def test_revealed_without_a_preview(env: InProcess) -> None:
    skey, rkey = await v2_keys(env.client, ttl=TTL)
    await reveal(env, skey)
    receipt = await v2_receipt(env.client, rkey)
    assert receipt["state"] == "revealed"
    assert raised_flags(receipt) == {"is_revealed", "is_destroyed"}
    assert receipt["previewed"] is None


async def test_burned(env: InProcess) -> None:
    skey, rkey = await v2_keys(env.client, ttl=TTL)
    await env.client.get(f"/secret/{skey}")
    env.clock.advance(15)
    response = await env.client.post(f"{V2}/receipt/{rkey}/burn", json={"continue": True})
    assert response.status_code == 200

    receipt = await v2_receipt(env.client, rkey)
    assert receipt["state"] == "burned"
    assert raised_flags(receipt) == {"is_previewed", "is_burned", "is_destroyed"}
    assert receipt["burned"] == env.clock.now()
    assert receipt["revealed"] is None
    assert receipt["secret_identifier"] is None
    assert (await v1_receipt(env.client, rkey))["state"] == "burned"
    assert (await env.client.get(f"{V2}/secret/{skey}/status")).json()["record"] == {
        "state": "unknown"
    }


async def test_burning_a_revealed_secret_keeps_it_revealed(env: InProcess) -> None:
    skey, rkey = await v2_keys(env.client, ttl=TTL)
    await reveal(env, skey)
    response = await env.client.post(f"{V2}/receipt/{rkey}/burn", json={"continue": True})
    assert response.status_code == 200
    assert response.json()["record"]["state"] == "revealed"
    assert response.json()["record"]["burned"] is None


async def test_expired(env: InProcess) -> None:
    skey, rkey = await v2_keys(env.client, "too late", ttl=TTL)
    env.clock.advance(TTL - 1)
    assert (await v2_receipt(env.client, rkey))["state"] == "new"
    env.clock.advance(1)

    receipt = await v2_receipt(env.client, rkey)
    assert receipt["state"] == "expired"
    assert raised_flags(receipt) == {"is_expired", "is_destroyed"}
    assert receipt["secret_identifier"] is None
    assert receipt["secret_ttl"] == 0
    assert receipt["metadata_ttl"] == TTL
    legacy = await v1_receipt(env.client, rkey)
    assert legacy["state"] == "expired"
    assert "secret_key" not in legacy

    assert_v2_error(await env.client.post(f"{V2}/secret/{skey}/reveal"), 404, "not_found")
    assert_v2_error(await env.client.get(f"{V2}/secret/{skey}"), 404, "not_found")
    legacy_reveal = await env.client.post(f"{V1}/secret/{skey}")
    assert legacy_reveal.json() == {"message": "Unknown secret", "secret_key": skey}


async def test_an_expired_previewed_secret_is_expired(env: InProcess) -> None:
    skey, rkey = await v2_keys(env.client, ttl=TTL)
    await env.client.get(f"/secret/{skey}")
    env.clock.advance(TTL)
    receipt = await v2_receipt(env.client, rkey)
    assert receipt["state"] == "expired"
    assert receipt["is_previewed"] is True


async def test_burning_an_expired_secret_changes_nothing(env: InProcess) -> None:
    _, rkey = await v2_keys(env.client, ttl=TTL)
    env.clock.advance(TTL)
    response = await env.client.post(f"{V2}/receipt/{rkey}/burn", json={"continue": True})
    assert response.status_code == 200
    assert response.json()["record"]["state"] == "expired"


async def test_orphaned_when_the_secret_row_vanished(env: InProcess) -> None:
    skey, rkey = await v2_keys(env.client, ttl=TTL)
    env.clock.advance(10)
    assert delete_all_secret_rows(env) == 1

    receipt = await v2_receipt(env.client, rkey)
    assert receipt["state"] == "orphaned"
    assert raised_flags(receipt) == {"is_orphaned", "is_destroyed"}
    assert receipt["secret_identifier"] is None
    assert (await v1_receipt(env.client, rkey))["state"] == "orphaned"
    assert_v2_error(await env.client.post(f"{V2}/secret/{skey}/reveal"), 404, "not_found")


async def test_a_revealed_receipt_does_not_turn_orphaned(env: InProcess) -> None:
    skey, rkey = await v2_keys(env.client, ttl=TTL)
    await reveal(env, skey)
    delete_all_secret_rows(env)
    assert (await v2_receipt(env.client, rkey))["state"] == "revealed"


@pytest.mark.parametrize("ending", ["untouched", "revealed", "burned"])
async def test_the_receipt_itself_is_gone_after_twice_the_ttl(env: InProcess, ending: str) -> None:
    skey, rkey = await v2_keys(env.client, ttl=TTL)
    if ending == "revealed":
        await reveal(env, skey)
    elif ending == "burned":
        await env.client.post(f"{V2}/receipt/{rkey}/burn", json={"continue": True})
    env.clock.advance(2 * TTL - 1)
    receipt = await v2_receipt(env.client, rkey)
    assert receipt["metadata_ttl"] == receipt["receipt_ttl"] == 1
    env.clock.advance(1)

    assert_v2_error(await env.client.get(f"{V2}/receipt/{rkey}"), 404, "not_found")
    assert_v2_error(await env.client.get(f"{V2}/private/{rkey}"), 404, "not_found")
    assert_v1_error(await env.client.get(f"{V1}/receipt/{rkey}"), intended=404)
    burn = await env.client.post(f"{V2}/receipt/{rkey}/burn", json={"continue": True})
    assert_v2_error(burn, 404, "not_found")
    memo = await env.client.patch(f"{V2}/receipt/{rkey}", json={"memo": "late"})
    assert_v2_error(memo, 404, "not_found")


async def test_the_receipt_survives_a_sweep_until_twice_the_ttl(env: InProcess) -> None:
    _, rkey = await v2_keys(env.client, ttl=TTL)
    env.clock.advance(TTL + 5)
    context = env.app.state.context
    await context.store.sweep(env.clock.now())
    assert (await v2_receipt(env.client, rkey))["state"] == "expired"
    env.clock.advance(TTL)
    await context.store.sweep(env.clock.now())
    assert_v2_error(await env.client.get(f"{V2}/receipt/{rkey}"), 404, "not_found")


def rewrite_receipt_static(
    env: InProcess, rkey: str, rewrite: Callable[[StoredReceipt], bytes]
) -> None:
    """Replace a receipt's static part in the SQLite file, behind the service's back."""
    receipt_key = env.app.state.context.service.codec.parse(KeyKind.RECEIPT, rkey)
    assert receipt_key is not None
    rid = receipt_key.storage_id
    with closing(sqlite3.connect(env.settings.data_dir / "onetime.sqlite3")) as db, db:
        (static,) = db.execute("SELECT static FROM receipts WHERE rid = ?", (rid,)).fetchone()
        stored = unpack_receipt(rid, b"", 0, static, "new", 0, *[None] * 4)
        db.execute("UPDATE receipts SET static = ? WHERE rid = ?", (rewrite(stored), rid))


async def test_a_receipt_keeps_no_copy_of_its_share_key(env: InProcess) -> None:
    # The share key is made from the receipt key (KeyCodec.share_for), so the store holds
    # nothing that opens to it, and the receipt still shows it.
    skey, rkey = await v2_keys(env.client, "derived", ttl=TTL)
    seen: list[StoredReceipt] = []

    def keep(stored: StoredReceipt) -> bytes:
        seen.append(stored)
        return pack_receipt_static(stored)

    rewrite_receipt_static(env, rkey, keep)
    assert seen[0].share_key == b""
    assert (await v2_receipt(env.client, rkey))["secret_identifier"] == skey


async def test_a_receipt_shows_no_share_link_that_would_not_lead_to_its_secret(
    env: InProcess,
) -> None:
    # The link made from the receipt key is shown only if it names the receipt's secret. Point
    # the receipt at another secret, alive, behind the service's back: its state reads from
    # that secret, but the link made from the key would open the first one, so none is shown.
    skey, rkey = await v2_keys(env.client, "mismatch", ttl=TTL)
    other_skey, _ = await v2_keys(env.client, "the other one", ttl=TTL)
    codec = env.app.state.context.service.codec
    receipt_key = codec.parse(KeyKind.RECEIPT, rkey)
    other = codec.parse(KeyKind.SECRET, other_skey)
    assert receipt_key is not None
    assert other is not None
    with closing(sqlite3.connect(env.settings.data_dir / "onetime.sqlite3")) as db, db:
        db.execute(
            "UPDATE receipts SET sid = ? WHERE rid = ?", (other.storage_id, receipt_key.storage_id)
        )
    receipt = await v2_receipt(env.client, rkey)
    assert receipt["state"] == "new"
    assert receipt["secret_identifier"] is None
    assert receipt["secret_shortid"] == other.storage_id[TIME_BYTES:].hex()[:8]
    assert skey[:8] not in (receipt["secret_shortid"], receipt["secret_identifier"])


async def test_a_receipt_with_an_independent_share_key_reads_as_before(
    env: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Between keys that carry their time and share keys made from receipt keys, a create drew
    # two independent keys and sealed the share key's 40 bytes into the receipt. Make one so:
    # the key made from the receipt key is not the share key here, so only the sealed copy
    # gives the right link, and opens the secret for a burn with its passphrase.
    context = env.app.state.context
    codec = context.service.codec
    keys = (codec.new(KeyKind.RECEIPT), codec.new(KeyKind.SECRET))
    monkeypatch.setattr(codec, "new_pair", lambda facts: keys)
    skey, rkey = await v2_keys(env.client, "independent", ttl=TTL, passphrase="pass phrase")
    monkeypatch.undo()
    receipt_key, share_key = keys
    assert skey == share_key.text
    derived = codec.share_for(receipt_key)
    assert derived is not None
    assert derived.text != skey
    sealed = seal_for_receipt(
        context.keyring, receipt_key.raw, receipt_key.storage_id, share_key.packed
    )
    rewrite_receipt_static(
        env, rkey, lambda stored: pack_receipt_static(replace(stored, share_key=sealed))
    )

    assert (await v2_receipt(env.client, rkey))["secret_identifier"] == skey
    burned = await env.client.post(
        f"{V2}/receipt/{rkey}/burn", json={"continue": True, "passphrase": "pass phrase"}
    )
    assert burned.status_code == 200
    receipt = await v2_receipt(env.client, rkey)
    assert receipt["state"] == "burned"
    assert receipt["secret_shortid"] == skey[:8]


async def test_a_receipt_key_made_now_carries_its_secret_s_facts(env: InProcess) -> None:
    skey, rkey = await v2_keys(env.client, "facts", ttl=TTL, passphrase="pass phrase")
    codec = env.app.state.context.service.codec
    receipt_key = codec.parse(KeyKind.RECEIPT, rkey)
    share_key = codec.parse(KeyKind.SECRET, skey)
    assert receipt_key is not None
    assert share_key is not None
    assert receipt_key.format is KeyFormat.COMPACT
    assert receipt_key.facts == KeyFacts(lifetime=TTL, generated=False, has_passphrase=True)
    assert len(receipt_key.storage_id) == len(share_key.storage_id) == 16


async def test_a_timed_pair_from_before_compact_keys_still_works(
    env: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Between derived share keys and compact keys, a pair was a timed receipt key and the share
    # key made from it, with 32-byte ids; such a receipt still gives its link and state.
    codec = env.app.state.context.service.codec
    pair = codec.timed_pair()
    monkeypatch.setattr(codec, "new_pair", lambda facts: pair)
    skey, rkey = await v2_keys(env.client, "timed pair", ttl=TTL)
    monkeypatch.undo()
    assert (skey, rkey) == (pair[1].text, pair[0].text)
    assert (await v2_receipt(env.client, rkey))["secret_identifier"] == skey
    await reveal(env, skey)
    receipt = await v2_receipt(env.client, rkey)
    assert receipt["state"] == "revealed"
    assert receipt["secret_shortid"] == skey[:8]


async def test_a_receipt_from_an_earlier_version_reads_as_before(env: InProcess) -> None:
    # Earlier versions kept the static part as JSON and sealed the share key's text, not its
    # 40 bytes. Rewrite a fresh receipt that way behind the service's back.
    skey, rkey = await v2_keys(env.client, "old layout", ttl=TTL, passphrase="pass phrase")
    context = env.app.state.context
    receipt_key = context.service.codec.parse(KeyKind.RECEIPT, rkey)
    assert receipt_key is not None
    sealed_text = seal_for_receipt(
        context.keyring, receipt_key.raw, receipt_key.storage_id, skey.encode()
    )
    rewrite_receipt_static(
        env, rkey, lambda stored: json_static(replace(stored, share_key=sealed_text))
    )

    receipt = await v2_receipt(env.client, rkey)
    assert receipt["state"] == "new"
    assert receipt["secret_identifier"] == skey
    assert receipt["has_passphrase"] is True
    assert receipt["secret_ttl"] == TTL
    # Burning with the passphrase opens the share key from the old receipt to check it.
    burned = await env.client.post(
        f"{V2}/receipt/{rkey}/burn", json={"continue": True, "passphrase": "pass phrase"}
    )
    assert burned.status_code == 200
    assert (await v2_receipt(env.client, rkey))["state"] == "burned"
    assert (await v2_receipt(env.client, rkey))["secret_shortid"] == skey[:8]


async def test_links_made_before_keys_carried_their_time_still_work(
    env: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Make the keys as earlier versions did (32 random bytes each, an HMAC check over them), so
    # the records go in under whole-hash ids, and seal the share key into the receipt as they
    # did; then use both links with today's code.
    context = env.app.state.context
    check_key = context.keyring.current.check
    old_keys = (
        key_before_timed_keys(check_key, KeyKind.RECEIPT),
        key_before_timed_keys(check_key, KeyKind.SECRET),
    )
    monkeypatch.setattr(context.service.codec, "new_pair", lambda facts: old_keys)
    skey, rkey = await v2_keys(env.client, "made the old way", ttl=TTL)
    monkeypatch.undo()
    receipt_key, share_key = old_keys
    sealed = seal_for_receipt(
        context.keyring, receipt_key.raw, receipt_key.storage_id, share_key.packed
    )
    rewrite_receipt_static(
        env, rkey, lambda stored: pack_receipt_static(replace(stored, share_key=sealed))
    )

    secret_key = context.service.codec.parse(KeyKind.SECRET, skey)
    assert secret_key is not None
    assert secret_key.made == b""
    whole_hash = whole_hash_id(KeyKind.SECRET, secret_key.raw)
    with closing(sqlite3.connect(env.settings.data_dir / "onetime.sqlite3")) as db:
        found = db.execute("SELECT count(*) FROM secrets WHERE sid = ?", (whole_hash,)).fetchone()
    assert found == (1,)
    receipt = await v2_receipt(env.client, rkey)
    assert receipt["state"] == "new"
    assert receipt["secret_identifier"] == skey  # opened from the sealed copy
    revealed = await env.client.post(f"{V2}/secret/{skey}/reveal", json={"continue": True})
    assert revealed.status_code == 200
    assert revealed.json()["record"]["secret_value"] == "made the old way"
    assert (await v2_receipt(env.client, rkey))["state"] == "revealed"


async def test_a_receipt_whose_share_key_cannot_be_opened_shows_no_time_as_short_id(
    env: InProcess,
) -> None:
    # The short id then comes from the stored secret id, whose first bytes are the time its
    # key was made: it must come from the hash that follows, or every secret made in the same
    # second would show the same short id (and it would show when).
    skey, rkey = await v2_keys(env.client, "share key lost", ttl=TTL)
    secret_key = env.app.state.context.service.codec.parse(KeyKind.SECRET, skey)
    assert secret_key is not None
    rewrite_receipt_static(
        env,
        rkey,
        # An earlier version's sealed copy of the share key that no longer opens.
        lambda stored: pack_receipt_static(replace(stored, share_key=os.urandom(74))),
    )

    receipt = await v2_receipt(env.client, rkey)
    sid = secret_key.storage_id
    assert receipt["secret_shortid"] == sid[TIME_BYTES:].hex()[:8]
    assert receipt["secret_shortid"] != sid.hex()[:8]


async def test_a_damaged_receipt_is_a_plain_500_not_a_traceback(env: InProcess) -> None:
    skey, rkey = await v2_keys(env.client, "soon damaged", ttl=TTL)
    receipt_key = env.app.state.context.service.codec.parse(KeyKind.RECEIPT, rkey)
    path = env.settings.data_dir / "onetime.sqlite3"
    with closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "UPDATE receipts SET static = ? WHERE rid = ?", (b'{"o":', receipt_key.storage_id)
        )
    answer = await env.client.get(f"{V2}/receipt/{rkey}")
    assert answer.status_code == 500
    assert answer.json()["error_type"] == "server_error"
    assert "StaticFormatError" not in answer.text  # named in the log, not to the caller
    # API v1 answers every error in Onetime Secret's legacy shape: a 404 and a message.
    legacy = await env.client.get(f"{V1}/receipt/{rkey}")
    assert legacy.status_code == 404
    assert legacy.json() == {"message": "Something went wrong on our side. Nothing was revealed."}
    # The secret itself is untouched: its link still opens it.
    revealed = await env.client.post(f"{V2}/secret/{skey}/reveal", json={"continue": True})
    assert revealed.status_code == 200
