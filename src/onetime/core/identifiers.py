"""Link keys: what a share link or receipt link carries, and the ids records are stored under.

A key is 32 bytes followed by an 8-byte keyed check, written in base36 as 62 characters (the
length Onetime Secret uses, so clients that check lengths keep working). The check lets us turn
away a mistyped or forged key without a store round trip. Of the 32 bytes, 27 are random and
the first 5 hold the time the key was made, masked so that only this server can read it (keys
made before that are 32 random bytes, with a check over another message). Records are stored
under a SHA-256 of the 32 bytes, whose first 5 bytes give way to that time: it cannot be
reversed, it survives a rotation of the server secret, and the ids of records made one after
the other sort together, which spares a b-tree index (SQLite's) a random page per record.
A secret's share key is made from its receipt key by a one-way hash (`KeyCodec.share_for`).
Keys made now are compact (`KeyFormat.COMPACT`): a receipt key's masked head also holds its
secret's facts (lifetime, how it was made, whether it has a passphrase), and records go under
16-byte ids, which keeps Redis key names and SQLite indexes short. Older formats still parse.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Sequence
from enum import IntEnum, StrEnum

import gmpy2

from onetime.core.values import value

RANDOM_BYTES = 32
CHECK_BYTES = 8
# A key made now starts with the time it was made, masked (see `KeyCodec.new`): TIME_BYTES
# bytes of 1/256 s, whole seconds until 2106 and then the fraction.
TIME_BYTES = 5
KEY_LENGTH = 62
PACKED_BYTES = RANDOM_BYTES + CHECK_BYTES
# Compact keys (see `KeyFormat`): a receipt key's masked head also holds FACTS_BYTES of facts
# about its secret, and both keys' records go under ids of SHORT_ID_BYTES.
FACTS_BYTES = 4
SHORT_ID_BYTES = 16
_FULL_ID_BYTES = 32  # a SHA-256: the ids of timed and untimed keys
_LIFETIME_BITS = 30
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_DIGIT_SET = frozenset(_ALPHABET)
# BLAKE2b's personalisation for the share key made from a receipt key (`KeyCodec.share_for`).
_SHARE_FROM_RECEIPT = b"onetime/share"


class KeyFormat(IntEnum):
    """How a key's 32 bytes are laid out; its check (a keyed hash per format) tells which."""

    UNTIMED = 1  # 32 random bytes; records under whole SHA-256 ids
    TIMED = 2  # the time made (masked), then 27 random bytes; ids start with that time
    # Like TIMED; a receipt key's masked head also holds its secret's facts (23 random bytes
    # follow), and records go under 16-byte ids.
    COMPACT = 3


@value
class KeyFacts:
    """What a compact receipt key says about its secret, so that a receipt whose records are
    gone can still be answered: its lifetime (0: too long to say), how it was made, and whether
    it had a passphrase."""

    lifetime: int
    generated: bool
    has_passphrase: bool

    def pack(self) -> bytes:
        lifetime = self.lifetime if 0 <= self.lifetime < 1 << _LIFETIME_BITS else 0
        flags = self.generated << (_LIFETIME_BITS + 1) | self.has_passphrase << _LIFETIME_BITS
        return (flags | lifetime).to_bytes(FACTS_BYTES, "big")

    @classmethod
    def unpack(cls, data: bytes) -> KeyFacts:
        number = int.from_bytes(data, "big")
        return cls(
            number & ((1 << _LIFETIME_BITS) - 1),
            bool(number >> (_LIFETIME_BITS + 1) & 1),
            bool(number >> _LIFETIME_BITS & 1),
        )


class KeyKind(StrEnum):
    """What a key opens. The kind is bound into the check, so keys cannot be swapped."""

    SECRET = "secret"  # noqa: S105 - a key kind, not a password
    RECEIPT = "receipt"


@value
class LinkKey:
    """A parsed key: `text` is what links carry, `raw` its 32 bytes, `storage_id` the record id."""

    kind: KeyKind
    raw: bytes
    text: str
    # The time the key was made (TIME_BYTES, in 1/256 s), for keys that carry it: every key
    # made since they were introduced (the check tells them apart). Empty for older keys; no
    # default, so that no new key is ever stored under an older key's kind of id by mistake.
    made: bytes
    # Which of the codec's check keys (0: the current one) made the check: a share key made
    # from this key (`KeyCodec.share_for`) must be checked and masked with the same one.
    check_index: int
    format: KeyFormat
    facts: KeyFacts | None  # a compact receipt key's; None for every other key

    @property
    def storage_id(self) -> bytes:
        length = SHORT_ID_BYTES if self.format is KeyFormat.COMPACT else _FULL_ID_BYTES
        return storage_id(self.kind, self.raw, self.made)[:length]

    @property
    def shortid(self) -> str:
        return self.text[:8]

    @property
    def packed(self) -> bytes:
        """The key as the 40 bytes its text writes in base36 (the random part, then the check)."""
        data = decode_base36(self.text, PACKED_BYTES)
        if data is None:
            raise ValueError("a link key's text is not base36")
        return data


