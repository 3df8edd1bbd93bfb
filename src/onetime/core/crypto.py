"""Encryption of secrets at rest, so that the store plus the server secret reads nothing.

Construction (see docs/crypto.md for the reasoning):

- Every key is derived with HKDF-SHA256 from the link key's random part, which only the link
  holds; the server secret is mixed in as HKDF salt, so a stolen link alone is not enough either
  once the store is gone.
- With a passphrase, Argon2id(passphrase, salt) is appended to the HKDF input: a link without its
  passphrase opens nothing, even with the store and the server secret.
- AES-256-GCM with a random 96-bit nonce; the associated data binds the envelope header and the
  record's storage id, so an envelope cannot be moved to another record or have its header edited.

Envelope, version 1:

    0      version (1)
    1..4   server key id (which server secret was used)
    5      kdf: 0 = none, 1 = Argon2id
    [kdf 1: time cost (1 byte), memory KiB (4 bytes), parallelism (1 byte), salt (16 bytes)]
    nonce (12 bytes), ciphertext and tag
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from onetime.core.errors import N_, WrongPassphrase

VERSION = 1
KDF_NONE = 0
KDF_ARGON2ID = 1
_NONCE_BYTES = 12
_SALT_BYTES = 16
_KEY_ID_BYTES = 4
_CLIENT_TAG_BYTES = 12  # 24 hex digits in a counter's name


class EnvelopeError(Exception):
    """An envelope is malformed, tampered with, or sealed with a key we do not hold."""


@dataclass(frozen=True, slots=True)
class Argon2Params:
    """Argon2id cost. The defaults follow OWASP's first recommended setting (19 MiB, 2 passes)."""

    time_cost: int = 2
    memory_kib: int = 19_456
    parallelism: int = 1


@dataclass(frozen=True, slots=True)
class ServerKeys:
    """Keys derived from one server secret; each purpose gets its own key."""

    key_id: bytes
    content: bytes
    receipt: bytes
    check: bytes
    client: bytes
    account: bytes

    @classmethod
    def derive(cls, server_secret: bytes) -> ServerKeys:
        def purpose(name: str) -> bytes:
            return _hkdf(server_secret, b"onetime/server", name.encode(), 32)

        key_id = hashlib.sha256(b"onetime/key-id\x00" + server_secret).digest()[:_KEY_ID_BYTES]
        return cls(
            key_id,
            purpose("content"),
            purpose("receipt"),
            purpose("check"),
            purpose("client"),
            purpose("account"),
        )


class Keyring:
    """The current server keys and those of previous secrets, still accepted for reading."""

    def __init__(self, current: bytes, previous: Sequence[bytes] = ()) -> None:
        self.current = ServerKeys.derive(current)
        self.all = (self.current, *(ServerKeys.derive(p) for p in previous))
        self._by_id = {}
        for keys in reversed(self.all):
            self._by_id[keys.key_id] = keys
        # Keyed once; each tag hashes a copy (a third of an HMAC's time, on every request).
        self._client_hash = hashlib.blake2b(
            key=self.current.client, digest_size=_CLIENT_TAG_BYTES, person=b"onetime/client"
        )

    def by_id(self, key_id: bytes) -> ServerKeys:
        keys = self._by_id.get(key_id)
        if keys is None:
            raise EnvelopeError("sealed with a server secret that is no longer configured")
        return keys

    def client_tag(self, address: str) -> str:
        """A keyed hash of a client address: counters are keyed by it, never by the address."""
        keyed = self._client_hash.copy()
        keyed.update(address.encode())
        return keyed.hexdigest()


def _hkdf(ikm: bytes, salt: bytes, info: bytes, length: int = 32) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def stretch_passphrase(
    passphrase: str, salt: bytes, params: Argon2Params, length: int = 32
) -> bytes:
    """Argon2id over a passphrase (or an account password): the slow, memory-hard part."""
    return bytes(
        hash_secret_raw(
            # JSON can carry lone surrogates ("\ud800"); keep them, as the content does.
            secret=passphrase.encode("utf-8", errors="surrogatepass"),
            salt=salt,
            time_cost=params.time_cost,
            memory_cost=params.memory_kib,
            parallelism=params.parallelism,
            hash_len=length,
            type=Type.ID,
        )
    )


def _content_key(keys: ServerKeys, link_raw: bytes, record_id: bytes, stretched: bytes) -> bytes:
    return _hkdf(link_raw + stretched, keys.content, b"onetime/content/v1\x00" + record_id)


def _receipt_key(keys: ServerKeys, receipt_raw: bytes, record_id: bytes) -> bytes:
    return _hkdf(receipt_raw, keys.receipt, b"onetime/receipt/v1\x00" + record_id)


