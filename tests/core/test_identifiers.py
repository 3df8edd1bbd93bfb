"""Link keys: shape, checks, kinds, rotation, storage ids."""

import hashlib
import hmac
import os
import secrets

import pytest

from onetime.core.identifiers import (
    KEY_LENGTH,
    SHORT_ID_BYTES,
    TIME_BYTES,
    KeyCodec,
    KeyFacts,
    KeyFormat,
    KeyKind,
    LinkKey,
    decode_base36,
    encode_base36,
    made_at,
    storage_id,
    text_from_packed,
)
from tests.store.earlier_layouts import key_before_timed_keys, whole_hash_id

CURRENT, PREVIOUS = b"c" * 32, b"p" * 32
FACTS = KeyFacts(lifetime=86_400, generated=True, has_passphrase=False)


def test_new_keys_are_62_lowercase_base36_characters() -> None:
    codec = KeyCodec([CURRENT])
    keys = {codec.new(KeyKind.SECRET).text for _ in range(200)}
    assert len(keys) == 200
    for text in keys:
        assert len(text) == KEY_LENGTH
        assert set(text) <= set("0123456789abcdefghijklmnopqrstuvwxyz")


def test_a_key_parses_back_to_its_random_part() -> None:
    codec = KeyCodec([CURRENT])
    key = codec.new(KeyKind.RECEIPT)
    parsed = codec.parse(KeyKind.RECEIPT, key.text.upper())
    assert parsed is not None
    assert parsed.raw == key.raw
    assert parsed.storage_id == key.storage_id


def test_a_key_packs_into_40_bytes_and_back() -> None:
    codec = KeyCodec([CURRENT])
    for _ in range(200):
        key = codec.new(KeyKind.SECRET)
        assert len(key.packed) == 40
        assert key.packed[:32] == key.raw
        assert text_from_packed(key.packed) == key.text
        assert codec.parse(KeyKind.SECRET, text_from_packed(key.packed)) == key
    with pytest.raises(ValueError, match="40 bytes, not 39"):
        text_from_packed(os.urandom(39))


def _made_as(codec: KeyCodec, fmt: str) -> tuple[LinkKey, LinkKey]:
    """A receipt key and its share key of the format named: timed, or compact as made now."""
    return codec.timed_pair() if fmt == "timed" else codec.new_pair(FACTS)


@pytest.mark.parametrize("fmt", ["timed", "compact"])
def test_a_key_of_one_kind_is_not_a_key_of_the_other(fmt: str) -> None:
    codec = KeyCodec([CURRENT])
    receipt, share = _made_as(codec, fmt)
    assert codec.parse(KeyKind.RECEIPT, share.text) is None
    assert codec.parse(KeyKind.SECRET, receipt.text) is None


@pytest.mark.parametrize("fmt", ["timed", "compact"])
def test_a_mistyped_key_is_rejected_by_its_check(fmt: str) -> None:
    codec = KeyCodec([CURRENT])
    for key in _made_as(codec, fmt):
        text = key.text
        for position in (0, 30, 61):
            swapped = "1" if text[position] != "1" else "2"
            typo = text[:position] + swapped + text[position + 1 :]
            assert codec.parse(key.kind, typo) is None


@pytest.mark.parametrize("fmt", ["timed", "compact"])
def test_a_key_from_another_server_is_refused(fmt: str) -> None:
    for key in _made_as(KeyCodec([PREVIOUS]), fmt):
        assert KeyCodec([CURRENT]).parse(key.kind, key.text) is None
        parsed = KeyCodec([CURRENT, PREVIOUS]).parse(key.kind, key.text)
        assert parsed is not None
        assert (parsed.raw, parsed.storage_id, parsed.facts) == (key.raw, key.storage_id, key.facts)
        assert parsed.check_index == 1


@pytest.mark.parametrize("text", ["", "abc", "x" * 31, "!" * 62, "z" * 62, "k" * 500])
def test_garbage_is_not_a_key(text: str) -> None:
    assert KeyCodec([CURRENT]).parse(KeyKind.SECRET, text) is None


def test_keys_from_before_a_rotation_still_parse() -> None:
    old_key = KeyCodec([PREVIOUS]).new(KeyKind.SECRET)
    assert KeyCodec([CURRENT]).parse(KeyKind.SECRET, old_key.text) is None
    assert KeyCodec([CURRENT, PREVIOUS]).parse(KeyKind.SECRET, old_key.text) is not None


