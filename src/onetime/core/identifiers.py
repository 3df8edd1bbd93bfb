"""Link keys: what a share link or receipt link carries, and the ids records are stored under.

A key is 32 random bytes followed by an 8-byte keyed check, written in base36 as 62 characters
(the length Onetime Secret uses, so clients that check lengths keep working). The check lets us
turn away a mistyped or forged key without a store round trip. Records are stored under a plain
SHA-256 of the random part: it cannot be reversed, and it survives a rotation of the server secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

RANDOM_BYTES = 32
CHECK_BYTES = 8
KEY_LENGTH = 62
PACKED_BYTES = RANDOM_BYTES + CHECK_BYTES
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_DIGIT_SET = frozenset(_ALPHABET)
_GROUP_BASE = 36**3
_GROUPS = tuple(a + b + c for a in _ALPHABET for b in _ALPHABET for c in _ALPHABET)


class KeyKind(StrEnum):
    """What a key opens. The kind is bound into the check, so keys cannot be swapped."""

    SECRET = "secret"  # noqa: S105 - a key kind, not a password
    RECEIPT = "receipt"


@dataclass(frozen=True, slots=True)
class LinkKey:
    """A parsed key: `text` is what links carry, `raw` the random part, `storage_id` the record id."""

    kind: KeyKind
    raw: bytes
    text: str

    @property
    def storage_id(self) -> bytes:
        return storage_id(self.kind, self.raw)

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


def storage_id(kind: KeyKind, raw: bytes) -> bytes:
    """The id a record is stored under: a one-way hash of the key's random part."""
    return hashlib.sha256(b"onetime/" + kind.value.encode() + b"\x00" + raw).digest()


def encode_base36(data: bytes, length: int) -> str:
    """Write `data` as a big-endian number in base36, left-padded with zeros to `length`."""
    number = int.from_bytes(data, "big")
    # Three digits per division: a third of the big-number divisions (keys are made per request).
    groups = []
    while number:
        number, group = divmod(number, _GROUP_BASE)
        groups.append(_GROUPS[group])
    text = "".join(reversed(groups)).lstrip("0")
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

    def __init__(self, check_keys: Sequence[bytes]) -> None:
        if not check_keys:
            raise ValueError("at least one check key is required")
        self._check_keys = tuple(check_keys)

    def new(self, kind: KeyKind) -> LinkKey:
        """Make a fresh random key of `kind`."""
        raw = secrets.token_bytes(RANDOM_BYTES)
        check = self._check(self._check_keys[0], kind, raw)
        return LinkKey(kind, raw, encode_base36(raw + check, KEY_LENGTH))

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
        for check_key in self._check_keys:
            if hmac.compare_digest(check, self._check(check_key, kind, raw)):
                return LinkKey(kind, raw, text)
        return None

    @staticmethod
    def _check(check_key: bytes, kind: KeyKind, raw: bytes) -> bytes:
        message = kind.value.encode() + b"\x00" + raw
        return hmac.new(check_key, message, hashlib.sha256).digest()[:CHECK_BYTES]
