"""What accounts leave in the store, on SQLite and on Redis, byte for byte.

- No API token, password, session token, link token, secret key or receipt key is stored.
- A copy of the store plus the server secret cannot open the recent list.
- Deleting an account leaves no row, key or value that mentions it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from onetime.core import account_crypto
from onetime.core.crypto import Keyring
from onetime.core.records import ITEM_KINDS
from tests.accounts import PASSWORD, TestAccount, account_service, make_account
from tests.conftest import TEST_SECRET, InProcess
from tests.services import delete_prefixed, everything_under, require_redis, unique_prefix
from tests.smtp import SmtpServer, links_in

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", "redis"])
async def backend_env(
    request: pytest.FixtureRequest, app_factory: Callable[..., Any], smtp: SmtpServer
) -> AsyncIterator[tuple[InProcess, Callable[[], Any]]]:
    """An app on one backend, and a function returning every stored byte string."""
    overrides: dict[str, Any] = {"smtp_url": f"smtp://127.0.0.1:{smtp.port}"}
    url = prefix = ""
    if request.param == "redis":
        url, prefix = require_redis(), unique_prefix()
        overrides["store_url"] = f"{url}?prefix={prefix}"
    async with app_factory(**overrides) as env:

        async def raw() -> list[bytes]:
            if request.param == "redis":
                return await _redis_blobs(url, prefix)
            return _sqlite_blobs(env.settings.data_dir, env.settings.counters_dir)

        yield env, raw
    if request.param == "redis":
        await delete_prefixed(url, prefix)


def _sqlite_blobs(data_dir: Path, counters_dir: Path | None) -> list[bytes]:
    """Every value of every row of every table, plus the raw database files."""
    blobs: list[bytes] = []
    roots = [data_dir] + ([counters_dir] if counters_dir else [])
    for path in [p for root in roots for p in root.rglob("*.sqlite3")]:
        with sqlite3.connect(path) as db:
            tables = [
                row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            for table in tables:
                for row in db.execute(f"SELECT * FROM {table}"):  # noqa: S608 - names from the schema
                    blobs += [v if isinstance(v, bytes) else str(v).encode() for v in row]
    return blobs


def _sqlite_files(data_dir: Path) -> list[bytes]:
    return [p.read_bytes() for p in data_dir.rglob("*") if p.is_file()]


async def _redis_blobs(url: str, prefix: str) -> list[bytes]:
    return await everything_under(url, prefix)


def _found(blobs: list[bytes], needles: list[bytes]) -> list[str]:
    joined = b"\x00".join(blobs)
    return [n.decode(errors="replace") for n in needles if n in joined or n.upper() in joined]


async def _use_account(env: InProcess, account: TestAccount) -> dict[str, list[str]]:
    """Sign in, make secrets with the token, request a reset: leave every kind of record."""
    http, accounts = env.client, account_service(env.app)
    signed = await accounts.sign_in(account.email, account.password, client="scan")
    keys: list[str] = []
    for n in range(3):
        answer = await http.post(
            "/api/v2/secret/conceal",
            json={"secret": {"secret": f"owned-content-{n}", "passphrase": "pp-pp-pp"}},
            auth=account.basic,
        )
        assert answer.status_code == 200, answer.text
        record = answer.json()["record"]
        keys += [record["secret"]["key"], record["receipt"]["key"]]
    await accounts.request_reset(account.email, client="scan")
    return {"session": [signed.token], "keys": keys}


async def test_no_token_password_session_or_link_key_is_stored(
    backend_env: tuple[InProcess, Callable[[], Any]], smtp: SmtpServer
) -> None:
    env, raw = backend_env
    account = await make_account(env.app, "scan@example.com")
    used = await _use_account(env, account)
    reset_link = links_in(smtp.inbox.messages()[-1])[0]
    link_token = reset_link.rsplit("/", 1)[1]
    blobs = await raw()
    assert any(account.account.id.encode() in blob for blob in blobs)  # the scan sees the store
    needles = [
        account.token.encode(),
        PASSWORD.encode(),
        link_token.encode(),
        *(t.encode() for t in used["session"]),
        *(k.encode() for k in used["keys"]),
        b"owned-content",
    ]
    assert _found(blobs, needles) == []
    if not env.settings.store_url:  # SQLite: the files themselves, WAL included
        assert _found(_sqlite_files(env.settings.data_dir), needles) == []


async def test_the_store_and_the_server_secret_cannot_open_the_recent_list(
    backend_env: tuple[InProcess, Callable[[], Any]],
) -> None:
    env, _raw = backend_env
    account = await make_account(env.app, "list@example.com")
    await _use_account(env, account)
    accounts = account_service(env.app)
    now = env.clock.now()
    items = await accounts.store.owned_items(account.account.id, "recent", now)
    assert len(items) == 3
    # Someone with the store and the server secret has everything but the account key. The
    # account key is stored only wrapped; keys derived from the server secret do not open it.
    keyring = Keyring(TEST_SECRET.encode())
    for guess in (keyring.current.account, keyring.current.receipt, keyring.current.content):
        assert accounts.secrets.open_recent(guess, items[0]) is None
    # With the token (what the owner holds) the list opens.
    caller = await accounts.authenticate(account.email, account.token)
    assert accounts.secrets.open_recent(caller.account_key, items[0]) is not None
    assert account_crypto.token_digest("api", account.token) == account.account.token_digest


async def test_deleting_an_account_leaves_nothing_that_mentions_it(
    backend_env: tuple[InProcess, Callable[[], Any]],
) -> None:
    env, raw = backend_env
    gone = await make_account(env.app, "gone@example.com")
    kept = await make_account(env.app, "kept@example.com")
    used = await _use_account(env, gone)
    await _use_account(env, kept)
    accounts = account_service(env.app)
    mentions = [
        gone.account.id.encode(),
        b"gone@example.com",
        *account_crypto.email_digest(accounts.keyring, "gone@example.com"),
    ]
    assert _found(await raw(), mentions)  # before: plenty

    signed = await accounts.sign_in(gone.email, gone.password, client="scan")
    await accounts.delete(signed, gone.password)

    assert _found(await raw(), mentions) == []
    now = env.clock.now()
    for kind in ITEM_KINDS:
        owners = {item.owner async for item in accounts.store.items(kind, now)}
        assert gone.account.id not in owners
        if kind in ("account", "email", "recent", "session"):
            assert kept.account.id in owners  # the other account is untouched
    # Its secrets went with it; the session and the token stopped working.
    receipt_key = used["keys"][1]
    assert (await env.client.get(f"/api/v2/receipt/{receipt_key}")).status_code == 404
    assert await accounts.session(used["session"][0]) is None
    refused = await env.client.get("/api/v2/receipt/recent", auth=gone.basic)
    assert refused.status_code == 401
    still = await env.client.get("/api/v2/receipt/recent", auth=kept.basic)
    assert still.status_code == 200
    assert still.json()["count"] == 3


async def test_a_reset_link_is_single_use_and_a_new_password_locks_the_old_list(
    backend_env: tuple[InProcess, Callable[[], Any]], smtp: SmtpServer
) -> None:
    env, _raw = backend_env
    account = await make_account(env.app, "reset@example.com")
    await _use_account(env, account)
    token = links_in(smtp.inbox.messages()[-1])[0].rsplit("/", 1)[1]
    accounts = account_service(env.app)
    await accounts.reset_password(token, "a brand new password")
    with pytest.raises(Exception, match="does not work any more"):
        await accounts.reset_password(token, "yet another password")
    signed = await accounts.sign_in(account.email, "a brand new password", client="scan")
    listing = await accounts.recent(signed.caller)
    assert listing.receipts == ()
    assert listing.locked == 3
    # The old API token wrapped the old key: it was revoked.
    refused = await env.client.get("/api/v2/receipt/recent", auth=account.basic)
    assert refused.status_code == 401
