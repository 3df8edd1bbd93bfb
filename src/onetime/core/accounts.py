"""Accounts: sign up, confirm, sign in and out, passwords, email changes, API tokens, the recent
list, export and deletion. See account_crypto.py for what is stored and what opens it.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from onetime.core import account_crypto as keys
from onetime.core.account_records import (
    Account,
    LinkPurpose,
    LinkToken,
    Session,
    decode_account,
    decode_link,
    decode_session,
    encode_account,
    encode_link,
    encode_session,
)
from onetime.core.clock import Clock
from onetime.core.crypto import Argon2Params, EnvelopeError, Keyring
from onetime.core.errors import N_, Forbidden, InvalidInput, NotFound, RateLimited, Unauthorized
from onetime.core.outbox import DeliveryFailed, Outbox
from onetime.core.plans import Plans
from onetime.core.policy import DAY, MINUTE
from onetime.core.records import StoredItem
from onetime.core.service import SecretService
from onetime.core.views import Caller, ReceiptView
from onetime.store.base import Store

log = logging.getLogger("onetime.accounts")
T = TypeVar("T")

_EMAIL = re.compile(
    r"^[^@\s\x00-\x1f\x7f<>,;:\"()\[\]\\]{1,64}@[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})+$"
)
_BAD_SIGN_IN = N_("The email address or the password is not correct.")
_BAD_TOKEN = N_("The username or API token is not correct.")
_BAD_LINK = N_("This link does not work any more: it was used already, or it expired.")
_WRONG_PASSWORD = N_("That password is not correct.")
_SESSION_TOUCH = 5 * MINUTE  # a session's idle clock is pushed forward at most this often


@dataclass(frozen=True, slots=True)
class AccountRules:
    """How accounts work on this service. A limit of 0 switches that limit off."""

    signup_enabled: bool = True
    allowed_domains: frozenset[str] = frozenset()  # empty: every domain
    auto_verify: bool = False
    password_min: int = 8
    password_max: int = 256
    link_valid: int = DAY  # verify, reset and email-change links
    session_idle: int = DAY
    session_max: int = 30 * DAY
    recent_days: int = 30
    signup_per_client: int = 10
    reset_per_client: int = 10
    request_window: int = 3600
    signin_failures_per_account: int = 10
    signin_failures_per_client: int = 30
    signin_window: int = 15 * MINUTE
    signin_lockout: int = 15 * MINUTE
    mails_per_account: int = 50  # per day
    create_per_account: int = 500
    create_window: int = 3600


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A live session: the account, its unwrapped key, and the session's CSRF secret."""

    account: Account
    account_key: bytes | None
    csrf: str
    token: str

    @property
    def caller(self) -> Caller:
        return caller_for(self.account, self.account_key)


@dataclass(frozen=True, slots=True)
class SignUp:
    """A new account, and whether the confirmation mail failed (and why)."""

    account: Account
    delivery_problem: str | None = None


@dataclass(frozen=True, slots=True)
class RecentList:
    """Recent receipts, newest first; `locked` counts entries only an old password opened."""

    receipts: tuple[ReceiptView, ...]
    locked: int


def caller_for(account: Account, account_key: bytes | None) -> Caller:
    return Caller(account.id, account.email, account.plan, account_key)


def normalize_email(text: str) -> str:
    return text.strip().lower()


