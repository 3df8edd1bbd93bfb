"""The busiest API routes, answered without FastAPI's routing and dependency injection.

Creating a secret, revealing it and reading its receipt over API v1 are most of a busy
service's traffic. FastAPI passes each request through its own middleware, resolves the route's
dependencies and re-encodes its answer; for these few routes that bookkeeping cost more than the
work itself. `OnetimeApp` (app.py) hands a request that `match` knows to the fast lane, wrapped
in the same middleware as the rest of the app (access log, security headers, body limit,
catch-all); the fast lane calls the same answer functions as the FastAPI routes in v1.py, which
stay declared for OpenAPI and for every method or path not matched here. Errors go through
the same `render_problem`, so both ways answer alike (tests/api/test_fastlane.py compares them).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from onetime.api import v1
from onetime.api.auth import caller_from_headers
from onetime.context import AppContext
from onetime.core.views import Caller
from onetime.deps import get_client_tag
from onetime.http.errors import PageRenderer, render_problem

Answer = Callable[[Request, AppContext, str], Awaitable[Any]]

_V1 = "/api/v1/"
MATCH_KEY = "onetime.fast_lane"
_RECEIPT_PREFIXES = ("receipt/", "private/", "metadata/")


async def _share(request: Request, context: AppContext, key: str) -> Any:
    caller = await _caller(request)
    return await v1.share_answer(
        request, context.service, caller, get_client_tag(request), context.settings.base_url
    )


async def _reveal(request: Request, context: AppContext, key: str) -> Any:
    await _caller(request)  # as the route: bad credentials are refused, not ignored
    return await v1.reveal_answer(
        request, key, context.service, get_client_tag(request), context.settings.base_url
    )


async def _receipt(request: Request, context: AppContext, key: str) -> Any:
    caller = await _caller(request)
    return await v1.receipt_answer(
        key, context.service, caller, get_client_tag(request), context.settings.base_url
    )


async def _caller(request: Request) -> Caller:
    return await caller_from_headers(request)


def route_path(scope: Scope) -> str:
    """The path the routes see: without the root path the app is mounted under, as Starlette."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :]
    return path


Match = tuple[Answer, str, str]


def match(method: str, path: str) -> Match | None:
    """The answer for a fast-lane request, its route template and its key; None for the rest."""
    if not path.startswith(_V1):
        return None
    rest = path[len(_V1) :]
    if method == "POST" and rest in ("share", "create"):
        return _share, path, ""
    head, slash, key = rest.partition("/")
    if not slash or not key or "/" in key:
        return None
    if method == "POST" and head == "secret":
        return _reveal, f"{_V1}secret/{{key}}", key
    # "recent" is a route of its own (the account's list), never a receipt key.
    if method in ("GET", "POST") and head + "/" in _RECEIPT_PREFIXES and key != "recent":
        return _receipt, f"{_V1}{head}/{{key}}", key
    return None


class FastLane:
    """The ASGI app of the fast lane: answers a request that `match` found (see OnetimeApp)."""

    def __init__(self, context: AppContext, render_page: PageRenderer) -> None:
        self.context = context
        self.render_page = render_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # OnetimeApp matched the request already and left the match here.
        answer, template, key = scope[MATCH_KEY]
        # What the access log and the error renderer read from a routed request.
        scope["route"] = template
        scope["path_params"] = {"key": key} if key else {}
        request = Request(scope, receive)
        response: Response
        try:
            body = await answer(request, self.context, key)
        except Exception as error:
            response = render_problem(request, error, self.render_page)
        else:
            response = Response(orjson.dumps(body), media_type="application/json")
        await response(scope, receive, send)