def test_storage_ids_differ_by_kind_and_do_not_contain_the_key() -> None:
    raw = bytes(range(32))
    secret_id, receipt_id = storage_id(KeyKind.SECRET, raw), storage_id(KeyKind.RECEIPT, raw)
    assert secret_id != receipt_id
    assert raw not in secret_id
    assert len(secret_id) == 32


def _ticks(made: bytes) -> int:
    return int.from_bytes(made, "big")


def test_a_new_key_carries_the_time_it_was_made_and_its_storage_id_starts_with_it() -> None:
    now = [1_800_000_000.5]
    codec = KeyCodec([CURRENT], clock=lambda: now[0])
    key = codec.new(KeyKind.SECRET)
    assert _ticks(key.made) == 1_800_000_000 * 256 + 128
    assert key.storage_id[:TIME_BYTES] == key.made
    # The rest is the hash's, as for every key: a copy of the store learns only the time.
    assert key.storage_id[TIME_BYTES:] == whole_hash_id(KeyKind.SECRET, key.raw)[TIME_BYTES:]
    parsed = codec.parse(KeyKind.SECRET, key.text)
    assert parsed is not None
    assert parsed.made == key.made
    assert parsed.storage_id == key.storage_id


def test_storage_ids_of_keys_made_one_after_the_other_sort_in_that_order() -> None:
    now = [1_800_000_000.0]
    codec = KeyCodec([CURRENT], clock=lambda: now[0])
    ids = []
    for _ in range(300):
        ids.append(codec.new(KeyKind.RECEIPT).storage_id)
        now[0] += 1 / 256
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def _unmasked_with(key: bytes | None, kind: KeyKind, raw: bytes) -> bytes:
    """Take a mask off the link's first bytes as someone would who guessed how it is made:
    BLAKE2b over the kind and the random bytes, under `key` (None: no key at all)."""
    made = hashlib.blake2b(
        kind.value.encode() + raw[TIME_BYTES:],
        digest_size=TIME_BYTES,
        key=b"" if key is None else hmac.digest(key, b"onetime/made", "sha256"),
        person=b"onetime/made",
    ).digest()
    return bytes(x ^ y for x, y in zip(raw[:TIME_BYTES], made, strict=True))


def test_a_link_does_not_show_when_its_key_was_made() -> None:
    now = 1_800_000_000.0
    codec = KeyCodec([CURRENT], clock=lambda: now)
    keys = [codec.new(KeyKind.SECRET) for _ in range(200)]
    assert {key.made for key in keys} == {made_at(now)}
    # Made at the same moment, yet the first bytes of their links all differ: the time is
    # masked by a hash of the random bytes that follow it...
    assert len({key.raw[:TIME_BYTES] for key in keys}) == 200
    for key in keys:
        # ... under a key only this server has: neither the plain hash nor the same one under
        # another server secret's key takes the mask off (the real one, as a control, does).
        assert _unmasked_with(CURRENT, KeyKind.SECRET, key.raw) == key.made
        assert _unmasked_with(None, KeyKind.SECRET, key.raw) != key.made
        assert _unmasked_with(PREVIOUS, KeyKind.SECRET, key.raw) != key.made


def test_a_key_made_before_a_rotation_keeps_its_time_and_storage_id() -> None:
    old_key = KeyCodec([PREVIOUS]).new(KeyKind.RECEIPT)
    parsed = KeyCodec([CURRENT, PREVIOUS]).parse(KeyKind.RECEIPT, old_key.text)
    assert parsed is not None
    assert parsed.made == old_key.made
    assert parsed.storage_id == old_key.storage_id


def test_a_key_from_before_timed_keys_still_parses_to_its_old_storage_id() -> None:
    codec = KeyCodec([CURRENT, PREVIOUS])
    for check_key in (CURRENT, PREVIOUS):
        old = key_before_timed_keys(check_key, KeyKind.SECRET)
        parsed = codec.parse(KeyKind.SECRET, old.text)
        assert parsed is not None
        assert parsed.made == b""
        assert parsed.storage_id == whole_hash_id(KeyKind.SECRET, old.raw)
        assert codec.parse(KeyKind.RECEIPT, old.text) is None


