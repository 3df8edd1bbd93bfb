"""Account keys: the password lock, tokens, and what a copy of the store can and cannot open."""

import pytest

from onetime.core import account_crypto as keys
from onetime.core.crypto import Argon2Params, EnvelopeError, Keyring

CHEAP = Argon2Params(time_cost=1, memory_kib=1024)
SERVER = b"s" * 32
OTHER = b"o" * 32


def test_the_right_password_opens_the_account_key_and_a_wrong_one_does_not() -> None:
    keyring, account_key = Keyring(SERVER), keys.new_account_key()
    lock = keys.lock_with_password(keyring, "correct horse", "acct1", account_key, CHEAP)
    assert keys.unlock_with_password(keyring, lock, "correct horse", "acct1") == account_key
    assert keys.unlock_with_password(keyring, lock, "correct horsE", "acct1") is None
    # Bound to the account: a lock copied onto another account opens nothing.
    assert keys.unlock_with_password(keyring, lock, "correct horse", "acct2") is None


def test_the_lock_stores_neither_the_password_nor_the_key() -> None:
    account_key = keys.new_account_key()
    lock = keys.lock_with_password(Keyring(SERVER), "correct horse", "a", account_key, CHEAP)
    stored = lock.salt + lock.verifier + lock.wrapped_key
    assert b"correct horse" not in stored
    assert account_key not in stored


def test_the_server_secret_peppers_the_lock_and_rotation_keeps_it_working() -> None:
    account_key = keys.new_account_key()
    lock = keys.lock_with_password(Keyring(OTHER), "pw-pw-pw-pw", "a", account_key, CHEAP)
    # The store plus the password but a different server secret: nothing.
    assert keys.unlock_with_password(Keyring(SERVER), lock, "pw-pw-pw-pw", "a") is None
    # After rotation, with the old secret configured as previous: still opens.
    rotated = Keyring(SERVER, previous=[OTHER])
    assert keys.unlock_with_password(rotated, lock, "pw-pw-pw-pw", "a") == account_key


def test_wrapped_keys_open_only_with_their_key_and_context() -> None:
    kek = keys.token_wrapping_key("api", "token-1", "acct")
    sealed = keys.wrap(kek, b"ctx", b"payload")
    assert keys.unwrap(kek, b"ctx", sealed) == b"payload"
    for wrong_kek, context in (
        (keys.token_wrapping_key("api", "token-2", "acct"), b"ctx"),
        (keys.token_wrapping_key("session", "token-1", "acct"), b"ctx"),
        (kek, b"other"),
    ):
        with pytest.raises(EnvelopeError):
            keys.unwrap(wrong_kek, context, sealed)
    with pytest.raises(EnvelopeError):
        keys.unwrap(kek, b"ctx", sealed[:10])


def test_token_digests_are_per_purpose_and_do_not_contain_the_token() -> None:
    token = keys.new_api_token()
    assert len(token) == 40
    assert int(token, 16) >= 0
    api, session = keys.token_digest("api", token), keys.token_digest("session", token)
    assert api != session
    assert token.encode() not in api
    assert keys.new_token() != keys.new_token()


def test_email_index_is_keyed_and_lists_every_configured_secret() -> None:
    one = keys.email_digest(Keyring(SERVER), "al@example.com")
    two = keys.email_digest(Keyring(OTHER), "al@example.com")
    assert len(one) == 1
    assert one != two
    rotated = keys.email_digest(Keyring(SERVER, previous=[OTHER]), "al@example.com")
    assert rotated == one + two
