"""The one place where errors become responses, in the shape of the surface that was called.

- /api/v1/… answers in Onetime Secret's legacy shape: HTTP 404 with {"message": …} and the
  real meaning in X-OTS-Intended-Status (503 and 413 keep their own status).
- /api/… (v2 and ours) answers {"error": …, "error_type": …} with the real status.
- Everything else is a page for people.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from onetime.core.errors import (
    N_,
    Forbidden,
    InvalidInput,
    NotFound,
    OnetimeError,
    RateLimited,
    StoreUnavailable,
    Unauthorized,
    WrongPassphrase,
)

log = logging.getLogger("onetime.errors")


@dataclass(frozen=True, slots=True)
class Problem:
    """An error ready to render: status, kind and a message for people."""

    status: int
    error_type: str
    message: str
    field: str | None = None
    code: str | None = None
    retry_after: int | None = None
    # The untranslated message with {placeholders}, and their values: pages translate these.
    template: str = ""
    params: Mapping[str, object] = dataclass_field(default_factory=dict)

    @property
    def text_template(self) -> str:
        return self.template or self.message


# Renders a Problem as an HTML page; the web package installs the real one.
PageRenderer = Callable[[Request, Problem], Response]


def problem_for(error: Exception) -> Problem:
    """Translate any exception into a Problem; unknown ones become a bare 500."""
    problem = _problem_for(error)
    if isinstance(error, OnetimeError) and not isinstance(error, StoreUnavailable):
        return replace(problem, template=error.template, params=error.params)
    return problem


def _problem_for(error: Exception) -> Problem:
    match error:
        case NotFound():
            return Problem(404, "not_found", error.message)
        case WrongPassphrase():
            return Problem(422, "wrong_passphrase", error.message, field="passphrase")
        case InvalidInput():
            return Problem(422, "invalid_input", error.message, field=error.field)
        case Forbidden():
            return Problem(403, "forbidden", error.message, code=error.code)
        case Unauthorized():
            return Problem(401, "unauthorized", error.message)
        case RateLimited():
            return Problem(429, "rate_limited", error.message, retry_after=error.retry_after)
        case StoreUnavailable():
            return Problem(
                503,
                "unavailable",
                N_("The service is temporarily unavailable. Please try again shortly."),
            )
        case RequestValidationError():
            return _validation_problem(error)
        case HTTPException():
            return _http_problem(error)
        case OnetimeError():
            return Problem(400, "bad_request", error.message)
    return Problem(
        500, "server_error", N_("Something went wrong on our side. Nothing was revealed.")
    )


def _validation_problem(error: RequestValidationError) -> Problem:
    first: dict[str, Any] = error.errors()[0] if error.errors() else {}
    if first.get("type") == "json_invalid":
        return Problem(400, "invalid_json", N_("The request body is not valid JSON."))
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query")]
    field = location[-1] if location else None
    message = str(first.get("msg", "invalid input"))
    text = f"{field}: {message}" if field else message
    return Problem(422, "invalid_input", f"The request is not valid ({text}).", field=field)


def _http_problem(error: HTTPException) -> Problem:
    messages = {
        # FastAPI answers 400 when a JSON body cannot be parsed at all (bad UTF-8, too deep).
        400: ("invalid_json", N_("The request body is not valid JSON.")),
        404: ("not_found", N_("There is nothing at this address.")),
        405: ("method_not_allowed", N_("This address does not accept that method.")),
        413: ("too_large", N_("The request body is too large.")),
        415: ("unsupported_media_type", N_("Send JSON with Content-Type: application/json.")),
    }
    kind, default = messages.get(error.status_code, ("http_error", str(error.detail)))
    detail = error.detail if isinstance(error.detail, str) and error.status_code == 415 else default
    return Problem(error.status_code, kind, detail)


def surface(path: str) -> str:
    if path.startswith("/api/v1/") or path == "/api/v1":
        return "v1"
    if path.startswith("/api/") or path == "/health":
        return "api"
    return "web"


def json_problem(problem: Problem, v1_key: str | None = None, legacy: bool = False) -> Response:
    headers = {"Retry-After": str(problem.retry_after)} if problem.retry_after else {}
    if problem.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="onetime"'
    if legacy:
        body: dict[str, Any] = {"message": problem.message}
        if problem.error_type in ("not_found", "wrong_passphrase"):
            body = {"message": "Unknown secret", "secret_key": v1_key} if v1_key else body
        status = problem.status if problem.status in (413, 503) else 404
        # OTS's intended statuses are 400, 401, 403, 404 and 429: input problems are all 400 there.
        intended = 400 if problem.status in (415, 422) else problem.status
        headers["X-OTS-Intended-Status"] = str(intended)
        return JSONResponse(body, status_code=status, headers=headers)
    body = {"error": problem.message, "error_type": problem.error_type}
    for name in ("field", "code", "retry_after"):
        value = getattr(problem, name)
        if value is not None:
            body[name] = value
    return JSONResponse(body, status_code=problem.status, headers=headers)


def too_large_response(
    scope: Scope, max_bytes: int, render_page: PageRenderer | None = None
) -> Response:
    """The 413 answer for a body refused before the app saw it, in the surface's shape."""
    problem = Problem(413, "too_large", f"The request body is larger than {max_bytes:,} bytes.")
    path = scope["path"]
    if surface(path) == "web":
        if render_page is not None:
            return render_page(Request(scope), problem)
        from starlette.responses import PlainTextResponse

        return PlainTextResponse(problem.message, status_code=413)
    return json_problem(problem, legacy=surface(path) == "v1")


def install_error_handlers(app: FastAPI, render_page: PageRenderer) -> None:
    """Route every error through `problem_for`, then render it for the surface.

    Unexpected exceptions are caught by `CatchAll` (installed by the app factory), not here:
    Starlette would hand them on to the server, which logs the exception message.
    """

    async def handle(request: Request, error: Exception) -> Response:
        return render_problem(request, error, render_page)

    for error_type in (OnetimeError, RequestValidationError, HTTPException):
        app.add_exception_handler(error_type, handle)


def render_problem(request: Request, error: Exception, render_page: PageRenderer) -> Response:
    problem = problem_for(error)
    if problem.status >= 500 and not isinstance(error, StoreUnavailable):
        # Only the exception class and where it happened: messages can quote user input.
        frames = traceback.extract_tb(error.__traceback__)
        where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
        log.error("unhandled %s at %s", type(error).__name__, where)
    elif isinstance(error, StoreUnavailable):
        log.warning("store unavailable: %s", error.message)
    kind = surface(request.url.path)
    if kind == "web":
        response = render_page(request, problem)
    else:
        key = request.path_params.get("key")
        v1_key = key if isinstance(key, str) else None
        response = json_problem(problem, v1_key=v1_key, legacy=kind == "v1")
    allow = (error.headers or {}).get("Allow") if isinstance(error, HTTPException) else None
    if allow:
        response.headers["Allow"] = allow  # a 405 names the methods that would work
    return response


class CatchAll:
    """Turns any exception that escaped the handlers into a 500 answer without details."""

    def __init__(self, app: ASGIApp, render_page: PageRenderer) -> None:
        self.app = app
        self.render_page = render_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as error:
            response = render_problem(Request(scope), error, self.render_page)
            if not started:
                await response(scope, receive, send)
