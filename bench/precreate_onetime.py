"""Pre-create onetime secrets in-process, through the same service the server runs.

Run with our venv's Python and the server's ONETIME_* environment: the secrets land in the
server's store, sealed with its keys, so it accepts their links. Much faster than creating them
over HTTP, and nothing else is loaded meanwhile. Writes one reveal path per line to --out.

    python bench/precreate_onetime.py --count 5000 --out paths.txt
    python bench/precreate_onetime.py --count 100000 --size 1024     # memory: no paths kept
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from onetime.app import build_context
from onetime.context import AppContext
from onetime.core.service import ConcealRequest
from onetime.core.views import ANONYMOUS
from onetime.settings import load_settings

TTL_S = 3600
REVEAL_PATH = "/api/v1/secret/{key}"
CLIENT_TAG = "bench-precreate"  # the rate-limit counter this process's creations are counted on


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, required=True, help="secrets to create")
    parser.add_argument("--size", type=int, default=40, help="bytes of content per secret")
    parser.add_argument("--concurrency", type=int, default=64, help="creations in flight")
    parser.add_argument("--out", type=Path, help="file for the reveal paths (one per line)")
    return parser.parse_args(argv)


def shares(total: int, parts: int) -> list[int]:
    """`total` split into `parts` near-equal whole numbers."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


async def create_secrets(context: AppContext, count: int, size: int, concurrency: int) -> list[str]:
    request = ConcealRequest(content="x" * size, ttl=TTL_S)

    async def create_some(how_many: int) -> list[str]:
        paths = []
        for _ in range(how_many):
            created = await context.service.conceal(request, ANONYMOUS, CLIENT_TAG)
            paths.append(REVEAL_PATH.format(key=created.secret.key))
        return paths

    batches = await asyncio.gather(*(create_some(n) for n in shares(count, concurrency) if n))
    return [path for batch in batches for path in batch]


async def run(args: argparse.Namespace) -> list[str]:
    context = build_context(load_settings())
    await context.store.open()
    try:
        return await create_secrets(context, args.count, args.size, args.concurrency)
    finally:
        await context.store.close()


def run_fast(main: Callable[[], Coroutine[Any, Any, list[str]]]) -> list[str]:
    """Run on uvloop when it is installed (it is, with uvicorn[standard]), as the server does."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main())
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main())


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    paths = run_fast(lambda: run(args))
    if args.out is not None:
        args.out.write_text("".join(path + "\n" for path in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
