"""Records as earlier versions wrote them, for the tests that check they are still read."""

from __future__ import annotations

import base64

import orjson

from onetime.core.records import StoredReceipt


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
