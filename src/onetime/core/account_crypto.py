"""Keys of accounts: password locks, API tokens, sessions, and the account key they all unwrap.

Every account has a random 256-bit *account key*. The receipt keys of its recent secrets are
wrapped under it (DESIGN §4), and it is itself stored only wrapped:

- by the password: Argon2id(password, salt) → 64 bytes; HKDF of that with the server's account
  key as salt gives a *verifier* (stored, compared in constant time) and, separately, the key
  that wraps the account key. One Argon2 run per sign-in does both.
- by the API token: HKDF(token) wraps a copy; the token itself is stored only as a SHA-256 hash.
- by a session: HKDF(cookie token) wraps a copy held in the session record; the cookie token is
  stored only as a hash, so the store alone never opens it.

So a copy of the store, even with the server secret, holds no key that opens the list: it takes
the password, a token or a live cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from onetime.core.crypto import Argon2Params, EnvelopeError, Keyring, stretch_passphrase

ACCOUNT_KEY_BYTES = 32
_NONCE_BYTES = 12
_SALT_BYTES = 16
_STRETCH_BYTES = 64
_DUMMY_SALT = b"onetime/no-user!"


@dataclass(frozen=True, slots=True)
class PasswordLock:
    """What we keep of a password: the verifier, and the account key wrapped by it."""

    key_id: bytes  # which server secret peppered it
    params: Argon2Params
    salt: bytes
    verifier: bytes
    wrapped_key: bytes


def _hkdf(ikm: bytes, salt: bytes | None, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def _stretch(password: str, salt: bytes, params: Argon2Params) -> bytes:
    return stretch_passphrase(password, salt, params, length=_STRETCH_BYTES)


def _password_keys(pepper: bytes, stretched: bytes, account_id: str) -> tuple[bytes, bytes]:
    context = account_id.encode()
    verifier = _hkdf(stretched, pepper, b"onetime/password/verifier\x00" + context)
    wrapping = _hkdf(stretched, pepper, b"onetime/password/wrap\x00" + context)
    return verifier, wrapping


def new_account_key() -> bytes:
    return os.urandom(ACCOUNT_KEY_BYTES)


def wrap(kek: bytes, context: bytes, plaintext: bytes) -> bytes:
    """AES-256-GCM under `kek`, bound to `context` (which record it belongs to)."""
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(kek).encrypt(nonce, plaintext, context)


def unwrap(kek: bytes, context: bytes, sealed: bytes) -> bytes:
    """Open what `wrap` sealed; EnvelopeError when the key or the context does not fit."""
    if len(sealed) < _NONCE_BYTES + 16:
        raise EnvelopeError("wrapped key is truncated")
    try:
        return AESGCM(kek).decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], context)
    except InvalidTag:
        raise EnvelopeError("the wrapped key does not open with this key") from None


def lock_with_password(
    keyring: Keyring, password: str, account_id: str, account_key: bytes, params: Argon2Params
) -> PasswordLock:
    """Wrap `account_key` under `password` (slow: one Argon2id run)."""
    salt = os.urandom(_SALT_BYTES)
    keys = keyring.current
    verifier, wrapping = _password_keys(keys.account, _stretch(password, salt, params), account_id)
    wrapped = wrap(wrapping, b"onetime/account-key\x00" + account_id.encode(), account_key)
    return PasswordLock(keys.key_id, params, salt, verifier, wrapped)


def unlock_with_password(
    keyring: Keyring, lock: PasswordLock, password: str, account_id: str
) -> bytes | None:
    """The account key if `password` is right, else None (slow: one Argon2id run)."""
    try:
        pepper = keyring.by_id(lock.key_id).account
    except EnvelopeError:
        pepper = os.urandom(32)  # its server secret is gone: nothing can match, spend the time
    stretched = _stretch(password, lock.salt, lock.params)
    verifier, wrapping = _password_keys(pepper, stretched, account_id)
    if not hmac.compare_digest(verifier, lock.verifier):
        return None
    try:
        return unwrap(wrapping, b"onetime/account-key\x00" + account_id.encode(), lock.wrapped_key)
    except EnvelopeError:
        return None


def spend_password_check(password: str, params: Argon2Params) -> None:
    """The work of one password check, for a user who does not exist: timing tells nothing."""
    stretched = _stretch(password, _DUMMY_SALT, params)
    hmac.compare_digest(stretched[:32], os.urandom(32))


def new_token() -> str:
    """A random token for a link, a cookie or the API: 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


def new_api_token() -> str:
    """An API token: 160 random bits as 40 hex digits, easy to paste into a script."""
    return secrets.token_hex(20)


def token_digest(purpose: str, token: str) -> bytes:
    """What the store keeps instead of a token. Tokens are random, so a plain hash is enough."""
    return hashlib.sha256(b"onetime/" + purpose.encode() + b"\x00" + token.encode()).digest()


def token_wrapping_key(purpose: str, token: str, context: str) -> bytes:
    """A key only the token holder can derive, to wrap the account key for them."""
    return _hkdf(token.encode(), None, f"onetime/{purpose}/wrap\x00{context}".encode())


def email_digest(keyring: Keyring, email: str) -> tuple[bytes, ...]:
    """The email index keys of `email`: under the current server secret first, then older ones.

    Keyed, so the index does not tell a holder of the store who has an account by hashing
    guesses; every configured secret is tried so rotation does not lose anyone.
    """
    data = b"onetime/email\x00" + email.encode()
    return tuple(hmac.new(keys.account, data, hashlib.sha256).digest() for keys in keyring.all)


def account_tag(keyring: Keyring, account_id: str) -> str:
    """A keyed hash of an account id, for rate-limit counters (which must not name accounts)."""
    data = b"onetime/account-tag\x00" + account_id.encode()
    return hmac.new(keyring.current.client, data, hashlib.sha256).digest()[:12].hex()


def recent_wrapping_key(account_key: bytes) -> bytes:
    """The key that wraps receipt keys in an account's recent list."""
    return _hkdf(account_key, None, b"onetime/recent")
