"""`onetime admin`: the operator commands, run through the CLI against a real store.

The commands read their settings from ONETIME_* variables as `onetime serve` does; the tests set
those variables and make accounts with the real AccountService on the same store, then run the
commands and look at both their output and the store.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import pytest
from typer.testing import CliRunner, Result

from onetime.app import build_context
from onetime.cli import app
from onetime.context import AppContext
from onetime.core.errors import Forbidden, NotFound, Unauthorized
from onetime.core.records import ITEM_KINDS
from onetime.core.service import ConcealRequest
from onetime.settings import load_settings
from tests import accounts as test_accounts
from tests.accounts import PASSWORD, make_account
from tests.conftest import TEST_SECRET
from tests.services import delete_prefixed, require_redis, unique_prefix

T = TypeVar("T")
runner = CliRunner()


@pytest.fixture(autouse=True)
def onetime_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ONETIME_* variables for a store in this test's directory, and nothing from outside."""
    for name in list(os.environ):
        if name.startswith("ONETIME_"):
            monkeypatch.delenv(name)
    counters = tmp_path / "counters"
    counters.mkdir()
    monkeypatch.setenv("ONETIME_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ONETIME_COUNTERS_DIR", str(counters))
    monkeypatch.setenv("ONETIME_SECRET", TEST_SECRET)
    monkeypatch.setenv("ONETIME_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("ONETIME_ARGON2_TIME_COST", "1")


def on_store(work: Callable[[AppContext], Awaitable[T]]) -> T:
    """Run `work` with the services on the store the settings name (as the CLI does)."""

    async def go() -> T:
        context = build_context(load_settings())
        await context.store.open()
        try:
            return await work(context)
        finally:
            await context.store.close()

    return asyncio.run(go())


def new_account(email: str) -> test_accounts.TestAccount:
    """A confirmed account with an API token and one live session."""

    async def work(context: AppContext) -> test_accounts.TestAccount:
        return await make_account(SimpleNamespace(state=SimpleNamespace(context=context)), email)

    return on_store(work)


def admin(*args: str, input: str | None = None) -> Result:
    result = runner.invoke(app, ["admin", *args], input=input)
    # Errors are reported, never raised: anything but a clean exit is a crash.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def sessions_of(account_id: str) -> int:
    async def work(context: AppContext) -> int:
        now = context.accounts.clock.now()
        return len(await context.store.owned_items(account_id, "session", now))

    return on_store(work)


def share_as(account: test_accounts.TestAccount, content: str) -> str:
    """Share a secret as the account (so it lands in its recent list); the receipt key."""

    async def work(context: AppContext) -> str:
        caller = await context.accounts.authenticate(account.email, account.token)
        created = await context.service.conceal(ConcealRequest(content), caller, "test")
        return created.receipt.key

    return on_store(work)


def test_list_shows_every_account_and_no_credentials() -> None:
    alice, bob = new_account("alice@example.com"), new_account("bob@example.org")

    table = admin("user", "list")
    assert table.exit_code == 0, table.output
    for person in (alice, bob):
        assert person.account.id in table.stdout
        assert person.email in table.stdout
    assert "2 account(s)" in table.stdout

    listed = admin("user", "list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [row["email"] for row in rows] == ["alice@example.com", "bob@example.org"]
    assert rows[0] == {
        "id": alice.account.id,
        "email": "alice@example.com",
        "plan": "free",
        "verified": True,
        "suspended": False,
        "created": rows[0]["created"],
        "api_token": True,
    }
    assert len(rows[0]["created"]) == 10  # YYYY-MM-DD

    for output in (table.stdout, listed.stdout):
        for person in (alice, bob):
            lock = person.account.password
            assert person.token not in output
            assert PASSWORD not in output
            assert person.account.token_digest is not None
            for secret_bytes in (
                person.account.token_digest,
                lock.salt,
                lock.verifier,
                lock.wrapped_key,
            ):
                assert base64.b64encode(secret_bytes).decode() not in output
                assert secret_bytes.hex() not in output


def test_list_with_no_accounts() -> None:
    result = admin("user", "list")
    assert result.exit_code == 0
    assert "no accounts" in result.stdout
    assert json.loads(admin("user", "list", "--json").stdout) == []


def test_show_counts_sessions_and_recent_entries() -> None:
    alice = new_account("alice@example.com")
    share_as(alice, "first")
    share_as(alice, "second")

    async def sign_in_again(context: AppContext) -> None:
        await context.accounts.sign_in(alice.email, PASSWORD, "test")

    on_store(sign_in_again)

    shown = admin("user", "show", "ALICE@example.com")
    assert shown.exit_code == 0, shown.output
    assert f"id: {alice.account.id}" in shown.stdout
    assert "live sessions: 2" in shown.stdout
    assert "recent-list entries: 2" in shown.stdout
    assert alice.token not in shown.stdout

    data = json.loads(admin("user", "show", alice.account.id, "--json").stdout)
    assert data["email"] == alice.email
    assert (data["sessions"], data["recent"], data["api_token"]) == (2, 2, True)


def test_unknown_user_fails_with_a_message() -> None:
    new_account("alice@example.com")
    for command in (["show"], ["suspend"], ["unsuspend"], ["delete", "--yes"], ["plan"]):
        if command == ["plan"]:
            command = ["plan", "--", "nobody@example.com", "paid"]
        else:
            command = [*command, "nobody@example.com"]
        result = admin("user", *command)
        assert result.exit_code == 1, (command, result.output)
        assert "no account" in result.stderr
        assert "nobody@example.com" in result.stderr
        assert result.stdout == ""
    result = admin("user", "show", "0123456789abcdef0123")
    assert result.exit_code == 1
    assert "no account" in result.stderr


def test_suspend_blocks_sign_in_and_tokens_and_ends_sessions() -> None:
    alice = new_account("alice@example.com")
    assert sessions_of(alice.account.id) == 1

    result = admin("user", "suspend", alice.email)
    assert result.exit_code == 0, result.output
    assert "ended 1 session(s)" in result.stdout
    assert sessions_of(alice.account.id) == 0

    async def sign_in(context: AppContext) -> None:
        await context.accounts.sign_in(alice.email, PASSWORD, "test")

    async def use_token(context: AppContext) -> None:
        await context.accounts.authenticate(alice.email, alice.token)

    with pytest.raises(Forbidden) as refused:
        on_store(sign_in)
    assert refused.value.code == "account_suspended"
    with pytest.raises(Forbidden):
        on_store(use_token)
    shown = json.loads(admin("user", "show", alice.email, "--json").stdout)
    assert shown["suspended"] is True

    result = admin("user", "unsuspend", alice.account.id)
    assert result.exit_code == 0, result.output
    assert "unsuspended" in result.stdout
    on_store(sign_in)
    on_store(use_token)
    assert sessions_of(alice.account.id) == 1
    assert "is not suspended" in admin("user", "unsuspend", alice.email).stdout


def test_plan_changes_the_plan_and_refuses_unknown_plans() -> None:
    alice = new_account("alice@example.com")

    result = admin("user", "plan", alice.email, "paid")
    assert result.exit_code == 0, result.output
    assert "paid" in result.stdout

    async def plan_of(context: AppContext) -> str:
        account = await context.accounts.get(alice.account.id)
        assert account is not None
        return account.plan

    assert on_store(plan_of) == "paid"

    for bad in ("gold", "anonymous"):
        refused = admin("user", "plan", alice.email, bad)
        assert refused.exit_code == 1
        assert f"no plan called {bad}" in refused.stderr
        assert "free, paid" in refused.stderr  # the plans there are
        assert "Traceback" not in refused.output
    assert on_store(plan_of) == "paid"


def test_delete_asks_first_and_removes_everything_of_the_account() -> None:
    alice, bob = new_account("alice@example.com"), new_account("bob@example.org")
    receipt_key = share_as(alice, "alice's secret")
    bob_receipt = share_as(bob, "bob's secret")

    kept = admin("user", "delete", alice.email, input="n\n")
    assert kept.exit_code == 1, kept.output
    assert "Delete alice@example.com" in kept.stderr
    assert "Aborted" in kept.stderr

    async def state(context: AppContext) -> tuple[bool, int]:
        found = await context.accounts.lookup(alice.email) is not None
        now = context.accounts.clock.now()
        items = [
            item
            for kind in ITEM_KINDS
            for item in await context.store.owned_items(alice.account.id, kind, now)
        ]
        return found, len(items)

    # The account, its email index, a session, a recent entry, the sign-up confirmation link.
    assert on_store(state) == (True, 5)

    deleted = admin("user", "delete", alice.account.id, "--yes")
    assert deleted.exit_code == 0, deleted.output
    assert "deleted alice@example.com" in deleted.stdout
    assert "5 stored record(s)" in deleted.stdout
    assert on_store(state) == (False, 0)

    async def receipt_gone(context: AppContext, key: str) -> bool:
        try:
            await context.service.receipt(key)
        except NotFound:
            return True
        return False

    assert on_store(lambda context: receipt_gone(context, receipt_key))
    assert not on_store(lambda context: receipt_gone(context, bob_receipt))

    async def sign_in(context: AppContext) -> None:
        await context.accounts.sign_in(alice.email, PASSWORD, "test")

    with pytest.raises(Unauthorized):
        on_store(sign_in)
    listed = json.loads(admin("user", "list", "--json").stdout)
    assert [row["email"] for row in listed] == ["bob@example.org"]


def test_stats_counts_accounts_receipts_and_sessions() -> None:
    alice = new_account("alice@example.com")
    bob = new_account("bob@example.org")
    new_account("carol@example.net")
    share_as(alice, "alice's first secret")
    share_as(bob, "bob's first secret")
    assert admin("user", "plan", bob.email, "paid").exit_code == 0
    assert admin("user", "suspend", alice.email).exit_code == 0

    result = admin("stats", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "accounts": {
            "total": 3,
            "verified": 3,
            "suspended": 1,
            "with_api_token": 3,
            "per_plan": {"free": 2, "paid": 1},
        },
        "receipts": 2,
        "sessions": 2,  # alice's ended when she was suspended
    }
    text = admin("stats").stdout
    assert "accounts: 3" in text
    assert "on plan paid: 1" in text
    assert "live receipts: 2" in text
    assert "live sessions: 2" in text
    for private in ("alice", "bob", "secret"):
        assert private not in text


def test_bad_settings_and_unreachable_store_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONETIME_STORE_URL", "redis://127.0.0.1:1/0")
    result = admin("stats")
    assert result.exit_code == 1
    assert result.stderr.startswith("onetime: ")
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1

    monkeypatch.setenv("ONETIME_STORE_URL", "nosuch://x")
    result = admin("user", "list")
    assert result.exit_code == 2
    assert "unsupported store URL scheme" in result.stderr

    monkeypatch.delenv("ONETIME_STORE_URL")
    monkeypatch.setenv("ONETIME_SECRET", "too short")
    result = admin("user", "list")
    assert result.exit_code == 2
    assert "ONETIME_SECRET" in result.stderr


def test_config_file_names_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other"
    config = tmp_path / "onetime.toml"
    config.write_text(f'data_dir = "{other}"\n')
    monkeypatch.delenv("ONETIME_DATA_DIR")
    monkeypatch.setenv("ONETIME_CONFIG", str(config))  # so the --config change is undone
    new_account("alice@example.com")  # in the store the file names
    assert (other / "onetime.sqlite3").exists()

    result = admin("--config", str(config), "user", "list", "--json")
    assert result.exit_code == 0, result.output
    assert [row["email"] for row in json.loads(result.stdout)] == ["alice@example.com"]


@pytest.fixture
def redis_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """ONETIME_STORE_URL on the test Redis, under a prefix of this test's own."""
    url = require_redis()
    prefix = unique_prefix()
    monkeypatch.setenv("ONETIME_STORE_URL", f"{url}?prefix={prefix}")
    yield prefix
    asyncio.run(delete_prefixed(url, prefix))


def test_on_redis(redis_store: str) -> None:
    alice, bob = new_account("alice@example.com"), new_account("bob@example.org")
    share_as(alice, "on redis")

    listed = json.loads(admin("user", "list", "--json").stdout)
    assert {row["email"] for row in listed} == {alice.email, bob.email}
    shown = json.loads(admin("user", "show", alice.email, "--json").stdout)
    assert (shown["sessions"], shown["recent"]) == (1, 1)
    assert admin("user", "suspend", bob.email).exit_code == 0
    assert admin("user", "plan", alice.email, "paid").exit_code == 0

    stats = json.loads(admin("stats", "--json").stdout)
    assert stats["accounts"] == {
        "total": 2,
        "verified": 2,
        "suspended": 1,
        "with_api_token": 2,
        "per_plan": {"free": 1, "paid": 1},
    }
    assert stats["sessions"] == 1
    assert stats["receipts"] >= 1  # Redis may count a little more (see Store.count_receipts)

    deleted = admin("user", "delete", alice.email, "--yes")
    assert deleted.exit_code == 0, deleted.output

    async def leftovers(context: AppContext) -> list[Any]:
        now = context.accounts.clock.now()
        return [
            item
            for kind in ITEM_KINDS
            for item in await context.store.owned_items(alice.account.id, kind, now)
        ]

    assert on_store(leftovers) == []
    assert on_store(lambda context: context.accounts.lookup(alice.email)) is None
    listed = json.loads(admin("user", "list", "--json").stdout)
    assert [row["email"] for row in listed] == [bob.email]
