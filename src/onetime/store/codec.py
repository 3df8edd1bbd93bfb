"""How the immutable part of a receipt is written as bytes, shared by every backend.

Binary, because every byte is kept once per receipt for up to twice a secret's lifetime (on
Redis, a 1 KB secret's receipt went from 320 bytes, the static part as JSON, to 188, which
Redis's allocator keeps in 192 instead of 384; bench/, "Memory per stored secret"):

    0       format (1)
    1       kind: 0 conceal, 1 generate
    2       flags: 1 passphrase, 2 owner, 4 share domain, 8 recipients
    3-6     lifetime in seconds, unsigned, big-endian
    7-11    created, unsigned, big-endian
    12-15   when the secret expires, in seconds after created, signed
    then, each only when its flag is set:
            owner id: 2-byte length, UTF-8
            share domain: 2-byte length, UTF-8
            recipients: 1-byte count, each a 2-byte length and UTF-8
    then    the sealed share key, to the end: empty since share keys are made from receipt
            keys (core/identifiers.py), so an anonymous receipt's static part is its 16 bytes

Receipts written before this format kept the same fields as a JSON object (which starts with
`{`, never the format byte); they are still read.
"""

from __future__ import annotations

import base64
import struct

import orjson

from onetime.core.records import ReceiptState, SecretKind, StoredReceipt
from onetime.core.values import value

FORMAT = 1
_KINDS = (SecretKind.CONCEAL, SecretKind.GENERATE)
_KIND_CODE = {kind: code for code, kind in enumerate(_KINDS)}
_PASSPHRASE, _OWNER, _DOMAIN, _RECIPIENTS = 1, 2, 4, 8
_HEAD = struct.Struct(">BBBI5si")
_LENGTH = struct.Struct(">H")
_MAX_RECIPIENTS = 255


class StaticFormatError(ValueError):
    """A stored static part that this version cannot read."""


def _text(value: str) -> bytes:
    data = value.encode()
    if len(data) > 0xFFFF:
        raise ValueError(f"a receipt field of {len(data)} bytes does not fit the stored layout")
    return _LENGTH.pack(len(data)) + data


def pack_receipt_static(receipt: StoredReceipt) -> bytes:
    """The fields of a receipt that never change after creation, in the binary layout above."""
    flags = _PASSPHRASE if receipt.has_passphrase else 0
    parts = []
    if receipt.owner_id is not None:
        flags |= _OWNER
        parts.append(_text(receipt.owner_id))
    if receipt.share_domain:
        flags |= _DOMAIN
        parts.append(_text(receipt.share_domain))
    if receipt.recipients:
        if len(receipt.recipients) > _MAX_RECIPIENTS:
            raise ValueError(f"{len(receipt.recipients)} recipients do not fit the stored layout")
        flags |= _RECIPIENTS
        parts.append(bytes([len(receipt.recipients)]))
        parts.extend(_text(address) for address in receipt.recipients)
    try:
        head = _HEAD.pack(
            FORMAT,
            _KIND_CODE[receipt.kind],
            flags,
            receipt.ttl,
            receipt.created.to_bytes(5, "big"),
            receipt.secret_expires_at - receipt.created,
        )
    except (struct.error, OverflowError) as error:
        raise ValueError(f"a receipt's times do not fit the stored layout: {error}") from None
    return head + b"".join(parts) + receipt.share_key


class _Reader:
    """Reads the variable fields of a static part in order."""

    def __init__(self, data: bytes, offset: int) -> None:
        self.data = data
        self.offset = offset

    def take(self, size: int) -> bytes:
        end = self.offset + size
        if end > len(self.data):
            raise StaticFormatError("a receipt's static part is truncated")
        chunk = self.data[self.offset : end]
        self.offset = end
        return chunk

    def text(self) -> str:
        (size,) = _LENGTH.unpack(self.take(_LENGTH.size))
        return self.take(size).decode()


@value
class _Static:
    owner_id: str | None
    kind: SecretKind
    ttl: int
    created: int
    secret_expires_at: int
    has_passphrase: bool
    share_domain: str
    recipients: tuple[str, ...]
    share_key: bytes


def _read_json(static: bytes) -> _Static:
    data = orjson.loads(static)
    return _Static(
        data["o"],
        SecretKind(data["k"]),
        data["t"],
        data["c"],
        data["x"],
        data["p"],
        data["d"],
        tuple(data["r"]),
        base64.b64decode(data["s"], validate=True),
    )


def _read_static(static: bytes) -> _Static:
    """The static fields, from either layout; StaticFormatError names a damaged one."""
    try:
        return _read_json(static) if static[:1] == b"{" else _read_binary(static)
    except StaticFormatError:
        raise
    # Broken JSON, a field missing or of the wrong type, bad base64 or UTF-8: all ValueErrors
    # but the missing field and the wrong type.
    except (ValueError, KeyError, TypeError) as error:
        raise StaticFormatError(
            f"a receipt's static part cannot be read ({type(error).__name__})"
        ) from None


def _read_binary(static: bytes) -> _Static:
    if len(static) < _HEAD.size or static[0] != FORMAT:
        raise StaticFormatError("a receipt's static part has an unknown format")
    _, kind, flags, ttl, created_bytes, expires_in = _HEAD.unpack_from(static)
    if kind >= len(_KINDS):
        raise StaticFormatError("a receipt's static part names an unknown kind")
    created = int.from_bytes(created_bytes, "big")
    reader = _Reader(static, _HEAD.size)
    owner = reader.text() if flags & _OWNER else None
    domain = reader.text() if flags & _DOMAIN else ""
    recipients: tuple[str, ...] = ()
    if flags & _RECIPIENTS:
        count = reader.take(1)[0]
        recipients = tuple(reader.text() for _ in range(count))
    return _Static(
        owner,
        _KINDS[kind],
        ttl,
        created,
        created + expires_in,
        bool(flags & _PASSPHRASE),
        domain,
        recipients,
        static[reader.offset :],
    )


def unpack_receipt(
    rid: bytes,
    sid: bytes,
    expires_at: int,
    static: bytes,
    state: str,
    updated: int,
    previewed: int | None,
    revealed: int | None,
    burned: int | None,
    memo: bytes | None,
) -> StoredReceipt:
    """Rebuild a receipt from its static part and its changing fields."""
    fixed = _read_static(static)
    return StoredReceipt(
        rid=rid,
        sid=sid,
        owner_id=fixed.owner_id,
        kind=fixed.kind,
        ttl=fixed.ttl,
        created=fixed.created,
        secret_expires_at=fixed.secret_expires_at,
        expires_at=expires_at,
        has_passphrase=fixed.has_passphrase,
        share_domain=fixed.share_domain,
        recipients=fixed.recipients,
        share_key=fixed.share_key,
        state=ReceiptState(state),
        updated=updated,
        previewed=previewed,
        revealed=revealed,
        burned=burned,
        memo=memo,
    )


# The timestamp each stored state sets when a receipt advances to it.
STATE_TIMESTAMP = {
    ReceiptState.PREVIEWED: "previewed",
    ReceiptState.REVEALED: "revealed",
    ReceiptState.BURNED: "burned",
}
