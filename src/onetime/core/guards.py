"""Rate limits and passphrase lockouts, kept as short-lived counters in the store.

Counters are keyed by a keyed hash of the client address (see `Keyring.client_tag`) and by
the secret's storage id, never by an address or a key, and they expire on their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from onetime.core.clock import Clock
from onetime.core.errors import N_, RateLimited
from onetime.store.base import Store


@dataclass(frozen=True, slots=True)
class GuardRules:
    """Thresholds; a limit of 0 switches that limit off."""

    create_limit: int = 100
    create_window: int = 600
    passphrase_per_client: int = 5
    passphrase_per_secret: int = 20
    passphrase_window: int = 600
    passphrase_lockout: int = 1800


class Guards:
    """Checks and records attempts against the rules."""

    def __init__(self, store: Store, clock: Clock, rules: GuardRules) -> None:
        self._store = store
        self._clock = clock
        self.rules = rules

    async def count_creation(self, client: str) -> None:
        """Count one creation by `client`; raise RateLimited past the limit."""
        limit = self.rules.create_limit
        if limit <= 0:
            return
        now = self._clock.now()
        counter = await self._store.hit_counter(f"create:{client}", self.rules.create_window, now)
        if counter.value > limit:
            raise RateLimited(
                N_("You have created many secrets in a short time. Please wait and try again."),
                retry_after=counter.expires_at - now,
            )

    async def check_passphrase_lock(self, sid: bytes, client: str) -> None:
        """Raise RateLimited when passphrase guessing on this secret is locked for this client."""
        now = self._clock.now()
        for key in (self._lock_key(sid, client), self._lock_key(sid, None)):
            lock = await self._store.read_counter(key, now)
            if lock is not None:
                minutes = max(1, (lock.expires_at - now + 59) // 60)
                raise RateLimited(
                    N_("Too many wrong passphrases. Try again in {minutes} minutes."),
                    retry_after=lock.expires_at - now,
                    minutes=minutes,
                )

    async def count_wrong_passphrase(self, sid: bytes, client: str) -> None:
        """Record a wrong guess; lock the client, or the secret, once a threshold is reached."""
        rules, now = self.rules, self._clock.now()
        per_client = await self._store.hit_counter(
            self._guess_key(sid, client), rules.passphrase_window, now
        )
        per_secret = await self._store.hit_counter(
            self._guess_key(sid, None), rules.passphrase_window, now
        )
        if per_client.value >= rules.passphrase_per_client:
            await self._store.set_counter(
                self._lock_key(sid, client), 1, rules.passphrase_lockout, now
            )
        if per_secret.value >= rules.passphrase_per_secret:
            await self._store.set_counter(
                self._lock_key(sid, None), 1, rules.passphrase_lockout, now
            )

    @staticmethod
    def _guess_key(sid: bytes, client: str | None) -> str:
        return f"guess:{sid.hex()[:32]}" + (f":{client}" if client else "")

    @staticmethod
    def _lock_key(sid: bytes, client: str | None) -> str:
        return f"lock:{sid.hex()[:32]}" + (f":{client}" if client else "")