class AccountService:
    """Everything about accounts. Stateless apart from its collaborators; safe to share."""

    def __init__(
        self,
        store: Store,
        keyring: Keyring,
        clock: Clock,
        plans: Plans,
        rules: AccountRules,
        outbox: Outbox,
        secrets_service: SecretService,
        argon2: Argon2Params,
    ) -> None:
        self.store = store
        self.keyring = keyring
        self.clock = clock
        self.plans = plans
        self.rules = rules
        self.outbox = outbox
        self.secrets = secrets_service
        self.argon2 = argon2
        # Password checks are Argon2 runs: bound how many run at once in this process.
        self._kdf_slots = anyio.CapacityLimiter(4)

    async def _slow(self, fn: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(fn, limiter=self._kdf_slots)

    # -- reading accounts ---------------------------------------------------------------------

    async def get(self, account_id: str) -> Account | None:
        item = await self.store.get_item("account", account_id.encode(), self.clock.now())
        return decode_account(item.value) if item else None

    async def find(self, email: str) -> Account | None:
        """The account with this address (under any configured server secret), or None."""
        now = self.clock.now()
        for digest in keys.email_digest(self.keyring, normalize_email(email)):
            item = await self.store.get_item("email", digest, now)
            if item is not None:
                account = await self.get(item.value.decode())
                if account is not None and account.email == normalize_email(email):
                    return account
        return None

    async def lookup(self, who: str) -> Account | None:
        """An account by email address or by id (the API accepts either as the username)."""
        return await (self.find(who) if "@" in who else self.get(who))

    async def _save(self, account: Account) -> Account:
        account = replace(account, updated=self.clock.now())
        item = StoredItem("account", account.id.encode(), account.id, encode_account(account))
        await self.store.put_item(item, self.clock.now())
        return account

    # -- input rules --------------------------------------------------------------------------

    def check_email(self, text: str) -> str:
        email = normalize_email(text)
        if len(email) > 254 or not _EMAIL.match(email):
            raise InvalidInput(
                N_("That does not look like an email address, like name@example.com."),
                field="email",
            )
        domain = email.rpartition("@")[2]
        if self.rules.allowed_domains and domain not in self.rules.allowed_domains:
            raise Forbidden(
                N_("Accounts on this service need an address at {domains}."),
                code="email_domain_not_allowed",
                domains=", ".join(sorted(self.rules.allowed_domains)),
            )
        return email

    def check_password(self, password: str, email: str = "") -> str:
        if len(password) < self.rules.password_min:
            raise InvalidInput(
                N_("The password must be at least {count} characters."),
                field="password",
                count=self.rules.password_min,
            )
        if len(password) > self.rules.password_max:
            raise InvalidInput(
                N_("The password must be at most {count} characters."),
                field="password",
                count=self.rules.password_max,
            )
        if email and password.strip().lower() == email:
            raise InvalidInput(N_("The password cannot be your email address."), field="password")
        return password

    # -- rate limits --------------------------------------------------------------------------

    async def _count(self, name: str, limit: int, window: int, message: str) -> None:
        if limit <= 0:
            return
        now = self.clock.now()
        counter = await self.store.hit_counter(name, window, now)
        if counter.value > limit:
            raise RateLimited(message, retry_after=counter.expires_at - now)

    async def count_mail(self, account_id: str) -> None:
        """Count one mail sent for an account; RateLimited past the daily limit."""
        await self._count(
            f"mail:{keys.account_tag(self.keyring, account_id)}",
            self.rules.mails_per_account,
            DAY,
            N_("This account has sent the most emails allowed in a day. Try again tomorrow."),
        )

    async def _check_sign_in_lock(self, email_tag: str, client: str) -> None:
        now = self.clock.now()
        for name in (f"signin-lock:{email_tag}", f"signin-lock:{client}"):
            lock = await self.store.read_counter(name, now)
            if lock is not None:
                retry = lock.expires_at - now
                raise RateLimited(
                    N_("Too many failed sign-ins. Try again in {minutes} minutes."),
                    retry_after=retry,
                    minutes=max(1, (retry + 59) // 60),
                )

    async def _count_sign_in_failure(self, email_tag: str, client: str) -> None:
        rules, now = self.rules, self.clock.now()
        for name, limit in (
            (email_tag, rules.signin_failures_per_account),
            (client, rules.signin_failures_per_client),
        ):
            if limit <= 0:
                continue
            failures = await self.store.hit_counter(f"signin-fail:{name}", rules.signin_window, now)
            if failures.value >= limit:
                await self.store.set_counter(f"signin-lock:{name}", 1, rules.signin_lockout, now)

    # -- mail ---------------------------------------------------------------------------------

    async def _new_link(self, account: Account, purpose: LinkPurpose, new_email: str = "") -> str:
        token = keys.new_token()
        now = self.clock.now()
        link = LinkToken(account.id, purpose, new_email or None)
        item = StoredItem(
            "token",
            keys.token_digest("link", token),
            account.id,
            encode_link(link),
            now + self.rules.link_valid,
        )
        await self.store.put_item(item, now)
        return token

    async def _mail(self, account: Account, message: str, to: str, **values: Any) -> str | None:
        """Send a mail for `account`; the reason in words if it could not go, else None."""
        try:
            await self.count_mail(account.id)
            await self.outbox.send(message, to, account.locale, **values)
        except (DeliveryFailed, RateLimited) as problem:
            return problem.message
        return None

    async def _send_verification(self, account: Account) -> str | None:
        token = await self._new_link(account, LinkPurpose.VERIFY)
        return await self._mail(
            account, "verify_address", account.email, link=f"/account/verify/{token}"
        )

    # -- signing up and in --------------------------------------------------------------------

    async def sign_up(self, email: str, password: str, locale: str | None, client: str) -> SignUp:
        """Make an account; unless auto-verify is on, mail a confirmation link."""
        if not self.rules.signup_enabled:
            raise Forbidden(N_("Sign-up is closed on this service."), code="signup_disabled")
        email = self.check_email(email)
        self.check_password(password, email)
        await self._count(
            f"signup:{client}",
            self.rules.signup_per_client,
            self.rules.request_window,
            N_("Too many sign-ups from your network. Please wait and try again."),
        )
        account_id = secrets.token_hex(10)
        account_key = keys.new_account_key()
        lock = await self._slow(
            lambda: keys.lock_with_password(
                self.keyring, password, account_id, account_key, self.argon2
            )
        )
        now = self.clock.now()
        account = Account(
            id=account_id,
            email=email,
            created=now,
            updated=now,
            plan=self.plans.default,
            password=lock,
            locale=locale,
            verified=self.rules.auto_verify,
        )
        index = StoredItem(
            "email", keys.email_digest(self.keyring, email)[0], account_id, account_id.encode()
        )
        if await self.find(email) is not None or not await self.store.put_item(
            index, now, only_if_absent=True
        ):
            raise InvalidInput(
                N_("An account with this email address exists. Sign in, or reset the password."),
                field="email",
            )
        account = await self._save(account)
        problem = None if account.verified else await self._send_verification(account)
        return SignUp(account, problem)

    async def verify(self, token: str) -> Account:
        """Confirm an address with the token from a verification link (single use)."""
        link, account = await self._use_link(token, LinkPurpose.VERIFY)
        del link
        if account.verified:
            return account
        return await self._save(replace(account, verified=True))

    async def _peek_link(self, token: str, purpose: LinkPurpose) -> tuple[LinkToken, Account]:
        item = await self.store.get_item(
            "token", keys.token_digest("link", token), self.clock.now()
        )
        link = decode_link(item.value) if item else None
        account = await self.get(link.account_id) if link else None
        if link is None or link.purpose is not purpose or account is None:
            raise NotFound(_BAD_LINK)
        return link, account

    async def _use_link(self, token: str, purpose: LinkPurpose) -> tuple[LinkToken, Account]:
        await self._peek_link(token, purpose)
        item = await self.store.take_item(
            "token", keys.token_digest("link", token), self.clock.now()
        )
        if item is None:  # another request used it a moment ago
            raise NotFound(_BAD_LINK)
        link = decode_link(item.value)
        account = await self.get(link.account_id)
        if account is None:
            raise NotFound(_BAD_LINK)
        return link, account

    async def check_link(self, token: str, purpose: LinkPurpose) -> Account:
        """The account a link is for, without using it up (to show its form)."""
        return (await self._peek_link(token, purpose))[1]

    async def sign_in(self, email: str, password: str, client: str) -> SignedIn:
        """Check the password and open a session. Wrong email or password: the same answer."""
        email = normalize_email(email)
        email_tag = keys.account_tag(self.keyring, "email:" + email)
        await self._check_sign_in_lock(email_tag, client)
        account = await self.find(email) if email else None
        if account is None:
            await self._slow(lambda: keys.spend_password_check(password, self.argon2))
            account_key = None
        else:
            found = account
            account_key = await self._slow(
                lambda: keys.unlock_with_password(self.keyring, found.password, password, found.id)
            )
        if account is None or account_key is None:
            await self._count_sign_in_failure(email_tag, client)
            raise Unauthorized(_BAD_SIGN_IN)
        if account.suspended:
            raise Forbidden(
                N_("This account is suspended. Please contact the people who run this service."),
                code="account_suspended",
            )
        if not account.verified:
            problem = await self._send_verification(account)
            if problem:
                raise Forbidden(
                    N_(
                        "Please confirm your email address first. We could not send a new link: {problem}"
                    ),
                    code="email_unverified",
                    problem=problem,
                )
            raise Forbidden(
                N_("Please confirm your email address first: we sent you a new link."),
                code="email_unverified",
            )
        return await self._open_session(account, account_key)

    async def _open_session(self, account: Account, account_key: bytes) -> SignedIn:
        token, now = keys.new_token(), self.clock.now()
        kek = keys.token_wrapping_key("session", token, account.id)
        session = Session(
            account_id=account.id,
            created=now,
            last_seen=now,
            wrapped_key=keys.wrap(kek, b"onetime/session", account_key),
            csrf=keys.new_token(),
        )
        await self._put_session(token, session)
        return SignedIn(account, account_key, session.csrf, token)

    async def _put_session(self, token: str, session: Session) -> None:
        expires = min(
            session.last_seen + self.rules.session_idle, session.created + self.rules.session_max
        )
        item = StoredItem(
            "session",
            keys.token_digest("session", token),
            session.account_id,
            encode_session(session),
            expires,
        )
        await self.store.put_item(item, self.clock.now())

    async def session(self, token: str) -> SignedIn | None:
        """The live session behind a cookie token, or None; keeps an active session alive."""
        now = self.clock.now()
        digest = keys.token_digest("session", token)
        item = await self.store.get_item("session", digest, now)
        if item is None:
            return None
        session = decode_session(item.value)
        account = await self.get(session.account_id)
        if account is None or account.suspended:
            await self.store.delete_item("session", digest, now)
            return None
        if now - session.last_seen >= _SESSION_TOUCH:
            await self._put_session(token, replace(session, last_seen=now))
        try:
            kek = keys.token_wrapping_key("session", token, account.id)
            account_key: bytes | None = keys.unwrap(kek, b"onetime/session", session.wrapped_key)
        except EnvelopeError:
            account_key = None
        return SignedIn(account, account_key, session.csrf, token)

    async def sign_out(self, token: str) -> None:
        await self.store.delete_item(
            "session", keys.token_digest("session", token), self.clock.now()
        )

    async def _end_sessions(self, account_id: str, keep: str | None = None) -> None:
        """End the account's sessions, except the one with cookie token `keep`."""
        now = self.clock.now()
        kept = keys.token_digest("session", keep) if keep else None
        for item in await self.store.owned_items(account_id, "session", now):
            if item.key != kept:
                await self.store.delete_item("session", item.key, now)

    # -- passwords ----------------------------------------------------------------------------

    async def _unlock(self, account: Account, password: str) -> bytes:
        account_key = await self._slow(
            lambda: keys.unlock_with_password(self.keyring, account.password, password, account.id)
        )
        if account_key is None:
            raise Unauthorized(_WRONG_PASSWORD)
        return account_key

    async def request_reset(self, email: str, client: str) -> None:
        """Mail a reset link if the address has an account. The answer is the same either way."""
        await self._count(
            f"reset:{client}",
            self.rules.reset_per_client,
            self.rules.request_window,
            N_("Too many reset requests from your network. Please wait and try again."),
        )
        account = await self.find(email)
        if account is None or account.suspended:
            return
        token = await self._new_link(account, LinkPurpose.RESET)
        problem = await self._mail(
            account,
            "reset_password",
            account.email,
            link=f"/account/reset/{token}",
            valid_for=self.rules.link_valid,
        )
        if problem:
            # Telling the visitor would tell them the address has an account. The mail log
            # (onetime.mail) says why, with the address masked; nothing of the link goes here.
            log.warning("a password reset mail could not be sent")

    async def reset_password(self, token: str, password: str) -> Account:
        """Set a new password with a reset link (single use).

        The old account key was locked by the old password, so a new one replaces it: entries of
        the recent list filed under the old key stay listed only as a count, the API token
        (which wrapped the old key) is revoked, and every session ends.
        """
        _link, account = await self._peek_link(token, LinkPurpose.RESET)
        self.check_password(password, account.email)
        _link, account = await self._use_link(token, LinkPurpose.RESET)
        account_key = keys.new_account_key()
        lock = await self._slow(
            lambda: keys.lock_with_password(
                self.keyring, password, account.id, account_key, self.argon2
            )
        )
        await self._end_sessions(account.id)
        return await self._save(
            replace(
                account,
                password=lock,
                verified=True,  # the link reached the mailbox
                token_digest=None,
                token_created=None,
                key_by_token=None,
            )
        )

    async def change_password(self, signed_in: SignedIn, current: str, new: str) -> Account:
        account = signed_in.account
        account_key = await self._unlock(account, current)
        self.check_password(new, account.email)
        lock = await self._slow(
            lambda: keys.lock_with_password(self.keyring, new, account.id, account_key, self.argon2)
        )
        # Whoever knew the old password may be signed in elsewhere: only this browser stays.
        await self._end_sessions(account.id, keep=signed_in.token)
        return await self._save(replace(account, password=lock))

    # -- email and preferences ----------------------------------------------------------------

    async def request_email_change(
        self, signed_in: SignedIn, password: str, new_email: str
    ) -> str | None:
        """Mail a confirmation link to the new address; the problem in words if it failed."""
        account = signed_in.account
        await self._unlock(account, password)
        new_email = self.check_email(new_email)
        if new_email == account.email:
            raise InvalidInput(N_("That is already your email address."), field="email")
        if await self.find(new_email) is not None:
            raise InvalidInput(N_("Another account uses that email address."), field="email")
        token = await self._new_link(account, LinkPurpose.EMAIL_CHANGE, new_email)
        return await self._mail(
            account,
            "email_change",
            new_email,
            link=f"/account/email/{token}",
            new_address=new_email,
        )

    async def confirm_email_change(self, token: str) -> Account:
        link, account = await self._use_link(token, LinkPurpose.EMAIL_CHANGE)
        new_email = link.new_email or ""
        now = self.clock.now()
        index = StoredItem(
            "email", keys.email_digest(self.keyring, new_email)[0], account.id, account.id.encode()
        )
        if await self.find(new_email) is not None or not await self.store.put_item(
            index, now, only_if_absent=True
        ):
            raise InvalidInput(N_("Another account uses that email address."), field="email")
        for digest in keys.email_digest(self.keyring, account.email):
            await self.store.delete_item("email", digest, now)
        return await self._save(replace(account, email=new_email, verified=True))

    async def set_preferences(
        self, account: Account, locale: str | None, notify_on_read: bool
    ) -> Account:
        return await self._save(replace(account, locale=locale, notify_on_read=notify_on_read))

    # -- API tokens ---------------------------------------------------------------------------

    async def new_api_token(self, signed_in: SignedIn) -> str:
        """Make (or replace) the API token; it is shown once and stored only as a hash."""
        account_key = signed_in.account_key
        if account_key is None:
            raise Forbidden(N_("Sign in again to make an API token."), code="session_without_key")
        token = keys.new_api_token()
        kek = keys.token_wrapping_key("api", token, signed_in.account.id)
        await self._save(
            replace(
                signed_in.account,
                token_digest=keys.token_digest("api", token),
                token_created=self.clock.now(),
                key_by_token=keys.wrap(kek, b"onetime/api", account_key),
            )
        )
        return token

    async def authenticate(self, who: str, token: str) -> Caller:
        """The caller behind HTTP Basic credentials; Unauthorized when they do not match."""
        account = await self.lookup(who.strip())
        expected = account.token_digest if account and account.token_digest else None
        matches = secrets.compare_digest(
            keys.token_digest("api", token), expected or keys.token_digest("api", "-")
        )
        if account is None or expected is None or not matches:
            raise Unauthorized(_BAD_TOKEN)
        if account.suspended:
            raise Forbidden(N_("This account is suspended."), code="account_suspended")
        account_key = None
        if account.key_by_token is not None:
            try:
                kek = keys.token_wrapping_key("api", token, account.id)
                account_key = keys.unwrap(kek, b"onetime/api", account.key_by_token)
            except EnvelopeError:
                account_key = None
        return caller_for(account, account_key)

    # -- the recent list ----------------------------------------------------------------------

    async def recent(self, caller: Caller) -> RecentList:
        """The account's receipts of the last `recent_days` days, newest first."""
        if caller.account_id is None:
            return RecentList((), 0)
        now = self.clock.now()
        since = now - self.rules.recent_days * DAY
        views: list[ReceiptView] = []
        locked = 0
        for item in await self.store.owned_items(caller.account_id, "recent", now):
            receipt_key = self.secrets.open_recent(caller.account_key, item)
            if receipt_key is None:
                locked += 1
                continue
            try:
                view = await self.secrets.receipt(receipt_key)
            except NotFound:
                await self.store.delete_item("recent", item.key, now)
                continue
            if view.created >= since:
                views.append(view)
        views.sort(key=lambda view: view.created, reverse=True)
        return RecentList(tuple(views), locked)

    # -- leaving ------------------------------------------------------------------------------

    async def delete(self, signed_in: SignedIn, password: str) -> None:
        """Delete the account and everything of it, once the password is confirmed."""
        await self._unlock(signed_in.account, password)
        await self.erase(signed_in.account.id)

    async def erase(self, account_id: str) -> int:
        """Remove every record of an account: its secrets, receipts, sessions, links, itself."""
        now = self.clock.now()
        for item in await self.store.owned_items(account_id, "recent", now):
            receipt = await self.store.get_receipt(item.key, now)
            if receipt is not None:
                await self.store.claim_secret(receipt.sid, now)
                await self.store.delete_receipt(receipt.rid, now)
        return await self.store.delete_owned(account_id, now)

    async def export(self, signed_in: SignedIn) -> dict[str, Any]:
        """Everything we hold about the account, as plain data for a JSON download."""
        account = signed_in.account
        now = self.clock.now()
        sessions = [
            decode_session(item.value)
            for item in await self.store.owned_items(account.id, "session", now)
        ]
        recent = await self.recent(signed_in.caller)
        return {
            "account": {
                "id": account.id,
                "email": account.email,
                "created": account.created,
                "updated": account.updated,
                "plan": account.plan,
                "locale": account.locale,
                "notify_on_read": account.notify_on_read,
                "verified": account.verified,
                "suspended": account.suspended,
                "api_token_created": account.token_created,
            },
            "sessions": [
                {"created": session.created, "last_seen": session.last_seen}
                for session in sorted(sessions, key=lambda s: s.created)
            ],
            "receipts": [
                {
                    "receipt_key": view.key,
                    "secret_shortid": view.secret_shortid,
                    "state": view.state.value,
                    "created": view.created,
                    "expires": view.expires_at,
                    "recipients": list(view.recipients),
                    "memo": view.memo,
                }
                for view in recent.receipts
            ],
            "receipts_locked_by_an_old_password": recent.locked,
            "stored_in_plain_form": [
                "your email address",
                "your plan, language and mail preference",
                "when the account, its sessions and its API token were made",
            ],
        }

    # -- "your secret was read" ----------------------------------------------------------------

    async def notify_read(self, rid: bytes, read_at: int) -> None:
        """Mail the owner of receipt `rid` that their secret was read, if they asked for it."""
        receipt = await self.store.get_receipt(rid, self.clock.now())
        if receipt is None or receipt.owner_id is None:
            return
        account = await self.get(receipt.owner_id)
        if account is None or not account.notify_on_read or not account.verified:
            return
        problem = await self._mail(
            account, "secret_read", account.email, read_at=read_at, created_at=receipt.created
        )
        if problem:
            log.warning("a read notification could not be sent")

    # -- for operators ------------------------------------------------------------------------

    async def all_accounts(self) -> list[Account]:
        found = [
            decode_account(item.value)
            async for item in self.store.items("account", self.clock.now())
        ]
        return sorted(found, key=lambda account: account.created)

    async def set_plan(self, account: Account, plan: str) -> Account:
        return await self._save(replace(account, plan=self.plans.check_account_plan(plan)))

    async def set_suspended(self, account: Account, suspended: bool) -> Account:
        if suspended:
            await self._end_sessions(account.id)
        return await self._save(replace(account, suspended=suspended))
