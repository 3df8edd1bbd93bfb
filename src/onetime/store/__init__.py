"""Stores: where secrets, receipts and counters live. `open_store` picks one by URL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from onetime.store.base import Store


class StoreURLError(ValueError):
    """The store URL cannot be used; the message says why."""


def sqlite_path(url: str) -> Path:
    """The file a `sqlite:///path` URL names (three slashes, then a relative or absolute path)."""
    parts = urlsplit(url)
    if parts.netloc:
        raise StoreURLError(f"write sqlite URLs as sqlite:///path/to/file.db, not {url!r}")
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if not path:
        raise StoreURLError("the sqlite URL names no file, e.g. sqlite:///data/onetime.sqlite3")
    return Path(path)


_SQLITE_OPTIONS = ("synchronous", "cache_mib")


def _sqlite_options(url: str) -> dict[str, str]:
    """The query string of a sqlite URL; a misspelt option is an error, not silently ignored."""
    options = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    unknown = sorted(set(options) - set(_SQLITE_OPTIONS))
    if unknown:
        raise StoreURLError(
            f"unknown sqlite URL option {unknown[0]!r}: the options are "
            + " and ".join(_SQLITE_OPTIONS)
        )
    return options


def sqlite_synchronous(url: str) -> str:
    """`?synchronous=full` (the default: a commit survives a power loss) or `normal` (faster;
    survives a crash of the process, but a power loss may undo the last commits, and so bring
    back a secret that was already read)."""
    value = _sqlite_options(url).get("synchronous", "full").lower()
    if value not in ("full", "normal"):
        raise StoreURLError("sqlite synchronous must be full or normal")
    return value.upper()


def sqlite_cache_mib(url: str) -> int | None:
    """`?cache_mib=N`: SQLite's page cache per connection, in MiB (SQLite's own default is 2).
    A store holding millions of secrets spreads its writes over many pages; a larger cache
    keeps more of them parsed in memory."""
    value = _sqlite_options(url).get("cache_mib")
    if value is None:
        return None
    if not value.isdigit() or not 1 <= int(value) <= 65536:
        raise StoreURLError("sqlite cache_mib must be a whole number of MiB from 1 to 65536")
    return int(value)


def open_store(url: str, counters_dir: Path | None = None) -> Store:
    """Build (but do not open) the store named by `url`."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        from onetime.store.sqlite import SqliteStore

        return SqliteStore(
            sqlite_path(url),
            counters_dir=counters_dir,
            synchronous=sqlite_synchronous(url),
            cache_mib=sqlite_cache_mib(url),
        )
    if scheme.split("+")[0] in ("redis", "rediss", "unix"):
        from onetime.store.redis import RedisStore, RedisURLError

        try:
            return RedisStore(url)
        except RedisURLError as error:
            raise StoreURLError(str(error)) from None
    raise StoreURLError(
        f"unsupported store URL scheme {scheme!r}: use sqlite:///path, redis://host:port/db, "
        "rediss://…, unix:///path, redis+sentinel://host:port/service or redis+cluster://host:port"
    )