def text_from_packed(data: bytes) -> str:
    """A key's text from its `packed` bytes."""
    if len(data) != PACKED_BYTES:
        raise ValueError(f"a packed key is {PACKED_BYTES} bytes, not {len(data)}")
    return encode_base36(data, KEY_LENGTH)


def made_at(seconds: float) -> bytes:
    """The time a key made at `seconds` (epoch) carries: TIME_BYTES bytes of 1/256 s."""
    return (int(seconds * 256) % (1 << 8 * TIME_BYTES)).to_bytes(TIME_BYTES, "big")


def storage_id(kind: KeyKind, raw: bytes, made: bytes = b"") -> bytes:
    """The id a record is stored under: a one-way hash of the key's 32 bytes.

    For a key that carries the time it was made, that time replaces the hash's first bytes, so
    ids made one after the other sort together: a b-tree index (SQLite's) adds them on one
    page at its end instead of on a random page each, and a create writes fewer pages. The time
    is in the record anyway (its `created`), so the id tells a copy of the store nothing new.
    """
    digest = hashlib.sha256(b"onetime/" + kind.value.encode() + b"\x00" + raw).digest()
    return made + digest[len(made) :]


def shortid_of_storage_id(record_id: bytes) -> str:
    """Eight hex digits of a storage id's hash part: they tell records apart and reveal nothing
    (an id's first bytes may be the time its key was made, the same for all of that second)."""
    return record_id[TIME_BYTES:].hex()[:8]


def encode_base36(data: bytes, length: int) -> str:
    """Write `data` as a big-endian number in base36, left-padded with zeros to `length`."""
    # GMP's base conversion: Python has none for base36, and dividing by hand (three digits a
    # division) cost 2.7 us a key, 8-14 % of a create's CPU in profiles; this is 0.6 us.
    text: str = gmpy2.digits(int.from_bytes(data, "big"), 36)
    if len(text) > length:
        raise ValueError("data does not fit in the requested length")
    return text.rjust(length, "0")


def decode_base36(text: str, size: int) -> bytes | None:
    """Read a base36 number back into `size` bytes, or None if it is not valid base36 or too big."""
    # int() alone would also take signs, spaces and underscores; only our alphabet may pass.
    if not _DIGIT_SET.issuperset(text):
        return None
    number = int(text, 36) if text else 0
    if number.bit_length() > size * 8:
        return None
    return number.to_bytes(size, "big")


