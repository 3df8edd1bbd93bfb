"""How the Redis store writes a secret and a receipt: each as one string with a fixed-width head.

Redis keeps a hash whose values are all short as one packed list, but a hash holding a value
over 64 bytes (an envelope always is) as a table of separately allocated fields and values. A
secret and its receipt as such hashes took about 2,900 bytes of Redis memory for a 1 KB secret;
as two strings about 1,800 (bench/, "Memory per stored secret"). Numbers in the head are
zero-padded decimal of fixed width, so a Lua script reads a field with one string.sub and
changes it in place with SETRANGE, which keeps the key's TTL.

Secret (positions counted from 1, as Lua does):

    1      S
    2      passphrase     0/1
    3      previewed      0/1       (MARK_PREVIEWED sets it)
    4      owned          0/1       (its receipt has an owner)
    5-15   created        11 digits
    16-26  expires at     11 digits
    27-29  receipt id length, 3 digits
    then   the receipt id, then the envelope

A taken secret (TAKE_SECRET, CLAIM_SECRET) is `T`, the token's length in 2 digits, the token,
then, for a take, the whole record as it was, so the same take sent again gets the same answer.

Receipt:

    1      R
    2      state code     first letter of the state (n, p, r, b, e, o)
    3      rank           1 digit
    4-14   expires at     11 digits
    15-25  updated        11 digits
    26-36  previewed at   11 digits, 0 for not yet
    37-47  revealed at    likewise
    48-58  burned at      likewise
    59-61  secret id length, 3 digits
    62-66  static part length, 5 digits
    then   the secret id, the static part (codec.py), the memo (absent when empty)
"""

from __future__ import annotations

from onetime.core.records import ReceiptState, StoredReceipt, StoredSecret
from onetime.store.codec import STATE_TIMESTAMP, pack_receipt_static, unpack_receipt

SECRET_HEAD = 29
RECEIPT_HEAD = 66
_LARGEST_TIME = 10**11 - 1  # 11 digits
_STATE_BY_CODE = {state.value[0].encode(): state for state in ReceiptState}
if len(_STATE_BY_CODE) != len(ReceiptState):
    raise RuntimeError("two receipt states share a first letter; the record layout needs one each")
# Where each state's timestamp starts, counted from 0 as SETRANGE does.
TIMESTAMP_OFFSET = {
    state: {"previewed": 25, "revealed": 36, "burned": 47}[column]
    for state, column in STATE_TIMESTAMP.items()
}


def _time(value: int | None) -> int:
    value = value or 0
    if not 0 <= value <= _LARGEST_TIME:
        raise ValueError(f"a timestamp of {value} does not fit the Redis record layout")
    return value


def _length(value: bytes, width: int) -> int:
    if len(value) >= 10**width:
        raise ValueError(f"a field of {len(value)} bytes does not fit the Redis record layout")
    return len(value)


def pack_secret(secret: StoredSecret) -> bytes:
    head = b"S%d%d%d%011d%011d%03d" % (
        secret.has_passphrase,
        secret.previewed,
        secret.owned,
        _time(secret.created),
        _time(secret.expires_at),
        _length(secret.rid, 3),
    )
    return head + secret.rid + secret.envelope


def unpack_secret(sid: bytes, record: bytes | None, now: int) -> StoredSecret | None:
    """The live secret in `record`; None when there is none, it has expired or it was taken."""
    if not record or record[:1] != b"S":
        return None
    expires_at = int(record[15:26])
    if expires_at <= now:
        return None
    rid_end = SECRET_HEAD + int(record[26:29])
    return StoredSecret(
        sid=sid,
        rid=record[SECRET_HEAD:rid_end],
        envelope=record[rid_end:],
        created=int(record[4:15]),
        expires_at=expires_at,
        has_passphrase=record[1:2] == b"1",
        previewed=record[2:3] == b"1",
        owned=record[3:4] == b"1",
    )


def pack_receipt(receipt: StoredReceipt) -> bytes:
    static = pack_receipt_static(receipt)
    head = b"R%s%d%011d%011d%011d%011d%011d%03d%05d" % (
        receipt.state.value[:1].encode(),
        receipt.state.rank,
        _time(receipt.expires_at),
        _time(receipt.updated),
        _time(receipt.previewed),
        _time(receipt.revealed),
        _time(receipt.burned),
        _length(receipt.sid, 3),
        _length(static, 5),
    )
    return head + receipt.sid + static + (receipt.memo or b"")


def unpack_receipt_record(rid: bytes, record: bytes | None, now: int) -> StoredReceipt | None:
    """The live receipt in `record`; None when there is none or it has expired."""
    if not record or record[:1] != b"R":
        return None
    expires_at = int(record[3:14])
    if expires_at <= now:
        return None
    sid_end = RECEIPT_HEAD + int(record[58:61])
    static_end = sid_end + int(record[61:66])
    return unpack_receipt(
        rid,
        record[RECEIPT_HEAD:sid_end],
        expires_at,
        record[sid_end:static_end],
        _STATE_BY_CODE[record[1:2]].value,
        int(record[14:25]),
        int(record[25:36]) or None,
        int(record[36:47]) or None,
        int(record[47:58]) or None,
        record[static_end:] or None,
    )


def envelope_length(record: bytes) -> int:
    """How long the envelope in a packed secret is (the benchmark's memory table needs it)."""
    return len(record) - SECRET_HEAD - int(record[26:29])
