"""Pre-create snappass secrets in-process, with snappass's own set_password.

Run with the snappass venv's Python and the snappass server's environment (REDIS_PREFIX,
SNAPPASS_REDIS_DB, ...), so the secrets land where the server looks. Writes one link path per
line to --out: "/" + quote_plus(token), as snappass builds its links.

    bench/.venv-snappass/bin/python bench/precreate_snappass.py --count 5000 --out paths.txt
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote_plus

from snappass.main import set_password

TTL_S = 3600  # snappass's "hour"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, required=True, help="secrets to create")
    parser.add_argument("--size", type=int, default=40, help="bytes of content per secret")
    parser.add_argument("--threads", type=int, default=16, help="creations in flight")
    parser.add_argument("--out", type=Path, help="file for the link paths (one per line)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    content = "x" * args.size

    def create_one(_: int) -> str:
        return "/" + quote_plus(set_password(content, TTL_S))

    # Redis round trips dominate, and redis-py's client is thread-safe: threads overlap them.
    with ThreadPoolExecutor(args.threads) as pool:
        paths = list(pool.map(create_one, range(args.count), chunksize=64))
    if args.out is not None:
        args.out.write_text("".join(path + "\n" for path in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
