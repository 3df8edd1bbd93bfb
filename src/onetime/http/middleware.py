"""Pure ASGI middleware: security headers, early rejection of large bodies, a private access log."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from onetime.http.errors import PageRenderer

access_log = logging.getLogger("onetime.access")
CLIENT_LEFT = 499  # logged when the client went away before any answer was sent

_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# Built once: every answer carries them.
_ALWAYS = (
    (b"content-security-policy", _CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
)
_HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")


class SecurityHeaders:
    """Adds the security headers of DESIGN §5 to every answer; no-store unless one says otherwise."""

    def __init__(self, app: ASGIApp, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = list(_ALWAYS)
                if b"cache-control" not in present:
                    # Static files are ours and public; everything else may show a secret or a link.
                    # Static misses are not cached: a file added later must not stay hidden.
                    public = static and message["status"] < 400
                    cache = b"public, max-age=3600" if public else b"no-store"
                    extra.append((b"cache-control", cache))
                if self.hsts:
                    extra.append(_HSTS)
                message["headers"] = headers + [h for h in extra if h[0] not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Reads request bodies up to `max_bytes` before the app sees them; larger ones get a 413.

    A declared Content-Length over the limit is refused without reading a byte; a chunked body
    is read only until it passes the limit. Bodies here are small, so buffering costs little.
    Every method is limited: a GET may carry a body too, and some routes read it.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, render_page: PageRenderer | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.render_page = render_page  # the HTML error page for the web surface

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                await self._too_large(scope, send)
                return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(scope, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        from onetime.http.errors import too_large_response

        response = too_large_response(scope, self.max_bytes, self.render_page)
        await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


class AccessLog:
    """One line per request with the route *template*, never the path (it may carry a key)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        except Exception:
            status = status or 500  # the server answers 500 for an exception that got this far
            raise
        finally:
            # No answer at all: the client left before one was due (nginx's 499), not a 500.
            status = status or CLIENT_LEFT
            # Checked first: the template is worked out only for a line that will be written.
            if access_log.isEnabledFor(logging.INFO):
                elapsed_ms = (time.perf_counter() - started) * 1000
                access_log.info(
                    "%s %s %d %.1fms", scope["method"], route_template(scope), status, elapsed_ms
                )


def route_template(scope: Scope) -> str:
    """The matched path with every parameter written as {name}: "/secret/{key}", never a key."""
    if scope.get("route") is None:
        return "(no route)"
    segments = scope["path"].split("/")
    by_value = {str(value): name for name, value in scope.get("path_params", {}).items()}
    return "/".join(f"{{{by_value[s]}}}" if s in by_value else s for s in segments)
