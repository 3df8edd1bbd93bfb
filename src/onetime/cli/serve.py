"""`onetime serve`: check the configuration and the store, then hand over to uvicorn."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn

from onetime.cli.failures import one_line_failures
from onetime.cli.workers import SocketPerWorker, balanced_listening_supported, bind_worker_sockets
from onetime.settings import Settings, load_settings, server_secret
from onetime.store import open_store

APP = "onetime.app:create_app_from_environment"


def log_config(level: str) -> dict[str, Any]:
    """Logs go to stderr; uvicorn's access log is off (ours logs route templates, not paths)."""
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "plain",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "onetime": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
    }


async def _check_store(settings: Settings) -> None:
    store = open_store(settings.resolved_store_url, settings.counters_dir)
    await store.open()
    await store.close()


def preflight(settings: Settings) -> None:
    """Fail with one clear line before any worker starts: secret, store URL, store file."""
    server_secret(settings)
    asyncio.run(_check_store(settings))


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 7143,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    config: Annotated[Path | None, typer.Option(help="A TOML configuration file.")] = None,
) -> None:
    """Run the service (SQLite under ./data unless ONETIME_STORE_URL says otherwise)."""
    if config is not None:
        os.environ["ONETIME_CONFIG"] = str(config)
    with one_line_failures():
        settings = load_settings()
        if "site_host" not in settings.model_fields_set:
            # Links point at the address we serve unless the operator named the public host.
            os.environ["ONETIME_SITE_HOST"] = f"{host}:{port}"
            settings = load_settings()
        preflight(settings)
    options: dict[str, Any] = {
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers,
        "access_log": False,
        "log_config": log_config(settings.log_level),
        "server_header": False,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.trusted_proxies,
    }
    store_kind = settings.resolved_store_url.split("://")[0]
    if workers == 1 or not balanced_listening_supported():
        _announce(host, port, workers, store_kind)
        uvicorn.run(APP, **options)
        return
    try:
        port, sockets = bind_worker_sockets(host, port, workers)
    except OSError as error:
        typer.echo(f"onetime: cannot listen on {host}:{port}: {error.strerror or error}", err=True)
        raise typer.Exit(1) from None
    _announce(host, port, workers, store_kind)
    SocketPerWorker(uvicorn.Config(APP, **options), sockets).run()


def _announce(host: str, port: int, workers: int, store_kind: str) -> None:
    typer.echo(
        f"onetime: serving on http://{host}:{port} with {workers} worker(s); store {store_kind}",
        err=True,
    )
