"""Rate limits and passphrase lockouts, kept as short-lived counters in the store.

Counters are keyed by a keyed hash of the client address (see `Keyring.client_tag`) and by
the secret's storage id, never by an address or a key, and they expire on their own. Being in
the store, they are shared by every worker process and every node: a limit holds in total,
not once per process.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import NoReturn

from onetime.core.clock import Clock
from onetime.core.errors import N_, RateLimited
from onetime.store.base import Store


@dataclass(frozen=True, slots=True)
class GuardRules:
    """Thresholds; a limit of 0 switches that limit off."""

    create_limit: int = 100
    create_window: int = 600
    account_create_limit: int = 500
    account_create_window: int = 3600
    passphrase_per_client: int = 5
    passphrase_per_secret: int = 20
    passphrase_window: int = 600
    passphrase_lockout: int = 1800
    # Failed lookups (unknown, expired, already read or garbled secret and receipt keys).
    reveal_guess_limit: int = 300
    reveal_guess_window: int = 900


@dataclass(frozen=True, slots=True)
class PassphraseAttempt:
    """One counted passphrase attempt: where it brought the per-client and per-secret counts."""

    per_client: int
    per_secret: int


# How many clients with recent failed lookups one process remembers (see `Guards._watch`).
WATCH_MAX = 10_000


class Guards:
    """Checks and records attempts against the rules."""

    def __init__(self, store: Store, clock: Clock, rules: GuardRules) -> None:
        self._store = store
        self._clock = clock
        self.rules = rules
        # Client tags that failed a lookup in this process, and until when their window runs.
        # Only their lookups read the shared counter first; everybody else's cost nothing.
        self._watched: dict[str, int] = {}
        # While the table above is full of live entries, every client's lookups are checked.
        self._watch_everyone_until = 0

    async def count_creation(self, client: str, account_id: str | None = None) -> None:
        """Count one creation by `client` (or by the account); raise RateLimited past the limit.

        Accounts have their own, larger allowance: a team behind one address should not share
        the anonymous limit. The counter is keyed by a hash, never by the account id.
        """
        rules = self.rules
        if account_id is None:
            key, limit, window = f"create:{client}", rules.create_limit, rules.create_window
        else:
            tag = hashlib.sha256(b"onetime/create\x00" + account_id.encode()).hexdigest()[:24]
            key, limit = f"create-account:{tag}", rules.account_create_limit
            window = rules.account_create_window
        if limit <= 0:
            return
        now = self._clock.now()
        counter = await self._store.hit_counter(key, window, now)
        if counter.value > limit:
            raise RateLimited(
                N_("You have created many secrets in a short time. Please wait and try again."),
                retry_after=_remaining(counter.expires_at, now, window),
            )

    # -- guessing keys ------------------------------------------------------------------------

    async def check_lookups(self, client: str | None) -> None:
        """Before a secret or receipt lookup: refuse a client that has used up its misses.

        The shared counter is read only for clients that missed in this process during their
        window (or for everyone while that table is full). A process that has not seen a client
        miss lets its lookups through until the first one misses, which `count_miss` then
        refuses: the misses answered "not found" never add up to more than the limit, and a
        key that is right is never refused to a client under the limit.
        """
        limit = self.rules.reveal_guess_limit
        if client is None or limit <= 0:
            return
        now = self._clock.now()
        if not self._is_watched(client, now):
            return
        counter = await self._store.read_counter(self._miss_key(client), now)
        if counter is not None and counter.value >= limit:
            self._too_many_misses(
                _remaining(counter.expires_at, now, self.rules.reveal_guess_window)
            )

    async def count_miss(self, client: str | None) -> None:
        """A lookup by `client` found nothing: count it, and refuse it past the limit.

        The caller raises NotFound when this returns. Successful lookups are never counted.
        """
        rules = self.rules
        if client is None or rules.reveal_guess_limit <= 0:
            return
        now = self._clock.now()
        counter = await self._store.hit_counter(
            self._miss_key(client), rules.reveal_guess_window, now
        )
        self._watch(client, counter.expires_at, now)
        if counter.value > rules.reveal_guess_limit:
            self._too_many_misses(_remaining(counter.expires_at, now, rules.reveal_guess_window))

    def _is_watched(self, client: str, now: int) -> bool:
        if now < self._watch_everyone_until:
            return True
        until = self._watched.get(client)
        if until is None:
            return False
        if until <= now:
            del self._watched[client]
            return False
        return True

    def _watch(self, client: str, until: int, now: int) -> None:
        """Remember that `client` missed, until its window ends; bounded in size.

        When the table is full of live entries, this process checks every client's lookups
        until the last of those windows ends, rather than forget anyone early.
        """
        watched = self._watched
        if client in watched or len(watched) < WATCH_MAX:
            watched[client] = until
            return
        if now < self._watch_everyone_until:
            self._watch_everyone_until = max(self._watch_everyone_until, until)
            return
        self._watched = watched = {tag: end for tag, end in watched.items() if end > now}
        if len(watched) < WATCH_MAX:
            watched[client] = until
        else:
            self._watch_everyone_until = max(until, *watched.values())

    @staticmethod
    def _too_many_misses(retry_after: int) -> NoReturn:
        raise RateLimited(
            N_("Too many requests for unknown links from your network. Please wait and try again."),
            retry_after=retry_after,
        )

    @staticmethod
    def _miss_key(client: str) -> str:
        return f"miss:{client}"

    # -- passphrases ----------------------------------------------------------------------------

    async def check_passphrase_lock(self, sid: bytes, client: str) -> None:
        """Raise RateLimited when passphrase guessing on this secret is locked for this client."""
        now = self._clock.now()
        for key in (self._lock_key(sid, client), self._lock_key(sid, None)):
            lock = await self._store.read_counter(key, now)
            if lock is not None:
                self._locked(_remaining(lock.expires_at, now, self.rules.passphrase_lockout))

    async def begin_passphrase_attempt(self, sid: bytes, client: str) -> PassphraseAttempt:
        """Check the locks, then count this attempt *before* the passphrase is tried.

        Counting first is what makes the limits hold under concurrency: guesses sent all at
        once would otherwise all pass the lock check while the first ones are still in the
        (slow) key stretching. An attempt over a limit is refused and locks at once.
        """
        await self.check_passphrase_lock(sid, client)
        rules, now = self.rules, self._clock.now()
        per_client = await self._store.hit_counter(
            self._guess_key(sid, client), rules.passphrase_window, now
        )
        if 0 < rules.passphrase_per_client < per_client.value:
            await self._lock(sid, client, now)
        per_secret = await self._store.hit_counter(
            self._guess_key(sid, None), rules.passphrase_window, now
        )
        if 0 < rules.passphrase_per_secret < per_secret.value:
            await self._lock(sid, None, now)
        return PassphraseAttempt(per_client.value, per_secret.value)

    async def count_wrong_passphrase(
        self, sid: bytes, client: str, attempt: PassphraseAttempt
    ) -> None:
        """The attempt was wrong: lock the client, or the secret, if it used up a limit."""
        rules, now = self.rules, self._clock.now()
        if 0 < rules.passphrase_per_client <= attempt.per_client:
            await self._set_lock(sid, client, now)
        if 0 < rules.passphrase_per_secret <= attempt.per_secret:
            await self._set_lock(sid, None, now)

    async def _set_lock(self, sid: bytes, client: str | None, now: int) -> None:
        await self._store.set_counter(
            self._lock_key(sid, client), 1, self.rules.passphrase_lockout, now
        )

    async def _lock(self, sid: bytes, client: str | None, now: int) -> NoReturn:
        await self._set_lock(sid, client, now)
        self._locked(self.rules.passphrase_lockout)

    @staticmethod
    def _locked(retry_after: int) -> NoReturn:
        minutes = max(1, (retry_after + 59) // 60)
        raise RateLimited(
            N_("Too many wrong passphrases. Try again in {minutes} minutes."),
            retry_after=retry_after,
            minutes=minutes,
        )

    @staticmethod
    def _guess_key(sid: bytes, client: str | None) -> str:
        return f"guess:{sid.hex()[:32]}" + (f":{client}" if client else "")

    @staticmethod
    def _lock_key(sid: bytes, client: str | None) -> str:
        return f"lock:{sid.hex()[:32]}" + (f":{client}" if client else "")


def _remaining(expires_at: int, now: int, longest: int) -> int:
    """Seconds until a counter's window ends, as Retry-After: never more than the window.

    Another process may have opened the window a second later by its clock than `now` here
    (read before the store answered), which would otherwise promise one second too many.
    """
    return min(expires_at - now, longest)
