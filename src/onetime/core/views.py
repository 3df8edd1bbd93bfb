"""What the service hands back to the surfaces: plain values, ready to be rendered."""

from __future__ import annotations

from dataclasses import dataclass, field

from onetime.core.records import ReceiptState, SecretKind
from onetime.core.values import value


# Frozen at run time too, unlike the value classes: ANONYMOUS below is one object shared by
# every request, and tests (not type-checked) build callers as well.
@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: an account, or nobody in particular."""

    account_id: str | None = None
    email: str | None = None
    plan: str | None = None  # None: the anonymous plan
    # The account key, unwrapped for this request only: new receipts are filed under it.
    account_key: bytes | None = field(default=None, repr=False)

    @property
    def has_account(self) -> bool:
        return self.account_id is not None


ANONYMOUS = Caller()


@value
class SecretView:
    """What the holder of a share link may know about the secret."""

    key: str
    state: str
    created: int
    updated: int
    expires_at: int
    has_passphrase: bool
    now: int
    value: str | None = None

    @property
    def shortid(self) -> str:
        return self.key[:8]

    @property
    def remaining(self) -> int:
        return max(0, self.expires_at - self.now)


@value
class ReceiptView:
    """What the holder of a receipt link may know. `secret_key` is None once the secret is gone."""

    key: str
    secret_key: str | None
    secret_shortid: str
    owner_id: str | None
    kind: SecretKind
    state: ReceiptState
    ttl: int
    created: int
    updated: int
    secret_expires_at: int
    expires_at: int
    previewed: int | None
    revealed: int | None
    burned: int | None
    has_passphrase: bool
    share_domain: str
    recipients: tuple[str, ...]
    memo: str | None
    now: int

    @property
    def shortid(self) -> str:
        return self.key[:8]

    @property
    def secret_remaining(self) -> int:
        return max(0, self.secret_expires_at - self.now) if self.secret_key else 0

    @property
    def remaining(self) -> int:
        return max(0, self.expires_at - self.now)

    @property
    def is_live(self) -> bool:
        """The secret can still be revealed or burned."""
        return self.state in (ReceiptState.NEW, ReceiptState.PREVIEWED)


@value
class Created:
    """The answer to a creation: both views, and the generated password when there is one."""

    receipt: ReceiptView
    secret: SecretView
    generated: str | None = None
    # Set when the secret was made but the email to its recipient could not be sent: why.
    delivery_problem: str | None = None