def test_the_check_tells_whether_a_key_carries_its_time() -> None:
    """The same 32 bytes under either check: each is read its own way, to its own id."""
    codec = KeyCodec([CURRENT])
    timed = codec.new(KeyKind.SECRET)
    as_old = codec.parse(
        KeyKind.SECRET, key_before_timed_keys(CURRENT, KeyKind.SECRET, timed.raw).text
    )
    assert as_old is not None
    assert as_old.made == b""
    assert as_old.storage_id == whole_hash_id(KeyKind.SECRET, timed.raw)
    assert as_old.storage_id != timed.storage_id


def test_base36_round_trip_keeps_leading_zero_bytes() -> None:
    data = b"\x00\x00\x01" + b"\xff" * 37
    text = encode_base36(data, KEY_LENGTH)
    assert decode_base36(text, 40) == data
    assert decode_base36("z" * 63, 40) is None


def _digit_by_digit(data: bytes, length: int) -> str:
    """Base36 the slow, obvious way, to check the grouped encoder against."""
    number, digits = int.from_bytes(data, "big"), []
    while number:
        number, digit = divmod(number, 36)
        digits.append("0123456789abcdefghijklmnopqrstuvwxyz"[digit])
    return "".join(reversed(digits)).rjust(length, "0")


def test_base36_matches_the_digit_by_digit_encoding() -> None:
    samples = [bytes(40), b"\xff" * 40, b"\x00" * 39 + b"\x01", b"\x01" + bytes(39)]
    samples += [os.urandom(40) for _ in range(500)]
    for data in samples:
        text = encode_base36(data, KEY_LENGTH)
        assert text == _digit_by_digit(data, KEY_LENGTH)
        assert decode_base36(text, 40) == data


@pytest.mark.parametrize("text", ["+1a", "-1a", " 1a", "1_a", "1A", "1a\n", "١٢"])
def test_base36_decoding_takes_only_the_alphabet(text: str) -> None:
    assert decode_base36(text, 40) is None


def test_the_share_key_is_made_from_the_receipt_key_and_parses_like_any_other() -> None:
    codec = KeyCodec([CURRENT])
    receipt, share = codec.timed_pair()
    assert (receipt.kind, share.kind) == (KeyKind.RECEIPT, KeyKind.SECRET)
    assert codec.share_for(receipt) == share
    parsed = codec.parse(KeyKind.RECEIPT, receipt.text.upper())
    assert parsed is not None
    assert codec.share_for(parsed) == share
    assert codec.parse(KeyKind.SECRET, share.text) == share
    assert share.made == receipt.made
    # Nothing of the receipt key shows in the share key: not its bytes, not its text.
    assert share.raw[TIME_BYTES:] != receipt.raw[TIME_BYTES:]
    assert share.text[:8] != receipt.text[:8]
    shares = {codec.timed_pair()[1].text for _ in range(200)}
    assert len(shares) == 200


def test_only_a_timed_receipt_key_has_a_share_key() -> None:
    codec = KeyCodec([CURRENT])
    _, share = codec.timed_pair()
    assert codec.share_for(share) is None  # the share key leads nowhere
    old_receipt = codec.parse(KeyKind.RECEIPT, key_before_timed_keys(CURRENT, KeyKind.RECEIPT).text)
    assert old_receipt is not None
    assert codec.share_for(old_receipt) is None  # its receipt keeps the share key sealed


def test_a_receipt_made_before_a_rotation_still_gives_the_same_share_key() -> None:
    receipt, share = KeyCodec([PREVIOUS]).timed_pair()
    rotated = KeyCodec([CURRENT, PREVIOUS])
    parsed = rotated.parse(KeyKind.RECEIPT, receipt.text)
    assert parsed is not None
    assert parsed.check_index == 1
    again = rotated.share_for(parsed)
    assert again is not None
    assert again.text == share.text  # the same link as the one given out
    assert again.storage_id == share.storage_id


def test_a_compact_pair_parses_back_with_its_facts_and_short_ids() -> None:
    codec = KeyCodec([CURRENT])
    receipt, share = codec.new_pair(FACTS)
    assert (receipt.format, share.format) == (KeyFormat.COMPACT, KeyFormat.COMPACT)
    parsed = codec.parse(KeyKind.RECEIPT, receipt.text)
    assert parsed == receipt
    assert parsed is not None
    assert parsed.facts == FACTS
    assert codec.parse(KeyKind.SECRET, share.text) == share
    assert codec.share_for(parsed) == share
    for key in (receipt, share):
        assert len(key.storage_id) == SHORT_ID_BYTES
        assert key.storage_id[:TIME_BYTES] == receipt.made
    assert share.facts is None