class KeyCodec:
    """Makes and checks keys with check keys derived from the server secret(s).

    `check_keys` lists the current check key first, then those of previous server secrets,
    so links made before a rotation still parse.
    """

    def __init__(self, check_keys: Sequence[bytes], clock: Callable[[], float] = time.time) -> None:
        if not check_keys:
            raise ValueError("at least one check key is required")
        self._check_keys = tuple(check_keys)
        self._clock = clock
        # For keys that carry their time: the keyed hashes of the mask and of the check, set up
        # once per check key and kind (a copy is cheaper), each under a key of its own.
        self._timed = {
            (check_key, kind): (
                _keyed_hash(check_key, b"onetime/made", kind, TIME_BYTES),
                _keyed_hash(check_key, b"onetime/check", kind, CHECK_BYTES),
            )
            for check_key in self._check_keys
            for kind in KeyKind
        }
        # Compact keys: hashes of their own, so the check tells the formats apart; a receipt
        # key's mask also covers its facts.
        self._compact = {
            (check_key, kind): (
                _keyed_hash(check_key, b"onetime/made3", kind, _head_bytes(kind)),
                _keyed_hash(check_key, b"onetime/check3", kind, CHECK_BYTES),
            )
            for check_key in self._check_keys
            for kind in KeyKind
        }

    def new(self, kind: KeyKind) -> LinkKey:
        """Make a fresh timed key of `kind`: its time, masked, then random bytes, then the check.
        (Creates make compact pairs, `new_pair`; a single key is for tests and tools.)

        The time orders storage ids (see `storage_id`); in the link it is masked with a keyed
        hash of the random bytes, so a link does not tell when it was made. The check is a
        keyed BLAKE2b of the 32 bytes (for older keys it was an HMAC, about three times slower).
        """
        rest = secrets.token_bytes(RANDOM_BYTES - TIME_BYTES)
        return self._make(KeyFormat.TIMED, kind, made_at(self._clock()), None, rest, 0)

    def new_pair(self, facts: KeyFacts) -> tuple[LinkKey, LinkKey]:
        """A fresh compact receipt key holding `facts`, and the share key made from it: what
        every create makes."""
        rest = secrets.token_bytes(RANDOM_BYTES - _head_bytes(KeyKind.RECEIPT))
        receipt = self._make(
            KeyFormat.COMPACT, KeyKind.RECEIPT, made_at(self._clock()), facts, rest, 0
        )
        return receipt, self._share_of(receipt)

    def share_for(self, receipt: LinkKey) -> LinkKey | None:
        """The share key that goes with `receipt`, made from it by a one-way hash.

        A receipt shows its share link anyway while the secret is unread, so the receipt key
        may lead to the share key; the share key must not lead back, and does not. Deriving it
        spares every receipt the sealed copy of the share key it kept before (74 bytes), and a
        create the random bytes, check and sealing of a second key. None for receipt keys made
        before keys carried their time: their receipts keep the share key sealed.
        """
        if receipt.kind is not KeyKind.RECEIPT or receipt.format is KeyFormat.UNTIMED:
            return None
        return self._share_of(receipt)

    def timed_pair(self) -> tuple[LinkKey, LinkKey]:
        """A timed receipt key and the share key made from it, as pairs were made between
        derived share keys (2026-12-07) and compact keys (2026-12-08): for tests of such records."""
        receipt = self.new(KeyKind.RECEIPT)
        return receipt, self._share_of(receipt)

    def _share_of(self, receipt: LinkKey) -> LinkKey:
        rest = hashlib.blake2b(
            receipt.raw, digest_size=RANDOM_BYTES - TIME_BYTES, person=_SHARE_FROM_RECEIPT
        ).digest()
        return self._make(
            receipt.format, KeyKind.SECRET, receipt.made, None, rest, receipt.check_index
        )

    def _make(
        self,
        fmt: KeyFormat,
        kind: KeyKind,
        made: bytes,
        facts: KeyFacts | None,
        rest: bytes,
        check_index: int,
    ) -> LinkKey:
        """A timed or compact key: its head (the time, and a compact receipt key's facts)
        masked with a keyed hash of `rest`, then `rest`, then the check."""
        table = self._compact if fmt is KeyFormat.COMPACT else self._timed
        mask, checker = table[self._check_keys[check_index], kind]
        head = made + (facts.pack() if facts is not None else b"")
        raw = _xor(head, _digest(mask, rest)) + rest
        text = encode_base36(raw + _digest(checker, raw), KEY_LENGTH)
        return LinkKey(kind, raw, text, made, check_index, fmt, facts)

    def parse(self, kind: KeyKind, text: str) -> LinkKey | None:
        """Return the key if `text` is a well-formed key of `kind` made by this server, else None."""
        text = text.strip()
        # Keys are ASCII: refuse the rest before case folding, which turns KELVIN SIGN into "k".
        if len(text) != KEY_LENGTH or not text.isascii():
            return None
        text = text.lower()
        data = decode_base36(text, RANDOM_BYTES + CHECK_BYTES)
        if data is None:
            return None
        raw, check = data[:RANDOM_BYTES], data[RANDOM_BYTES:]
        for index, check_key in enumerate(self._check_keys):
            mask, checker = self._compact[check_key, kind]
            if hmac.compare_digest(check, _digest(checker, raw)):
                size = _head_bytes(kind)
                head = _xor(raw[:size], _digest(mask, raw[size:]))
                facts = KeyFacts.unpack(head[TIME_BYTES:]) if kind is KeyKind.RECEIPT else None
                made = head[:TIME_BYTES]
                return LinkKey(kind, raw, text, made, index, KeyFormat.COMPACT, facts)
            mask, checker = self._timed[check_key, kind]
            if hmac.compare_digest(check, _digest(checker, raw)):
                made = _xor(raw[:TIME_BYTES], _digest(mask, raw[TIME_BYTES:]))
                return LinkKey(kind, raw, text, made, index, KeyFormat.TIMED, None)
            if hmac.compare_digest(check, _untimed_check(check_key, kind, raw)):
                return LinkKey(kind, raw, text, b"", index, KeyFormat.UNTIMED, None)
        return None


def _head_bytes(kind: KeyKind) -> int:
    """How many leading bytes of a compact key are masked: the time, and a receipt's facts."""
    return TIME_BYTES + (FACTS_BYTES if kind is KeyKind.RECEIPT else 0)


def _keyed_hash(check_key: bytes, purpose: bytes, kind: KeyKind, size: int) -> hashlib.blake2b:
    key = hmac.digest(check_key, purpose, "sha256")
    return hashlib.blake2b(kind.value.encode(), digest_size=size, key=key, person=purpose)


def _digest(prototype: hashlib.blake2b, data: bytes) -> bytes:
    keyed = prototype.copy()
    keyed.update(data)
    return keyed.digest()


def _untimed_check(check_key: bytes, kind: KeyKind, raw: bytes) -> bytes:
    """The check of a key made before keys carried their time."""
    message = kind.value.encode() + b"\x00" + raw
    return hmac.new(check_key, message, hashlib.sha256).digest()[:CHECK_BYTES]


def _xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")
