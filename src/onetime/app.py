"""The ASGI application: `create_app(settings)` builds it; nothing happens at import time."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

import onetime
from onetime.api import v1, v2
from onetime.api.fastlane import MATCH_KEY, FastLane, match, route_path
from onetime.api.openapi import HEALTH
from onetime.context import AppContext
from onetime.core.accounts import AccountService
from onetime.core.clock import Clock, SystemClock
from onetime.core.crypto import Keyring
from onetime.core.errors import StoreUnavailable
from onetime.core.guards import Guards
from onetime.core.service import SecretService
from onetime.http.errors import CatchAll, install_error_handlers
from onetime.http.middleware import AccessLog, BodyLimit, SecurityHeaders
from onetime.mail.delivery import open_mailer
from onetime.mail.outbox import MailOutbox
from onetime.settings import Settings, load_settings, server_secret
from onetime.store import open_store
from onetime.store.base import Store
from onetime.web import account_pages, docs, pages, preferences
from onetime.web.render import render_problem_page

log = logging.getLogger("onetime")
STATIC_DIR = Path(__file__).parent / "web" / "static"


def build_context(settings: Settings, clock: Clock | None = None) -> AppContext:
    """Derive keys and wire the service to its (not yet opened) store."""
    clock = clock or SystemClock()
    previous = [s.get_secret_value().encode() for s in settings.secret_previous]
    keyring = Keyring(server_secret(settings), previous)
    store = open_store(settings.resolved_store_url, settings.counters_dir)
    plans = settings.plan_table()
    outbox = MailOutbox(
        open_mailer(settings), settings.site_name, settings.base_url, settings.primary_color
    )
    service = SecretService(
        store=store,
        keyring=keyring,
        limits=settings.limits(),
        guards=Guards(store, clock, settings.guard_rules()),
        clock=clock,
        argon2=settings.argon2(),
        share_domains=frozenset(d.lower() for d in settings.share_domains),
        plans=plans,
        outbox=outbox,
    )
    accounts = AccountService(
        store=store,
        keyring=keyring,
        clock=clock,
        plans=plans,
        rules=settings.account_rules(),
        outbox=outbox,
        secrets_service=service,
        argon2=settings.argon2(),
    )
    context = AppContext(
        settings=settings, store=store, keyring=keyring, service=service, accounts=accounts
    )
    service.on_revealed = context.notify_read
    service.count_mail = accounts.count_mail
    return context


async def _sweep_forever(store: Store, clock: Clock, interval: int) -> None:
    """Delete expired rows now and then; reads never return them either way."""
    while True:
        await asyncio.sleep(interval)
        try:
            await store.sweep(clock.now())
        except StoreUnavailable as error:
            log.warning("sweep skipped: %s", error.message)
        except Exception as error:  # the sweeper must outlive any one failure
            log.error("sweep failed: %s", type(error).__name__)


class ApiCors:
    """CORS for /api/ only, and only for the origins in ONETIME_CORS_ORIGINS; never credentials.

    A request from any other origin, and every page, passes by untouched: no CORS header at all,
    so browsers keep other sites' scripts from reading the answers.
    """

    def __init__(self, app: ASGIApp, origins: tuple[str, ...]) -> None:
        self.app = app
        self.origins = frozenset(origins)
        self.cors = CORSMiddleware(
            app,
            allow_origins=sorted(self.origins),
            allow_methods=("GET", "POST", "PATCH"),
            allow_headers=("Authorization", "Content-Type"),
            expose_headers=("Retry-After", "X-OTS-Intended-Status"),
            allow_credentials=False,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and route_path(scope).startswith("/api/"):
            origin = next((v for k, v in scope["headers"] if k == b"origin"), b"")
            if origin.decode("latin-1") in self.origins:
                await self.cors(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _operation_id(route: APIRoute) -> str:
    # One route object can serve several methods and aliases; name every pair uniquely.
    methods = "_".join(sorted(route.methods or ()))
    path = route.path_format.strip("/").replace("/", "_").replace("{", "").replace("}", "")
    return f"{route.name}_{path}_{methods}".lower()


class OnetimeApp(FastAPI):
    """FastAPI, but the busiest API routes skip its machinery (see api/fastlane.py)."""

    fast_lane: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.fast_lane is not None and scope["type"] == "http":
            found = match(scope["method"], route_path(scope))
            if found is not None:
                scope["app"], scope[MATCH_KEY] = self, found
                await self.fast_lane(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings | None = None, clock: Clock | None = None, fast_lane: bool = True
) -> FastAPI:
    """Build the application. Opening the store and background work happen in its lifespan.

    `fast_lane=False` leaves every request to FastAPI (tests compare the two ways).
    """
    settings = settings or load_settings()
    context = build_context(settings, clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await context.store.open()
        sweeper = asyncio.create_task(
            _sweep_forever(context.store, context.service.clock, settings.sweep_interval)
        )
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            if context.background:  # let notifications that are on their way finish
                await asyncio.wait(context.background, timeout=settings.mail_timeout)
            await context.store.close()

    app = OnetimeApp(
        title=f"{settings.site_name} API",
        version=onetime.__version__,
        description="Share secrets through links that work once. Compatible with Onetime Secret v1 and v2.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
    )
    app.state.context = context

    # HEAD is its own undocumented route: one route with two methods repeats its operationId.
    @app.get(
        "/health", tags=["service"], summary="200 when the store answers, 503 when not", **HEALTH
    )
    @app.head("/health", include_in_schema=False)
    async def health() -> JSONResponse:
        try:
            await context.store.ping()
        except StoreUnavailable:
            return JSONResponse({"status": "unavailable", "store": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "store": "ok"})

    app.include_router(v1.router)
    app.include_router(v2.build_router())
    app.include_router(docs.router)
    app.include_router(preferences.router)
    app.include_router(pages.router)
    app.include_router(account_pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_error_handlers(app, render_problem_page)

    # Outermost last: the access log sees the final status; the body limit runs before parsing.
    # The fast lane's requests pass through the same layers, built the same way.
    layers: list[tuple[Any, dict[str, Any]]] = [
        (CatchAll, {"render_page": render_problem_page}),
        (BodyLimit, {"max_bytes": settings.max_request_bytes, "render_page": render_problem_page}),
        # CORS, when configured, answers preflights inside the security headers and the log.
        *([(ApiCors, {"origins": settings.cors_origins})] if settings.cors_origins else []),
        (SecurityHeaders, {"hsts": settings.ssl}),
        (AccessLog, {}),
    ]
    lane: ASGIApp = FastLane(context, render_problem_page)
    for layer, options in layers:
        app.add_middleware(layer, **options)
        lane = layer(lane, **options)
    app.fast_lane = lane if fast_lane else None
    return app


def create_app_from_environment() -> FastAPI:
    """The factory `onetime serve` hands to uvicorn: settings from ONETIME_* and the config file."""
    app = create_app(load_settings())
    # Everything made so far (modules, settings, routes, templates) lives as long as the worker:
    # keep it out of the garbage collector's scans, which otherwise walk all of it again and
    # again under load and show up as latency spikes.
    gc.collect()
    gc.freeze()
    return app