def test_a_compact_key_is_laid_out_as_documented(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pinned: a change to the labels, the facts' bits or the id's length would strand every
    # link already given out. Time and random bytes fixed; the rest follows docs/crypto.md.
    codec = KeyCodec([CURRENT], clock=lambda: 1_800_000_000.5)
    rest = bytes(range(23))
    made = made_at(1_800_000_000.5)
    monkeypatch.setattr(secrets, "token_bytes", lambda size: bytes(range(size)))
    receipt, share = codec.new_pair(FACTS)
    monkeypatch.undo()
    assert FACTS.pack() == (86_400 | 1 << 31).to_bytes(4, "big")

    def blake(label: bytes, kind: KeyKind, size: int, data: bytes) -> bytes:
        key = hmac.digest(CURRENT, label, "sha256")
        h = hashlib.blake2b(kind.value.encode(), digest_size=size, key=key, person=label)
        h.update(data)
        return h.digest()

    mask = blake(b"onetime/made3", KeyKind.RECEIPT, 9, rest)
    head = bytes(a ^ b for a, b in zip(made + FACTS.pack(), mask, strict=True))
    assert receipt.raw == head + rest
    assert receipt.raw[TIME_BYTES:9] != FACTS.pack()  # the facts do not show in the link
    check = blake(b"onetime/check3", KeyKind.RECEIPT, 8, receipt.raw)
    assert receipt.text == encode_base36(receipt.raw + check, KEY_LENGTH)
    assert receipt.storage_id == (made + whole_hash_id(KeyKind.RECEIPT, receipt.raw)[5:])[:16]
    assert codec.share_for(receipt) == share
    share_rest = hashlib.blake2b(receipt.raw, digest_size=27, person=b"onetime/share").digest()
    share_mask = blake(b"onetime/made3", KeyKind.SECRET, 5, share_rest)
    assert share.raw == bytes(a ^ b for a, b in zip(made, share_mask, strict=True)) + share_rest


def test_compact_keys_after_a_rotation_keep_their_facts_ids_and_share_key() -> None:
    receipt, share = KeyCodec([PREVIOUS]).new_pair(FACTS)
    rotated = KeyCodec([CURRENT, PREVIOUS])
    parsed = rotated.parse(KeyKind.RECEIPT, receipt.text)
    assert parsed is not None
    assert (parsed.facts, parsed.storage_id) == (FACTS, receipt.storage_id)
    again = rotated.share_for(parsed)
    assert again is not None
    assert again.text == share.text


def test_each_format_is_read_its_own_way() -> None:
    codec = KeyCodec([CURRENT])
    compact, _ = codec.new_pair(FACTS)
    timed, timed_share = codec.timed_pair()
    untimed = key_before_timed_keys(CURRENT, KeyKind.RECEIPT)
    formats = [codec.parse(KeyKind.RECEIPT, key.text) for key in (compact, timed, untimed)]
    assert [key.format for key in formats if key] == [
        KeyFormat.COMPACT,
        KeyFormat.TIMED,
        KeyFormat.UNTIMED,
    ]
    assert [len(key.storage_id) for key in formats if key] == [16, 32, 32]
    # A timed receipt key (made between timed keys and compact ones) still gives its share key.
    assert formats[1] is not None
    assert codec.share_for(formats[1]) == timed_share


@pytest.mark.parametrize(
    "facts",
    [
        KeyFacts(0, False, False),
        KeyFacts(60, False, True),
        KeyFacts(2**30 - 1, True, True),
        KeyFacts(7 * 86_400, True, False),
    ],
)
def test_facts_round_trip(facts: KeyFacts) -> None:
    assert KeyFacts.unpack(facts.pack()) == facts
    assert len(facts.pack()) == 4


@pytest.mark.parametrize("lifetime", [2**30, -1])
def test_a_lifetime_the_facts_cannot_hold_reads_as_unknown(lifetime: int) -> None:
    assert KeyFacts.unpack(KeyFacts(lifetime, True, True).pack()) == KeyFacts(0, True, True)
