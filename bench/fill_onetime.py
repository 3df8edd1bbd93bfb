"""Fill an onetime store with filler secrets and receipts, through its own store API.

Run with our venv's Python and the ONETIME_* environment of the store to fill. The service is
bypassed (no sealing, no rate-limit counters), so a million records go in quickly: the first
record is a real 40-byte secret made through the service, and every filler record copies it
with fresh ids shaped like those of keys made now (the time, then random bytes), a random
envelope of the real envelope's length and a random sealed share key of the real length (none
since share keys are made from receipt keys: docs/performance.md, item 14).
Prints one JSON line: how many, how long, and those lengths.

    python bench/fill_onetime.py --count 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

from onetime.app import build_context
from onetime.context import AppContext
from onetime.core.identifiers import KeyKind, made_at
from onetime.core.records import StoredReceipt, StoredSecret
from onetime.core.service import ConcealRequest
from onetime.core.views import ANONYMOUS
from onetime.settings import load_settings

TTL_S = 3600
CONTENT = "x" * 40  # the size the throughput scenarios create
# redis-py's asyncio connection pool opens at most 100 connections; more writes in flight
# would fail with "Too many connections" rather than wait.
REDIS_POOL_SIZE = 100


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, required=True, help="records to store (>= 1)")
    parser.add_argument("--in-flight", type=int, default=2000, help="store writes in flight")
    return parser.parse_args(argv)


def shares(total: int, parts: int) -> list[int]:
    """`total` split into `parts` near-equal whole numbers."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


async def real_records(context: AppContext) -> tuple[StoredSecret, StoredReceipt]:
    """Create one real secret through the service and read back what the store keeps for it."""
    service, store = context.service, context.store
    created = await service.conceal(ConcealRequest(CONTENT, ttl=TTL_S), ANONYMOUS, "bench-fill")
    secret_key = service.codec.parse(KeyKind.SECRET, created.secret.key)
    receipt_key = service.codec.parse(KeyKind.RECEIPT, created.receipt.key)
    if secret_key is None or receipt_key is None:
        raise RuntimeError("the service made keys its own codec does not accept")
    now = service.clock.now()
    secret = await store.get_secret(secret_key.storage_id, now)
    receipt = await store.get_receipt(receipt_key.storage_id, now)
    if secret is None or receipt is None:
        raise RuntimeError("the real secret just created is not in the store")
    return secret, receipt


class Filler:
    """Makes records shaped like a real pair, with fresh ids and random ciphertext."""

    def __init__(self, secret: StoredSecret, receipt: StoredReceipt) -> None:
        # The fields are read once: dataclasses.replace would look them up for every record.
        self._secret_fields = _fields_of(secret)
        self._receipt_fields = _fields_of(receipt)
        self.id_bytes = len(secret.sid)
        self.envelope_bytes = len(secret.envelope)
        self.share_key_bytes = len(receipt.share_key)

    def make(self) -> tuple[StoredSecret, StoredReceipt]:
        # Ids as a key made now has them: the time, then hash bytes (random ones here).
        made = made_at(time.time())
        sid = made + os.urandom(self.id_bytes - len(made))
        rid = made + os.urandom(self.id_bytes - len(made))
        envelope, share_key = os.urandom(self.envelope_bytes), os.urandom(self.share_key_bytes)
        return (
            StoredSecret(**{**self._secret_fields, "sid": sid, "rid": rid, "envelope": envelope}),
            StoredReceipt(
                **{**self._receipt_fields, "rid": rid, "sid": sid, "share_key": share_key}
            ),
        )


def _fields_of(record: StoredSecret | StoredReceipt) -> dict[str, Any]:
    return {field.name: getattr(record, field.name) for field in dataclasses.fields(record)}


def writes_in_flight(store_url: str, wanted: int) -> int:
    if store_url.split(":", 1)[0].split("+")[0] in ("redis", "rediss", "unix"):
        return min(wanted, REDIS_POOL_SIZE)
    return wanted


async def fill(context: AppContext, count: int, in_flight: int) -> dict[str, Any]:
    started = time.monotonic()
    filler = Filler(*await real_records(context))
    clock, store = context.service.clock, context.store

    async def write_some(how_many: int) -> None:
        for _ in range(how_many):
            secret, receipt = filler.make()
            await store.create(secret, receipt, clock.now())

    await asyncio.gather(*(write_some(n) for n in shares(count - 1, in_flight) if n))
    return {
        "count": count,
        "seconds": round(time.monotonic() - started, 3),
        "envelope_bytes": filler.envelope_bytes,
        "share_key_bytes": filler.share_key_bytes,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = load_settings()
    context = build_context(settings)
    await context.store.open()
    try:
        in_flight = writes_in_flight(settings.resolved_store_url, args.in_flight)
        return await fill(context, args.count, in_flight)
    finally:
        await context.store.close()


def run_fast(main: Callable[[], Coroutine[Any, Any, dict[str, Any]]]) -> dict[str, Any]:
    """Run on uvloop when it is installed (it is, with uvicorn[standard]): about twice the rate."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main())
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main())


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.count < 1:
        raise SystemExit("--count must be at least 1")
    print(json.dumps(run_fast(lambda: run(args))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
