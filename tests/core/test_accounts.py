"""AccountService rules that need a clock or many attempts: session expiry, lockouts, limits.

The flows themselves (sign up, links, pages) are driven through HTTP in tests/web and
tests/api; these run on the app's real SQLite store and a real loopback SMTP server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import pytest

from onetime.core.account_records import LinkPurpose
from onetime.core.accounts import AccountService
from onetime.core.errors import Forbidden, InvalidInput, NotFound, RateLimited, Unauthorized
from onetime.core.policy import DAY, HOUR, MINUTE
from tests.accounts import PASSWORD, account_service, make_account
from tests.conftest import InProcess
from tests.smtp import SmtpServer, links_in


@pytest.fixture
async def running(
    app_factory: Callable[..., Any], smtp: SmtpServer
) -> AsyncIterator[tuple[InProcess, AccountService]]:
    async with app_factory(smtp_url=f"smtp://127.0.0.1:{smtp.port}", mail_limit=5) as env:
        yield env, account_service(env.app)


async def test_a_session_ends_after_a_day_without_use_and_lives_on_while_used(
    running: tuple[InProcess, AccountService],
) -> None:
    env, accounts = running
    await make_account(env.app, "idle@example.com")
    signed = await accounts.sign_in("idle@example.com", PASSWORD, client="c")
    for _ in range(5):  # used every 20 hours: still alive after 100 hours
        env.clock.advance(20 * HOUR)
        assert await accounts.session(signed.token) is not None
    env.clock.advance(DAY)
    assert await accounts.session(signed.token) is None


async def test_a_session_ends_after_thirty_days_however_busy(
    running: tuple[InProcess, AccountService],
) -> None:
    env, accounts = running
    await make_account(env.app, "busy@example.com")
    signed = await accounts.sign_in("busy@example.com", PASSWORD, client="c")
    for _ in range(29 * 2):
        env.clock.advance(12 * HOUR)
        assert await accounts.session(signed.token) is not None
    env.clock.advance(DAY)
    assert await accounts.session(signed.token) is None


async def test_wrong_email_and_wrong_password_raise_the_same_error(
    running: tuple[InProcess, AccountService],
) -> None:
    env, accounts = running
    await make_account(env.app, "same@example.com")
    with pytest.raises(Unauthorized) as wrong_password:
        await accounts.sign_in("same@example.com", "not the password", client="c1")
    with pytest.raises(Unauthorized) as unknown_user:
        await accounts.sign_in("nobody@example.com", "not the password", client="c2")
    assert wrong_password.value.message == unknown_user.value.message


async def test_failed_sign_ins_lock_the_account_for_every_client_then_unlock(
    running: tuple[InProcess, AccountService],
) -> None:
    env, accounts = running
    await make_account(env.app, "lock@example.com")
    for n in range(10):
        with pytest.raises(Unauthorized):
            await accounts.sign_in("lock@example.com", "guess", client=f"client-{n}")
    # The right password from yet another client: still locked, with a time to wait.
    with pytest.raises(RateLimited) as locked:
        await accounts.sign_in("lock@example.com", PASSWORD, client="elsewhere")
    assert 14 * MINUTE <= locked.value.retry_after <= 15 * MINUTE
    # Locking one address does not lock another.
    await make_account(env.app, "fine@example.com")
    assert await accounts.sign_in("fine@example.com", PASSWORD, client="elsewhere")
    env.clock.advance(15 * MINUTE)
    assert await accounts.sign_in("lock@example.com", PASSWORD, client="elsewhere")


async def test_one_client_failing_on_many_addresses_is_locked_out(
    running: tuple[InProcess, AccountService],
) -> None:
    _env, accounts = running
    for n in range(30):
        with pytest.raises(Unauthorized):
            await accounts.sign_in(f"spray-{n}@example.com", "guess", client="sprayer")
    with pytest.raises(RateLimited):
        await accounts.sign_in("spray-x@example.com", "guess", client="sprayer")


async def test_mails_per_account_per_day_are_limited_and_the_limit_is_said(
    running: tuple[InProcess, AccountService], smtp: SmtpServer
) -> None:
    env, accounts = running
    made = await make_account(env.app, "chatty@example.com")  # mail 1: the confirmation
    signed = await accounts.sign_in(made.email, PASSWORD, client="c")
    problems = [
        await accounts.request_email_change(signed, PASSWORD, f"new-{n}@example.com")
        for n in range(5)
    ]
    assert problems[:4] == [None] * 4
    assert problems[4] is not None
    assert "day" in problems[4]
    assert len(smtp.inbox.messages()) == 5
    env.clock.advance(DAY)
    assert await accounts.request_email_change(signed, PASSWORD, "later@example.com") is None


async def test_links_expire_after_a_day_and_work_once(
    running: tuple[InProcess, AccountService], smtp: SmtpServer
) -> None:
    env, accounts = running
    made = await make_account(env.app, "links@example.com")
    await accounts.request_reset(made.email, client="c")
    await accounts.request_reset(made.email, client="c")
    first, second = (links_in(m)[0].rsplit("/", 1)[1] for m in smtp.inbox.messages()[-2:])
    env.clock.advance(DAY - 1)
    await accounts.reset_password(first, "another good password")
    with pytest.raises(NotFound):
        await accounts.reset_password(first, "a third good password")
    env.clock.advance(2)
    with pytest.raises(NotFound):  # expired
        await accounts.check_link(second, LinkPurpose.RESET)


async def test_a_bad_new_password_does_not_use_up_the_reset_link(
    running: tuple[InProcess, AccountService], smtp: SmtpServer
) -> None:
    env, accounts = running
    made = await make_account(env.app, "keep@example.com")
    await accounts.request_reset(made.email, client="c")
    token = links_in(smtp.inbox.messages()[-1])[0].rsplit("/", 1)[1]
    with pytest.raises(InvalidInput):
        await accounts.reset_password(token, "short")
    account = await accounts.reset_password(token, "long enough now")
    assert account.email == made.email


async def test_email_change_cannot_take_an_address_in_use(
    running: tuple[InProcess, AccountService], smtp: SmtpServer
) -> None:
    env, accounts = running
    one = await make_account(env.app, "one@example.com")
    await make_account(env.app, "two@example.com")
    signed = await accounts.sign_in(one.email, PASSWORD, client="c")
    with pytest.raises(InvalidInput):
        await accounts.request_email_change(signed, PASSWORD, "TWO@example.com")
    # Asked while free, taken by someone else before the link is used: refused then.
    assert await accounts.request_email_change(signed, PASSWORD, "three@example.com") is None
    token = links_in(smtp.inbox.messages()[-1])[0].rsplit("/", 1)[1]
    await accounts.sign_up("three@example.com", "some good password", None, client="c")
    with pytest.raises(InvalidInput):
        await accounts.confirm_email_change(token)
    assert (await accounts.find("one@example.com")) is not None


async def test_suspended_accounts_cannot_sign_in_or_use_their_token(
    running: tuple[InProcess, AccountService],
) -> None:
    env, accounts = running
    made = await make_account(env.app, "sus@example.com")
    signed = await accounts.sign_in(made.email, PASSWORD, client="c")
    await accounts.set_suspended(made.account, True)
    assert await accounts.session(signed.token) is None
    with pytest.raises(Forbidden):
        await accounts.sign_in(made.email, PASSWORD, client="c")
    with pytest.raises(Forbidden):
        await accounts.authenticate(made.email, made.token)
    account = await accounts.get(made.account.id)
    assert account is not None
    await accounts.set_suspended(replace(account), False)
    assert await accounts.authenticate(made.account.id, made.token)


async def test_changing_the_password_signs_out_every_other_browser(
    running: tuple[InProcess, AccountService],
) -> None:
    env, accounts = running
    made = await make_account(env.app, "two-browsers@example.com")
    here = await accounts.sign_in(made.email, PASSWORD, client="c")
    there = await accounts.sign_in(made.email, PASSWORD, client="c")
    await accounts.change_password(here, PASSWORD, "the next good password")
    assert await accounts.session(here.token) is not None
    assert await accounts.session(there.token) is None
    # The account key did not change: the API token still opens the list.
    caller = await accounts.authenticate(made.email, made.token)
    assert caller.account_key is not None


@pytest.mark.parametrize(
    "address", ["a\x00b@example.com", "a\x01@example.com", "a\x7f@example.com"]
)
async def test_an_address_with_a_control_character_is_refused(
    running: tuple[InProcess, AccountService], address: str
) -> None:
    # Such an address would carry the character into the confirmation mail's SMTP command.
    _env, accounts = running
    with pytest.raises(InvalidInput, match="does not look like an email address"):
        accounts.check_email(address)
