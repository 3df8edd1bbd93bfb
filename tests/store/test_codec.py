"""The static part of a receipt: binary now, JSON before; both read back to the same receipt."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onetime.core.records import ReceiptState, SecretKind, StoredReceipt
from onetime.store.codec import (
    StaticFormatError,
    pack_receipt_static,
    unpack_receipt,
)
from onetime.store.redis_records import pack_receipt
from tests.store.earlier_layouts import json_static

NOW = 1_796_653_335
# What seal_for_receipt makes of a 40-byte share key: header 6, nonce 12, key 40, tag 16.
SEALED_SHARE_KEY = 74


def receipt(**changes: object) -> StoredReceipt:
    fields: dict[str, object] = dict(
        rid=os.urandom(32), sid=os.urandom(32), owner_id=None, kind=SecretKind.CONCEAL,
        ttl=3600, created=NOW, secret_expires_at=NOW + 3600, expires_at=NOW + 7200,
        has_passphrase=False, share_domain="", recipients=(),
        share_key=os.urandom(SEALED_SHARE_KEY), updated=NOW,
    )  # fmt: skip
    fields.update(changes)
    return StoredReceipt(**fields)  # type: ignore[arg-type]


def read_back(original: StoredReceipt, static: bytes) -> StoredReceipt:
    return unpack_receipt(
        original.rid, original.sid, original.expires_at, static, original.state.value,
        original.updated, original.previewed, original.revealed, original.burned, original.memo,
    )  # fmt: skip


texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=80)


@settings(max_examples=200, deadline=None)
@given(
    owner=st.none() | texts,
    kind=st.sampled_from(SecretKind),
    ttl=st.integers(0, 2**32 - 1),
    created=st.integers(0, 2**40 - 1),
    lifetime=st.integers(-(2**31), 2**31 - 1),
    passphrase=st.booleans(),
    domain=texts,
    recipients=st.lists(texts, max_size=20).map(tuple),
    share_key=st.binary(max_size=200),
)
def test_every_receipt_reads_back_unchanged(
    owner: str | None,
    kind: SecretKind,
    ttl: int,
    created: int,
    lifetime: int,
    passphrase: bool,
    domain: str,
    recipients: tuple[str, ...],
    share_key: bytes,
) -> None:
    original = receipt(
        owner_id=owner, kind=kind, ttl=ttl, created=created, secret_expires_at=created + lifetime,
        has_passphrase=passphrase, share_domain=domain, recipients=recipients, share_key=share_key,
        state=ReceiptState.REVEALED, revealed=created + 5, memo=b"sealed memo",
    )  # fmt: skip
    assert read_back(original, pack_receipt_static(original)) == original


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"owner_id": "3f2a9c", "share_domain": "secrets.example.org", "has_passphrase": True},
        {"recipients": ("al***@e***.com", "bo***@e***.org"), "kind": SecretKind.GENERATE},
    ],
)
def test_a_receipt_written_as_json_by_an_earlier_version_is_still_read(
    changes: dict[str, object],
) -> None:
    original = receipt(**changes)
    assert read_back(original, json_static(original)) == original


def test_an_anonymous_receipt_fits_redis_s_112_byte_allocation() -> None:
    # Receipts made now keep no share key (it is made from the receipt key) and name their
    # secret by a 16-byte id (compact keys): 98 bytes of value plus Redis's 4 of string header;
    # 11 more bytes and jemalloc hands out 128. The memory table in docs/performance.md counts
    # on it. With the 32-byte ids of older keys: 114 bytes, a 128-byte allocation.
    original = receipt(share_key=b"", rid=os.urandom(16), sid=os.urandom(16))
    assert len(pack_receipt_static(original)) == 16
    assert len(pack_receipt(original)) == 98
    assert read_back(original, pack_receipt_static(original)) == original
    assert len(pack_receipt(receipt(share_key=b""))) == 114
    # Receipts made before kept the share key sealed (188 bytes, a 192-byte allocation).
    assert len(pack_receipt(receipt())) == 188
    assert len(json_static(receipt())) - len(pack_receipt_static(receipt())) > 100


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ttl": 2**32}, "times do not fit"),
        ({"ttl": -1}, "times do not fit"),
        ({"created": 2**40}, "times do not fit"),
        ({"secret_expires_at": NOW + 2**31}, "times do not fit"),
        ({"owner_id": "x" * 65_536}, "65536 bytes does not fit"),
        ({"recipients": ("a",) * 256}, "256 recipients do not fit"),
    ],
)
def test_a_receipt_that_does_not_fit_the_layout_is_refused_when_written(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        pack_receipt_static(receipt(**changes))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda static: static[:10], "unknown format"),  # shorter than the fixed head
        (lambda static: b"\x02" + static[1:], "unknown format"),  # a later format
        (lambda static: static[:1] + b"\x07" + static[2:], "unknown kind"),
        # The owner flag set, but no owner follows where it should: its length runs past the end.
        (lambda static: static[:2] + b"\x02" + static[3:16] + b"\xff\xff", "truncated"),
    ],
)
def test_a_damaged_static_part_is_refused_by_name(damage: object, message: str) -> None:
    static = pack_receipt_static(receipt())
    damaged = damage(static)  # type: ignore[operator]
    with pytest.raises(StaticFormatError, match=message):
        read_back(receipt(), damaged)


@pytest.mark.parametrize(
    ("static", "cause"),
    [
        # The owner flag, then an owner of two bytes that are not UTF-8.
        (b"\x01\x00\x02" + bytes(13) + b"\x00\x02\xff\xfe", "UnicodeDecodeError"),
        (b'{"o": null, "k": "conceal"', "JSONDecodeError"),  # an earlier version's, cut short
        (b'{"o": null}', "KeyError"),
        (b"[1, 2]", "unknown format"),  # JSON, but not an object: taken for a later format
    ],
)
def test_any_unreadable_static_part_is_one_error_that_names_its_cause(
    static: bytes, cause: str
) -> None:
    with pytest.raises(StaticFormatError, match=cause):
        read_back(receipt(), static)


def test_an_earlier_versions_share_key_that_is_not_base64_is_refused() -> None:
    damaged = json_static(receipt()).replace(b'"s":"', b'"s":"@@')
    with pytest.raises(StaticFormatError, match="cannot be read"):
        read_back(receipt(), damaged)