@dataclass(frozen=True, slots=True)
class _Header:
    key_id: bytes
    kdf: int
    params: Argon2Params | None
    salt: bytes
    raw: bytes


def _pack_header(key_id: bytes, params: Argon2Params | None, salt: bytes) -> bytes:
    head = bytes([VERSION]) + key_id
    if params is None:
        return head + bytes([KDF_NONE])
    cost = struct.pack(">BIB", params.time_cost, params.memory_kib, params.parallelism)
    return head + bytes([KDF_ARGON2ID]) + cost + salt


def _read_header(envelope: bytes) -> _Header:
    if len(envelope) < 6 or envelope[0] != VERSION:
        raise EnvelopeError("unknown envelope version")
    key_id, kdf = envelope[1:5], envelope[5]
    if kdf == KDF_NONE:
        return _Header(key_id, kdf, None, b"", envelope[:6])
    if kdf == KDF_ARGON2ID and len(envelope) >= 6 + 6 + _SALT_BYTES:
        time_cost, memory_kib, parallelism = struct.unpack(">BIB", envelope[6:12])
        # The bounds of the settings; Argon2 itself needs at least 8 KiB per lane.
        if not (
            1 <= time_cost <= 16
            and 1 <= parallelism <= 8
            and 8 * parallelism <= memory_kib <= 1_048_576
        ):
            raise EnvelopeError("implausible key stretching parameters")
        params = Argon2Params(time_cost, memory_kib, parallelism)
        return _Header(
            key_id, kdf, params, envelope[12 : 12 + _SALT_BYTES], envelope[: 12 + _SALT_BYTES]
        )
    raise EnvelopeError("unknown key stretching function")


def _seal(key: bytes, header: bytes, record_id: bytes, plaintext: bytes) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    return header + nonce + AESGCM(key).encrypt(nonce, plaintext, header + record_id)


def _open(key: bytes, header: _Header, record_id: bytes, envelope: bytes) -> bytes:
    body = envelope[len(header.raw) :]
    if len(body) < _NONCE_BYTES + 16:
        raise EnvelopeError("envelope is truncated")
    nonce, ciphertext = body[:_NONCE_BYTES], body[_NONCE_BYTES:]
    return AESGCM(key).decrypt(nonce, ciphertext, header.raw + record_id)


def seal_secret(
    keyring: Keyring,
    link_raw: bytes,
    record_id: bytes,
    plaintext: bytes,
    passphrase: str | None,
    params: Argon2Params,
) -> bytes:
    """Encrypt a secret's content under its link key (and passphrase, when there is one)."""
    keys = keyring.current
    if passphrase:
        salt = os.urandom(_SALT_BYTES)
        header = _pack_header(keys.key_id, params, salt)
        stretched = stretch_passphrase(passphrase, salt, params)
    else:
        header, stretched = _pack_header(keys.key_id, None, b""), b""
    key = _content_key(keys, link_raw, record_id, stretched)
    return _seal(key, header, record_id, plaintext)


def open_secret(
    keyring: Keyring, link_raw: bytes, record_id: bytes, envelope: bytes, passphrase: str | None
) -> bytes:
    """Decrypt a secret. Raises WrongPassphrase when the passphrase is missing or does not fit.

    Raises EnvelopeError when the envelope is damaged or the link key does not fit.
    """
    header = _read_header(envelope)
    keys = keyring.by_id(header.key_id)
    stretched = b""
    if header.params is not None:
        if not passphrase:
            raise WrongPassphrase(N_("This secret needs its passphrase."))
        stretched = stretch_passphrase(passphrase, header.salt, header.params)
    try:
        return _open(
            _content_key(keys, link_raw, record_id, stretched), header, record_id, envelope
        )
    except InvalidTag:
        if header.params is not None:
            raise WrongPassphrase(N_("That passphrase does not open this secret.")) from None
        raise EnvelopeError("the envelope does not open with this key") from None


def seal_for_receipt(
    keyring: Keyring, receipt_raw: bytes, record_id: bytes, plaintext: bytes
) -> bytes:
    """Encrypt data only the receipt holder may read (the share key, the memo)."""
    keys = keyring.current
    header = _pack_header(keys.key_id, None, b"")
    return _seal(_receipt_key(keys, receipt_raw, record_id), header, record_id, plaintext)


def open_for_receipt(
    keyring: Keyring, receipt_raw: bytes, record_id: bytes, envelope: bytes
) -> bytes:
    """Decrypt data sealed with `seal_for_receipt`."""
    header = _read_header(envelope)
    keys = keyring.by_id(header.key_id)
    try:
        return _open(_receipt_key(keys, receipt_raw, record_id), header, record_id, envelope)
    except InvalidTag:
        raise EnvelopeError("the receipt envelope does not open with this key") from None
