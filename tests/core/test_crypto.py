"""The envelope: round trips, passphrases, tampering, rotation, receipt sealing."""

import struct

import pytest

from onetime.core import crypto
from onetime.core.errors import WrongPassphrase

FAST = crypto.Argon2Params(time_cost=1, memory_kib=1024)
LINK, RECORD = b"k" * 32, b"r" * 32


@pytest.fixture
def keyring() -> crypto.Keyring:
    return crypto.Keyring(b"s" * 40)


def test_a_secret_round_trips_without_a_passphrase(keyring: crypto.Keyring) -> None:
    envelope = crypto.seal_secret(keyring, LINK, RECORD, b"hello", None, FAST)
    assert b"hello" not in envelope
    assert crypto.open_secret(keyring, LINK, RECORD, envelope, None) == b"hello"


def test_a_passphrase_is_needed_and_checked(keyring: crypto.Keyring) -> None:
    envelope = crypto.seal_secret(keyring, LINK, RECORD, b"hello", "open sesame", FAST)
    with pytest.raises(WrongPassphrase):
        crypto.open_secret(keyring, LINK, RECORD, envelope, None)
    with pytest.raises(WrongPassphrase):
        crypto.open_secret(keyring, LINK, RECORD, envelope, "open sesame!")
    assert crypto.open_secret(keyring, LINK, RECORD, envelope, "open sesame") == b"hello"


def test_the_link_key_and_record_id_are_both_needed(keyring: crypto.Keyring) -> None:
    envelope = crypto.seal_secret(keyring, LINK, RECORD, b"hello", None, FAST)
    with pytest.raises(crypto.EnvelopeError):
        crypto.open_secret(keyring, b"x" * 32, RECORD, envelope, None)
    with pytest.raises(crypto.EnvelopeError):
        crypto.open_secret(keyring, LINK, b"x" * 32, envelope, None)


def test_the_server_secret_is_needed_too() -> None:
    envelope = crypto.seal_secret(crypto.Keyring(b"a" * 40), LINK, RECORD, b"hello", None, FAST)
    with pytest.raises(crypto.EnvelopeError):
        crypto.open_secret(crypto.Keyring(b"b" * 40), LINK, RECORD, envelope, None)


@pytest.mark.parametrize("passphrase", [None, "open sesame"])
def test_any_flipped_byte_fails(keyring: crypto.Keyring, passphrase: str | None) -> None:
    envelope = crypto.seal_secret(keyring, LINK, RECORD, b"hello world", passphrase, FAST)
    for index in range(len(envelope)):
        damaged = bytearray(envelope)
        damaged[index] ^= 0x01
        with pytest.raises((crypto.EnvelopeError, WrongPassphrase)):
            crypto.open_secret(keyring, LINK, RECORD, bytes(damaged), passphrase)


def test_old_envelopes_open_after_rotation() -> None:
    old = crypto.Keyring(b"old" * 14)
    envelope = crypto.seal_secret(old, LINK, RECORD, b"kept", "pass phrase", FAST)
    rotated = crypto.Keyring(b"new" * 14, previous=[b"old" * 14])
    assert crypto.open_secret(rotated, LINK, RECORD, envelope, "pass phrase") == b"kept"
    with pytest.raises(crypto.EnvelopeError):
        crypto.open_secret(crypto.Keyring(b"new" * 14), LINK, RECORD, envelope, "pass phrase")


def test_receipt_sealing_needs_the_receipt_key(keyring: crypto.Keyring) -> None:
    sealed = crypto.seal_for_receipt(keyring, LINK, RECORD, b"share-key")
    assert b"share-key" not in sealed
    assert crypto.open_for_receipt(keyring, LINK, RECORD, sealed) == b"share-key"
    with pytest.raises(crypto.EnvelopeError):
        crypto.open_for_receipt(keyring, b"y" * 32, RECORD, sealed)


def test_truncated_and_unknown_envelopes_are_rejected(keyring: crypto.Keyring) -> None:
    envelope = crypto.seal_secret(keyring, LINK, RECORD, b"hello", None, FAST)
    for broken in (b"", envelope[:10], b"\x09" + envelope[1:]):
        with pytest.raises(crypto.EnvelopeError):
            crypto.open_secret(keyring, LINK, RECORD, broken, None)


def test_client_tags_are_keyed_and_stable(keyring: crypto.Keyring) -> None:
    tag = keyring.client_tag("192.0.2.1")
    assert tag == keyring.client_tag("192.0.2.1")
    assert tag != keyring.client_tag("192.0.2.2")
    assert tag != crypto.Keyring(b"t" * 40).client_tag("192.0.2.1")
    assert "192" not in tag
    assert len(tag) == 24
    assert set(tag) <= set("0123456789abcdef")


@pytest.mark.parametrize(
    ("time_cost", "memory_kib", "parallelism"),
    [(1, 8, 8), (1, 63, 8), (0, 1024, 1), (17, 1024, 1), (1, 2**21, 1), (1, 1024, 9)],
    ids=[
        "memory-below-8-per-lane",
        "memory-just-below",
        "no-pass",
        "too-many-passes",
        "2-gib",
        "9-lanes",
    ],
)
def test_envelopes_with_unusable_argon2_costs_are_rejected_before_hashing(
    keyring: crypto.Keyring, time_cost: int, memory_kib: int, parallelism: int
) -> None:
    # Argon2 needs 8 KiB per lane; anything it would refuse, or that would cost absurd memory
    # or time, is a damaged envelope, not a 500 (or minutes of hashing) at reveal time.
    envelope = bytearray(crypto.seal_secret(keyring, LINK, RECORD, b"hello", "open sesame", FAST))
    envelope[6:12] = struct.pack(">BIB", time_cost, memory_kib, parallelism)
    with pytest.raises(crypto.EnvelopeError):
        crypto.open_secret(keyring, LINK, RECORD, bytes(envelope), "open sesame")
