"""The account layer's records, and how they become store items (compact JSON, bytes as base64).

Item kinds (see `onetime.core.records.ITEM_KINDS`):
- `account`: key = the account id; the account itself.
- `email`: key = keyed hash of the address; value = the account id (unique, for sign-in).
- `session`: key = hash of the cookie token; a signed-in browser.
- `token`: key = hash of a link token; a single-use link (verify, reset, email change).
- `recent`: key = a receipt's storage id; the receipt key wrapped by the account key.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from onetime.core.account_crypto import PasswordLock
from onetime.core.crypto import Argon2Params


class LinkPurpose(StrEnum):
    """What a single-use link in a mail is for."""

    VERIFY = "verify"
    RESET = "reset"
    EMAIL_CHANGE = "email"


@dataclass(frozen=True, slots=True)
class Account:
    """An account: an email address, a password lock and preferences. Nothing else is collected."""

    id: str
    email: str
    created: int
    updated: int
    plan: str
    password: PasswordLock = field(repr=False)
    locale: str | None = None
    notify_on_read: bool = False
    verified: bool = False
    suspended: bool = False
    token_digest: bytes | None = field(default=None, repr=False)
    token_created: int | None = None
    key_by_token: bytes | None = field(default=None, repr=False)

    @property
    def has_api_token(self) -> bool:
        return self.token_digest is not None


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser. The cookie holds the token; the store holds its hash and this."""

    account_id: str
    created: int
    last_seen: int
    wrapped_key: bytes = field(repr=False)
    csrf: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class LinkToken:
    """A pending single-use link: whose, what for, and the new address for an email change."""

    account_id: str
    purpose: LinkPurpose
    new_email: str | None = None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


def _dump(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":"), sort_keys=True).encode()


def encode_account(account: Account) -> bytes:
    lock = account.password
    return _dump(
        {
            "id": account.id,
            "email": account.email,
            "created": account.created,
            "updated": account.updated,
            "plan": account.plan,
            "locale": account.locale,
            "notify": account.notify_on_read,
            "verified": account.verified,
            "suspended": account.suspended,
            "pw": {
                "kid": _b64(lock.key_id),
                "t": lock.params.time_cost,
                "m": lock.params.memory_kib,
                "p": lock.params.parallelism,
                "salt": _b64(lock.salt),
                "ver": _b64(lock.verifier),
                "key": _b64(lock.wrapped_key),
            },
            "tok": _b64(account.token_digest) if account.token_digest else None,
            "tok_at": account.token_created,
            "tok_key": _b64(account.key_by_token) if account.key_by_token else None,
        }
    )


def decode_account(raw: bytes) -> Account:
    data = json.loads(raw)
    pw = data["pw"]
    lock = PasswordLock(
        key_id=_unb64(pw["kid"]),
        params=Argon2Params(pw["t"], pw["m"], pw["p"]),
        salt=_unb64(pw["salt"]),
        verifier=_unb64(pw["ver"]),
        wrapped_key=_unb64(pw["key"]),
    )
    return Account(
        id=data["id"],
        email=data["email"],
        created=data["created"],
        updated=data["updated"],
        plan=data["plan"],
        password=lock,
        locale=data["locale"],
        notify_on_read=data["notify"],
        verified=data["verified"],
        suspended=data["suspended"],
        token_digest=_unb64(data["tok"]) if data["tok"] else None,
        token_created=data["tok_at"],
        key_by_token=_unb64(data["tok_key"]) if data["tok_key"] else None,
    )


def encode_session(session: Session) -> bytes:
    return _dump(
        {
            "a": session.account_id,
            "c": session.created,
            "s": session.last_seen,
            "k": _b64(session.wrapped_key),
            "x": session.csrf,
        }
    )


def decode_session(raw: bytes) -> Session:
    data = json.loads(raw)
    return Session(data["a"], data["c"], data["s"], _unb64(data["k"]), data["x"])


def encode_link(link: LinkToken) -> bytes:
    return _dump({"a": link.account_id, "p": link.purpose.value, "e": link.new_email})


def decode_link(raw: bytes) -> LinkToken:
    data = json.loads(raw)
    return LinkToken(data["a"], LinkPurpose(data["p"]), data["e"])
