"""The one interface every store implements, with the contract each method must keep.

Rules that hold for every method:
- Times are whole epoch seconds passed in by the caller (`now`); a record whose `expires_at`
  is at or before `now` does not exist: it is never returned, taken or updated.
- Every method that changes a record does so atomically on that one record, so a store is
  correct with many worker processes (and, for Redis, many nodes and any cluster slot layout).
- Failures to reach the backing service raise `onetime.core.errors.StoreUnavailable`.
  Nothing else escapes for ordinary operation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from onetime.core.records import Counter, ReceiptState, StoredItem, StoredReceipt, StoredSecret


class Store(Protocol):
    """Keeps secrets, receipts and short-lived counters."""

    async def open(self) -> None:
        """Connect and prepare (create tables, load scripts). Raises StoreUnavailable with a reason."""
        ...

    async def close(self) -> None:
        """Release connections and background work. Safe to call twice."""
        ...

    async def ping(self) -> None:
        """Return when the store answers; raise StoreUnavailable otherwise."""
        ...

    async def create(self, secret: StoredSecret | None, receipt: StoredReceipt, now: int) -> None:
        """Persist a secret and its receipt until their `expires_at`; durable when this returns.

        Also used to copy records between stores: `created` may lie in the past, `secret` may be
        None (it was already read), and records already there are overwritten.
        """
        ...

    async def get_secret(self, sid: bytes, now: int) -> StoredSecret | None:
        """Return the live secret, without consuming it."""
        ...

    async def take_secret(self, sid: bytes, now: int) -> StoredSecret | None:
        """Remove the live secret and return it, in one atomic step, if it has no passphrase.

        Of any number of concurrent callers, at most one gets the record; the rest get None.
        A secret with a passphrase is left untouched (None is returned): it must be decrypted
        before it is claimed, so that a wrong passphrase never burns it.
        The secret's receipt is marked revealed at `now` too, as `advance_receipt` would: in
        the same transaction where the backend has them (a reveal is then one commit), else
        right after the take, before this returns.
        """
        ...

    async def claim_secret(self, sid: bytes, now: int) -> bool:
        """Delete the live secret; True only for the one caller that actually removed it."""
        ...

    async def mark_secret_previewed(self, sid: bytes, now: int) -> None:
        """Note that the share page was opened. Does nothing if the secret is gone."""
        ...

    async def get_receipt(self, rid: bytes, now: int) -> StoredReceipt | None:
        """Return the live receipt."""
        ...

    async def advance_receipt(self, rid: bytes, state: ReceiptState, now: int) -> bool:
        """Move a receipt forward to `state` and stamp the time; never moves it backward.

        Sets `updated` and the timestamp field named like the state (previewed, revealed, burned).
        Returns True if the receipt changed.
        """
        ...

    async def set_receipt_memo(self, rid: bytes, memo: bytes | None, now: int) -> bool:
        """Replace the receipt's sealed memo. Returns False when the receipt is gone."""
        ...

    async def delete_receipt(self, rid: bytes, now: int) -> bool:
        """Remove a receipt (its secret is left alone). True if there was a live one."""
        ...

    # -- items: the account features' records ---------------------------------------------------

    async def put_item(self, item: StoredItem, now: int, only_if_absent: bool = False) -> bool:
        """Store `item`, replacing one with the same kind and key; True when written.

        With `only_if_absent`, write only if no live item has that kind and key, atomically:
        of concurrent callers at most one gets True (used for unique email addresses).
        """
        ...

    async def get_item(self, kind: str, key: bytes, now: int) -> StoredItem | None:
        """Return the live item, or None."""
        ...

    async def take_item(self, kind: str, key: bytes, now: int) -> StoredItem | None:
        """Remove the live item and return it, atomically: of concurrent callers only one gets it."""
        ...

    async def delete_item(self, kind: str, key: bytes, now: int) -> bool:
        """Remove the item; True if a live one was there."""
        ...

    async def owned_items(self, owner: str, kind: str, now: int) -> list[StoredItem]:
        """Every live item of `kind` that `owner` owns, in no particular order."""
        ...

    def items(self, kind: str, now: int) -> AsyncIterator[StoredItem]:
        """Every live item of `kind` (for operators: listing accounts, counting)."""
        ...

    async def delete_owned(self, owner: str, now: int) -> int:
        """Remove every item `owner` owns, of every kind, and any trace of the owner; a count."""
        ...

    async def hit_counter(self, key: str, window: int, now: int) -> Counter:
        """Add one to the counter `key`, starting a window of `window` seconds if it has none."""
        ...

    async def read_counter(self, key: str, now: int) -> Counter | None:
        """Return the live counter `key`, or None."""
        ...

    async def set_counter(self, key: str, value: int, seconds: int, now: int) -> None:
        """Set the counter `key` to `value` for `seconds` (used for lockouts)."""
        ...

    def export(self, now: int) -> AsyncIterator[tuple[StoredReceipt, StoredSecret | None]]:
        """Every live receipt with its live secret (or None), in no particular order."""
        ...

    async def count_receipts(self, now: int) -> int:
        """How many live receipts there are, or a little more (it is for progress reports)."""
        ...

    async def sweep(self, now: int) -> int:
        """Delete expired records, items and counters now; return how many records went."""
        ...
