"""How the immutable part of a receipt is written as bytes, shared by every backend."""

from __future__ import annotations

import base64

import orjson

from onetime.core.records import ReceiptState, SecretKind, StoredReceipt


def pack_receipt_static(receipt: StoredReceipt) -> bytes:
    """The fields of a receipt that never change after creation, as compact JSON."""
    return orjson.dumps(
        {
            "o": receipt.owner_id,
            "k": receipt.kind.value,
            "t": receipt.ttl,
            "c": receipt.created,
            "x": receipt.secret_expires_at,
            "p": receipt.has_passphrase,
            "d": receipt.share_domain,
            "r": list(receipt.recipients),
            "s": base64.b64encode(receipt.share_key).decode(),
        }
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
    data = orjson.loads(static)
    return StoredReceipt(
        rid=rid,
        sid=sid,
        owner_id=data["o"],
        kind=SecretKind(data["k"]),
        ttl=data["t"],
        created=data["c"],
        secret_expires_at=data["x"],
        expires_at=expires_at,
        has_passphrase=data["p"],
        share_domain=data["d"],
        recipients=tuple(data["r"]),
        share_key=base64.b64decode(data["s"]),
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
