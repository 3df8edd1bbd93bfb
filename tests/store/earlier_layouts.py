"""Records and keys as earlier versions made them, for the tests that check they still work."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

import orjson

from onetime.core.identifiers import KEY_LENGTH, KeyFormat, KeyKind, LinkKey, encode_base36
from onetime.core.records import StoredReceipt


def key_before_timed_keys(check_key: bytes, kind: KeyKind, raw: bytes | None = None) -> LinkKey:
    """A key as versions before keys carried their time made it: 32 random bytes (or `raw`),
    then the first 8 bytes of an HMAC-SHA256 over the kind and them. `check_key` is taken to
    be the current one (check index 0), as in every test that uses this."""
    raw = os.urandom(32) if raw is None else raw
    check = hmac.new(check_key, kind.value.encode() + b"\x00" + raw, hashlib.sha256).digest()
    text = encode_base36(raw + check[:8], KEY_LENGTH)
    return LinkKey(kind, raw, text, b"", 0, KeyFormat.UNTIMED, None)


def whole_hash_id(kind: KeyKind, raw: bytes) -> bytes:
    """The storage id such a key's record was kept under: the whole SHA-256."""
    return hashlib.sha256(b"onetime/" + kind.value.encode() + b"\x00" + raw).digest()


def json_static(stored: StoredReceipt) -> bytes:
    """The static part as versions before the binary layout wrote it."""
    return orjson.dumps(
        {
            "o": stored.owner_id,
            "k": stored.kind.value,
            "t": stored.ttl,
            "c": stored.created,
            "x": stored.secret_expires_at,
            "p": stored.has_passphrase,
            "d": stored.share_domain,
            "r": list(stored.recipients),
            "s": base64.b64encode(stored.share_key).decode(),
        }
    )
