"""Secrets and receipts: create, preview, reveal exactly once, read receipts, burn."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import field, replace
from typing import TypeVar

import anyio
import anyio.to_thread

from onetime.core import account_crypto, crypto
from onetime.core.clock import Clock
from onetime.core.errors import (
    N_,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    WrongPassphrase,
)
from onetime.core.guards import Guards
from onetime.core.identifiers import (
    PACKED_BYTES,
    KeyCodec,
    KeyFacts,
    KeyKind,
    LinkKey,
    shortid_of_storage_id,
    text_from_packed,
)
from onetime.core.outbox import DeliveryFailed, Outbox
from onetime.core.passwords import CharacterSets, generate_password
from onetime.core.plans import DEFAULT_PLANS, Plans
from onetime.core.policy import Limits, mask_email
from onetime.core.records import ReceiptState, SecretKind, StoredItem, StoredReceipt, StoredSecret
from onetime.core.values import value
from onetime.core.views import Caller, Created, ReceiptView, SecretView
from onetime.store.base import Store

log = logging.getLogger("onetime.service")
T = TypeVar("T")
_NOT_FOUND = N_("Unknown secret. It may have been read already, burned, or it expired.")
_NO_RECEIPT = N_("Unknown receipt. It may have expired.")


@value
class ConcealRequest:
    """A request to share `content`."""

    content: str
    ttl: int | None = None
    passphrase: str | None = None
    recipients: tuple[str, ...] = ()
    share_domain: str = ""
    kind: SecretKind = SecretKind.CONCEAL


@value
class GenerateRequest:
    """A request to generate a password and share it."""

    length: int = 12
    sets: CharacterSets = field(default_factory=CharacterSets)
    ttl: int | None = None
    passphrase: str | None = None
    recipients: tuple[str, ...] = ()
    share_domain: str = ""


class SecretService:
    """The domain operations. Stateless apart from its collaborators; safe to share."""

    def __init__(
        self,
        store: Store,
        keyring: crypto.Keyring,
        limits: Limits,
        guards: Guards,
        clock: Clock,
        argon2: crypto.Argon2Params,
        share_domains: frozenset[str] = frozenset(),
        plans: Plans | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        self.store = store
        self.plans = plans or Plans({plan.name: plan for plan in DEFAULT_PLANS})
        self.outbox = outbox
        # Set by the app: called (and not awaited) with a receipt id when its secret is read.
        self.on_revealed: Callable[[bytes, int], None] | None = None
        # Set by the app: counts one mail for an account, raising RateLimited past its limit.
        self.count_mail: Callable[[str], Awaitable[None]] | None = None
        self.keyring = keyring
        self.limits = limits
        self.guards = guards
        self.clock = clock
        self.argon2 = argon2
        self.share_domains = share_domains
        self.codec = KeyCodec([keys.check for keys in keyring.all])
        # Argon2 needs real memory per call; bound how many run at once in this process.
        self._kdf_slots = anyio.CapacityLimiter(4)

    async def _slow(self, fn: Callable[[], T], uses_kdf: bool) -> T:
        """Run key stretching off the event loop; cheap crypto stays inline."""
        if not uses_kdf:
            return fn()
        return await anyio.to_thread.run_sync(fn, limiter=self._kdf_slots)

    # -- creating ---------------------------------------------------------------------------

    async def conceal(self, request: ConcealRequest, caller: Caller, client: str) -> Created:
        """Store a secret and its receipt; return both views."""
        plan = self.plans.get(caller.plan)
        content = self.limits.check_content(request.content, plan)
        passphrase = self.limits.check_passphrase(request.passphrase)
        ttl = self.limits.clamp_ttl(request.ttl, plan)
        share_domain = self._check_share_domain(request.share_domain)
        if request.recipients and not caller.has_account:
            raise Forbidden(
                N_("Sending a secret by email needs an account."), code="recipient_needs_account"
            )
        if request.recipients and not plan.email_recipients:
            raise Forbidden(
                N_("Your plan does not include sending secrets by email."),
                code="recipient_not_in_plan",
            )
        await self.guards.count_creation(client, caller.account_id)

        now = self.clock.now()
        # The share key is made from the receipt key, so the receipt keeps no copy of it; the
        # receipt key holds the secret's facts, so that a receipt whose records are gone can be
        # answered one day (planned, docs/performance.md: nothing reads them yet).
        facts = KeyFacts(ttl, request.kind is SecretKind.GENERATE, passphrase is not None)
        receipt_key, secret_key = self.codec.new_pair(facts)
        sid, rid = secret_key.storage_id, receipt_key.storage_id
        envelope = await self._slow(
            lambda: crypto.seal_secret(
                self.keyring, secret_key.raw, sid, content, passphrase, self.argon2
            ),
            uses_kdf=passphrase is not None,
        )
        secret = StoredSecret(
            sid,
            rid,
            envelope,
            now,
            now + ttl,
            has_passphrase=passphrase is not None,
            owned=caller.account_id is not None,
        )
        receipt = StoredReceipt(
            rid=rid,
            sid=sid,
            owner_id=caller.account_id,
            kind=request.kind,
            ttl=ttl,
            created=now,
            secret_expires_at=now + ttl,
            expires_at=now + 2 * ttl,
            has_passphrase=passphrase is not None,
            share_domain=share_domain,
            # Only masked addresses are kept; the full ones are needed just to send the mail.
            recipients=tuple(mask_email(address) for address in request.recipients),
            share_key=b"",  # none: made from the receipt key when needed
            updated=now,
        )
        await self.store.create(secret, receipt, now)
        if caller.account_id is not None and caller.account_key is not None:
            await self._file_recent(caller.account_id, caller.account_key, receipt, receipt_key)
        problems = [
            await self._mail_secret(caller, address, secret_key.text, ttl)
            for address in request.recipients
        ]
        problem = next((p for p in problems if p), None)
        return Created(
            receipt=self._receipt_view(receipt_key, receipt, secret_key.text, None, now),
            secret=self._secret_view(secret_key.text, secret, now, "new"),
            delivery_problem=problem,
        )

    async def _file_recent(
        self, account_id: str, account_key: bytes, receipt: StoredReceipt, key: LinkKey
    ) -> None:
        """Add the receipt to the account's list; its key is wrapped by the account key."""
        sealed = account_crypto.wrap(
            account_crypto.recent_wrapping_key(account_key), receipt.rid, key.text.encode()
        )
        item = StoredItem("recent", receipt.rid, account_id, sealed, receipt.expires_at)
        await self.store.put_item(item, self.clock.now())

    def open_recent(self, account_key: bytes | None, item: StoredItem) -> str | None:
        """The receipt key of a recent-list entry; None when this account key cannot open it."""
        if account_key is None:
            return None
        try:
            kek = account_crypto.recent_wrapping_key(account_key)
            return account_crypto.unwrap(kek, item.key, item.value).decode()
        except crypto.EnvelopeError:
            return None

    async def _mail_secret(self, caller: Caller, to: str, secret_key: str, ttl: int) -> str | None:
        """Email the share link (never the receipt link); why not, in words, if it failed."""
        if self.outbox is None:
            return N_("This service cannot send email.")
        try:
            if self.count_mail is not None and caller.account_id is not None:
                await self.count_mail(caller.account_id)
            await self.outbox.send(
                "secret_link",
                to,
                None,
                link=f"/secret/{secret_key}",
                expires_in=ttl,
                sender=caller.email or "",
            )
        except (DeliveryFailed, RateLimited) as problem:
            log.warning("a secret link mail could not be sent")  # onetime.mail says why
            return problem.message
        return None

    async def generate(self, request: GenerateRequest, caller: Caller, client: str) -> Created:
        """Generate a password, share it as a secret, and return it once to the creator."""
        password = generate_password(request.length, request.sets)
        created = await self.conceal(
            ConcealRequest(
                content=password,
                ttl=request.ttl,
                passphrase=request.passphrase,
                recipients=request.recipients,
                share_domain=request.share_domain,
                kind=SecretKind.GENERATE,
            ),
            caller,
            client,
        )
        return replace(created, generated=password)

    def _check_share_domain(self, share_domain: str) -> str:
        domain = share_domain.strip().lower()
        if domain and domain not in self.share_domains:
            raise InvalidInput(
                N_("That share domain is not configured on this service."), field="share_domain"
            )
        return domain

    # -- the recipient's side -----------------------------------------------------------------

    def _parse(self, kind: KeyKind, text: str) -> LinkKey:
        key = self.codec.parse(kind, text)
        if key is None:
            raise NotFound(_NOT_FOUND if kind is KeyKind.SECRET else _NO_RECEIPT)
        return key

    # `client` is the caller's tag (see deps.get_client_tag): its failed lookups are counted and
    # limited (Guards.check_lookups). None is for the service's own lookups, never counted.

    async def _find(self, kind: KeyKind, text: str, client: str | None) -> LinkKey:
        """Parse a key a client sent, once the client may still look keys up."""
        await self.guards.check_lookups(client)
        key = self.codec.parse(kind, text)
        if key is None:
            raise await self._miss(kind, client)
        return key

    async def _miss(self, kind: KeyKind, client: str | None) -> NotFound:
        """Count a lookup that found nothing; the NotFound to raise (RateLimited past the limit)."""
        await self.guards.count_miss(client)
        return NotFound(_NOT_FOUND if kind is KeyKind.SECRET else _NO_RECEIPT)

    async def secret_status(self, key_text: str, client: str | None) -> SecretView:
        """Describe a live secret without touching it. Raises NotFound."""
        key = await self._find(KeyKind.SECRET, key_text, client)
        now = self.clock.now()
        secret = await self.store.get_secret(key.storage_id, now)
        if secret is None:
            raise await self._miss(KeyKind.SECRET, client)
        return self._secret_view(key.text, secret, now, "previewed" if secret.previewed else "new")

    async def preview(self, key_text: str, client: str | None) -> SecretView:
        """The share page was opened: note it (the receipt shows it) but consume nothing."""
        key = await self._find(KeyKind.SECRET, key_text, client)
        now = self.clock.now()
        secret = await self.store.get_secret(key.storage_id, now)
        if secret is None:
            raise await self._miss(KeyKind.SECRET, client)
        if not secret.previewed:
            await self.store.mark_secret_previewed(key.storage_id, now)
            await self.store.advance_receipt(secret.rid, ReceiptState.PREVIEWED, now)
        return self._secret_view(key.text, secret, now, "previewed")

    async def reveal(self, key_text: str, passphrase: str | None, client: str) -> SecretView:
        """Return the secret's content to exactly one caller, and forget it.

        Without a passphrase it is one atomic take. With one, the content is decrypted first and
        only then claimed, so a wrong passphrase leaves the secret where it was.
        """
        key = await self._find(KeyKind.SECRET, key_text, client)
        sid, now = key.storage_id, self.clock.now()
        if not passphrase:
            taken = await self.store.take_secret(sid, now)
            if taken is not None:
                return await self._finish_reveal(key, taken, passphrase=None, now=now)
        secret = await self.store.get_secret(sid, now)
        if secret is None:
            raise await self._miss(KeyKind.SECRET, client)
        if secret.has_passphrase and not passphrase:
            raise WrongPassphrase(N_("This secret needs its passphrase."))
        attempt = (
            await self.guards.begin_passphrase_attempt(sid, client)
            if secret.has_passphrase
            else None
        )
        try:
            plaintext = await self._slow(
                lambda: crypto.open_secret(self.keyring, key.raw, sid, secret.envelope, passphrase),
                uses_kdf=secret.has_passphrase,
            )
        except WrongPassphrase:
            if attempt is not None:
                await self.guards.count_wrong_passphrase(sid, client, attempt)
            raise
        except crypto.EnvelopeError:
            log.error(
                "a stored secret could not be decrypted; is a previous server secret missing?"
            )
            raise NotFound(_NOT_FOUND) from None
        if not await self.store.claim_secret(sid, now):
            # Another caller took it meanwhile: for this one it is already read.
            raise await self._miss(KeyKind.SECRET, client)
        await self.store.advance_receipt(secret.rid, ReceiptState.REVEALED, now)
        self._announce_reveal(secret, now)
        return self._revealed_view(key, secret, plaintext, now)

    def _announce_reveal(self, secret: StoredSecret, now: int) -> None:
        # Only an account's receipt can ask for a read notice; anonymous ones skip the lookup.
        if self.on_revealed is not None and secret.owned:
            self.on_revealed(secret.rid, now)

    async def _finish_reveal(
        self, key: LinkKey, secret: StoredSecret, passphrase: str | None, now: int
    ) -> SecretView:
        # take_secret has marked the receipt revealed already.
        self._announce_reveal(secret, now)
        try:
            plaintext = crypto.open_secret(
                self.keyring, key.raw, secret.sid, secret.envelope, passphrase
            )
        except (crypto.EnvelopeError, WrongPassphrase):
            log.error(
                "a stored secret could not be decrypted; is a previous server secret missing?"
            )
            raise NotFound(_NOT_FOUND) from None
        return self._revealed_view(key, secret, plaintext, now)

    def _revealed_view(
        self, key: LinkKey, secret: StoredSecret, plaintext: bytes, now: int
    ) -> SecretView:
        view = self._secret_view(key.text, secret, now, "revealed")
        value = plaintext.decode("utf-8", errors="replace")
        return SecretView(
            view.key,
            view.state,
            view.created,
            now,
            view.expires_at,
            view.has_passphrase,
            now,
            value,
        )

    # -- the creator's side -------------------------------------------------------------------

    async def receipt(self, key_text: str, client: str | None = None) -> ReceiptView:
        """The receipt with its current state. Raises NotFound."""
        key = await self._find(KeyKind.RECEIPT, key_text, client)
        now = self.clock.now()
        return await self._load_receipt(key, now, client)

    async def _load_receipt(self, key: LinkKey, now: int, client: str | None = None) -> ReceiptView:
        stored = await self.store.get_receipt(key.storage_id, now)
        if stored is None:
            raise await self._miss(KeyKind.RECEIPT, client)
        secret_key, state = None, stored.state
        if state.rank < ReceiptState.REVEALED.rank:
            if await self.store.get_secret(stored.sid, now) is not None:
                secret_key = self._share_key_text(key, stored)
            elif now >= stored.secret_expires_at:
                state = ReceiptState.EXPIRED
            else:
                state = ReceiptState.ORPHANED
        return self._receipt_view(key, stored, secret_key, state, now)

    async def burn(self, key_text: str, passphrase: str | None, client: str) -> ReceiptView:
        """Destroy the unread secret behind a receipt. Burning twice is harmless."""
        key = await self._find(KeyKind.RECEIPT, key_text, client)
        now = self.clock.now()
        stored = await self.store.get_receipt(key.storage_id, now)
        if stored is None:
            raise await self._miss(KeyKind.RECEIPT, client)
        secret = None
        if stored.state.rank < ReceiptState.REVEALED.rank:
            secret = await self.store.get_secret(stored.sid, now)
        if secret is not None:
            if secret.has_passphrase:
                share_key = self._share_key_text(key, stored)
                await self._verify_passphrase(share_key or "", secret, passphrase, client)
            if await self.store.claim_secret(secret.sid, now):
                await self.store.advance_receipt(stored.rid, ReceiptState.BURNED, now)
        return await self._load_receipt(key, now)

    async def _verify_passphrase(
        self, secret_key_text: str, secret: StoredSecret, passphrase: str | None, client: str
    ) -> None:
        if not passphrase:
            raise WrongPassphrase(N_("Burning this secret needs its passphrase."))
        link = self._parse(KeyKind.SECRET, secret_key_text)
        attempt = await self.guards.begin_passphrase_attempt(secret.sid, client)
        try:
            await self._slow(
                lambda: crypto.open_secret(
                    self.keyring, link.raw, secret.sid, secret.envelope, passphrase
                ),
                uses_kdf=True,
            )
        except WrongPassphrase:
            await self.guards.count_wrong_passphrase(secret.sid, client, attempt)
            raise

    async def set_memo(
        self, key_text: str, memo: str, caller: Caller, client: str | None = None
    ) -> ReceiptView:
        """Attach a private note to a receipt; only its owner (when it has one) may."""
        key = await self._find(KeyKind.RECEIPT, key_text, client)
        now = self.clock.now()
        stored = await self.store.get_receipt(key.storage_id, now)
        if stored is None:
            raise await self._miss(KeyKind.RECEIPT, client)
        if stored.owner_id is not None and stored.owner_id != caller.account_id:
            raise Forbidden(
                N_("Only the account that made this receipt can change it."), code="not_owner"
            )
        if len(memo) > self.limits.memo_max_chars:
            raise InvalidInput(
                N_("The memo can be at most {count} characters."),
                field="memo",
                count=self.limits.memo_max_chars,
            )
        sealed = (
            crypto.seal_for_receipt(self.keyring, key.raw, stored.rid, memo.encode())
            if memo
            else None
        )
        await self.store.set_receipt_memo(stored.rid, sealed, now)
        return await self._load_receipt(key, now)

    # -- views --------------------------------------------------------------------------------

    def _open_for_receipt(self, key: LinkKey, sealed: bytes) -> bytes | None:
        try:
            return crypto.open_for_receipt(self.keyring, key.raw, key.storage_id, sealed)
        except crypto.EnvelopeError:
            return None

    def _open_receipt_text(self, key: LinkKey, sealed: bytes) -> str | None:
        opened = self._open_for_receipt(key, sealed)
        return None if opened is None else opened.decode()

    def _share_key_text(self, key: LinkKey, stored: StoredReceipt) -> str | None:
        """The share key's text: made from the receipt key, or opened from the sealed copy that
        receipts made before share keys were derived keep (some sealed its text itself)."""
        if not stored.share_key:
            share_key = self.codec.share_for(key)
            # Never show a link that does not lead to this receipt's secret.
            if share_key is None or share_key.storage_id != stored.sid:
                return None
            return share_key.text
        opened = self._open_for_receipt(key, stored.share_key)
        if opened is None:
            return None
        return text_from_packed(opened) if len(opened) == PACKED_BYTES else opened.decode()

    @staticmethod
    def _secret_view(key_text: str, secret: StoredSecret, now: int, state: str) -> SecretView:
        return SecretView(
            key_text,
            state,
            secret.created,
            secret.created,
            secret.expires_at,
            secret.has_passphrase,
            now,
        )

    def _receipt_view(
        self,
        key: LinkKey,
        stored: StoredReceipt,
        secret_key: str | None,
        state: ReceiptState | None,
        now: int,
    ) -> ReceiptView:
        memo = self._open_receipt_text(key, stored.memo) if stored.memo else None
        # The short id of the secret (the first 8 characters of its key, as OTS shows it) stays
        # visible after the secret is gone: the receipt key still gives the share key. Only if
        # an earlier version's sealed copy cannot be opened, fall back to the stored id.
        share_key = secret_key or self._share_key_text(key, stored)
        secret_shortid = share_key[:8] if share_key else shortid_of_storage_id(stored.sid)
        return ReceiptView(
            key=key.text,
            secret_key=secret_key,
            secret_shortid=secret_shortid,
            owner_id=stored.owner_id,
            kind=stored.kind,
            state=state or stored.state,
            ttl=stored.ttl,
            created=stored.created,
            updated=stored.updated,
            secret_expires_at=stored.secret_expires_at,
            expires_at=stored.expires_at,
            previewed=stored.previewed,
            revealed=stored.revealed,
            burned=stored.burned,
            has_passphrase=stored.has_passphrase,
            share_domain=stored.share_domain,
            recipients=stored.recipients,
            memo=memo,
            now=now,
        )
