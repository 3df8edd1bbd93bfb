"""Making accounts for tests that are about something else (the API, the CLI, the store).

Tests about signing up, confirming and signing in drive those flows through the pages; these
shortcuts use the same AccountService the pages call, on the app's own store.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from onetime.core.account_records import Account
from onetime.core.accounts import AccountService

PASSWORD = "a long and good password"


@dataclass(frozen=True)
class TestAccount:
    __test__ = False  # a helper, not a test class

    account: Account
    password: str
    token: str  # its API token

    @property
    def email(self) -> str:
        return self.account.email

    @property
    def basic(self) -> tuple[str, str]:
        """(username, password) for httpx's `auth=`."""
        return self.account.email, self.token


def account_service(app: Any) -> AccountService:
    service: AccountService = app.state.context.accounts
    return service


async def make_account(
    app: Any, email: str, password: str = PASSWORD, plan: str | None = None
) -> TestAccount:
    """A confirmed account with an API token on the app's store."""
    accounts = account_service(app)
    made = await accounts.sign_up(email, password, None, client="test-setup")
    await accounts._save(replace(made.account, verified=True))
    signed = await accounts.sign_in(email, password, client="test-setup")
    token = await accounts.new_api_token(signed)
    account = await accounts.get(made.account.id)
    assert account is not None
    if plan is not None:
        account = await accounts.set_plan(account, plan)
    return TestAccount(account, password, token)
