"""A small typed client for the v2 API of any Onetime Secret compatible server.

It knows the wire format (paths, bodies, the v2 error shape) and nothing about terminals:
the CLI commands in `onetime.cli.client` turn its answers and exceptions into output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import httpx

import onetime

DEFAULT_URL = "http://127.0.0.1:7143"
DEFAULT_TIMEOUT = 30.0
# Keys are base36 on our server and on OTS; anything else would be a path, not a key.
_KEY = re.compile(r"[A-Za-z0-9_-]{1,200}")
_SECRET_SEGMENTS = ("secret",)
_RECEIPT_SEGMENTS = ("receipt", "private", "metadata")


class ClientError(Exception):
    """Base of what the client raises; `str()` is a sentence for people."""


class InvalidTarget(ClientError):
    """A URL, key or link the user gave cannot be used (a usage error)."""


class Unreachable(ClientError):
    """The server could not be reached or did not answer in time."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach {url}: {reason}")
        self.url = url
        self.reason = reason


class UnexpectedAnswer(ClientError):
    """The server answered something that is not the v2 API (HTML, a proxy page, …)."""


class ApiError(ClientError):
    """The server answered with an error: its status and its message for people."""

    def __init__(
        self,
        status: int,
        message: str,
        error_type: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type
        self.retry_after = retry_after


def normalize_base_url(url: str) -> str:
    """An http(s) base URL without trailing slash, query or fragment; raises InvalidTarget."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidTarget(f"not an http(s) URL: {display_url(url)!r}")
    return urlunsplit((parts.scheme.lower(), parts.netloc, parts.path.rstrip("/"), "", ""))


def display_url(url: str) -> str:
    """The URL without any user:password part, safe to print."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def same_origin(first: str, second: str) -> bool:
    a, b = urlsplit(first), urlsplit(second)
    return (a.scheme.lower(), a.hostname, a.port) == (b.scheme.lower(), b.hostname, b.port)


@dataclass(frozen=True, slots=True)
class Target:
    """A key the user gave, and the server base URL when it came as a full link."""

    key: str
    base_url: str | None = None


def parse_target(text: str, kind: str) -> Target:
    """Read a bare key or a link; `kind` is "secret" (share links) or "receipt" (receipt links).

    `https://host/secret/KEY` gives the key and `https://host`; a path prefix before the
    segment is kept (`https://host/ots/secret/KEY` → `https://host/ots`).
    """
    text = text.strip()
    if "/" not in text:
        if not _KEY.fullmatch(text):
            raise InvalidTarget(f"not a {kind} key or link: {text!r}")
        return Target(text)
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidTarget(f"not a {kind} key or link: {display_url(text)!r}")
    segments = [s for s in parts.path.split("/") if s]
    wanted = _SECRET_SEGMENTS if kind == "secret" else _RECEIPT_SEGMENTS
    other = _RECEIPT_SEGMENTS if kind == "secret" else _SECRET_SEGMENTS
    for index in range(len(segments) - 2, -1, -1):
        segment = segments[index].lower()
        if segment in wanted and _KEY.fullmatch(segments[index + 1]):
            prefix = "/" + "/".join(segments[:index]) if index else ""
            base = urlunsplit((parts.scheme.lower(), parts.netloc, prefix, "", ""))
            return Target(segments[index + 1], normalize_base_url(base))
        if segment in other:
            wrong = "receipt" if kind == "secret" else "share"
            raise InvalidTarget(f"that is a {wrong} link; this command needs a {kind} link or key")
    raise InvalidTarget(f"not a {kind} link: {display_url(text)!r}")


def _error_from(response: httpx.Response) -> ApiError:
    """The v2 error shape ({"error": …}); the v1 one ({"message": …}) is read as well."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        reason = response.reason_phrase or "error"
        return ApiError(status, f"the server answered HTTP {status} {reason}")
    message = body.get("error") or body.get("message") or f"the server answered HTTP {status}"
    retry = body.get("retry_after") or response.headers.get("retry-after")
    retry_after = int(retry) if str(retry or "").isdigit() else None
    error_type = body.get("error_type")
    return ApiError(status, str(message), str(error_type) if error_type else None, retry_after)


class OnetimeClient:
    """Calls one server's v2 API; use as a context manager so the connection is closed."""

    def __init__(
        self,
        base_url: str,
        user: str | None = None,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = normalize_base_url(base_url)
        self._auth = (
            httpx.BasicAuth(user, token) if user is not None and token is not None else None
        )
        self._timeout = timeout
        self._transport = transport
        self._http: httpx.Client | None = None  # opened on the first request

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def _connection(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(
                base_url=self.base_url,
                auth=self._auth,
                timeout=self._timeout,
                transport=self._transport,
                headers={
                    "User-Agent": f"onetime-cli/{onetime.__version__}",
                    "Accept": "application/json",
                },
            )
        return self._http

    def _send(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        shown = display_url(self.base_url)
        try:
            return self._connection().request(method, path, json=body)
        except httpx.TimeoutException:
            raise Unreachable(shown, "timed out") from None
        except httpx.TransportError as error:
            raise Unreachable(shown, str(error) or type(error).__name__) from None

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self._send(method, path, body)
        if response.is_error:
            raise _error_from(response)
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise UnexpectedAnswer(
                f"{display_url(self.base_url)} did not answer like an Onetime Secret server "
                f"(HTTP {response.status_code}, not a JSON object)"
            )
        return data

    @staticmethod
    def _key(key: str) -> str:
        if not _KEY.fullmatch(key):
            raise InvalidTarget(f"not a valid key: {key!r}")
        return key

    def status(self) -> dict[str, Any]:
        """GET /api/v2/status."""
        return self._call("GET", "/api/v2/status")

    def health(self) -> tuple[int, dict[str, Any] | None]:
        """GET /health: the status code, and the JSON body when there is one."""
        response = self._send("GET", "/health")
        try:
            data = response.json()
        except ValueError:
            data = None
        return response.status_code, data if isinstance(data, dict) else None

    def version(self) -> dict[str, Any]:
        """GET /api/v2/version (needs credentials)."""
        return self._call("GET", "/api/v2/version")

    def conceal(
        self,
        secret: str,
        ttl: int | None = None,
        passphrase: str | None = None,
        recipients: list[str] | None = None,
    ) -> dict[str, Any]:
        """POST /api/v2/secret/conceal."""
        fields: dict[str, Any] = {"secret": secret}
        fields.update(_common_fields(ttl, passphrase, recipients))
        return self._call("POST", "/api/v2/secret/conceal", {"secret": fields})

    def generate(
        self,
        length: int | None = None,
        ttl: int | None = None,
        passphrase: str | None = None,
        recipients: list[str] | None = None,
        symbols: bool | None = None,
    ) -> dict[str, Any]:
        """POST /api/v2/secret/generate; character sets are sent only when symbols is chosen."""
        fields = _common_fields(ttl, passphrase, recipients)
        if length is not None:
            fields["length"] = length
        if symbols is not None:
            fields["character_sets"] = {
                "uppercase": True,
                "lowercase": True,
                "numbers": True,
                "symbols": symbols,
                "exclude_ambiguous": True,
            }
        return self._call("POST", "/api/v2/secret/generate", {"secret": fields})

    def reveal(self, key: str, passphrase: str | None = None) -> dict[str, Any]:
        """POST /api/v2/secret/{key}/reveal: the secret is gone afterwards."""
        body: dict[str, Any] = {"continue": True}
        if passphrase is not None:
            body["passphrase"] = passphrase
        return self._call("POST", f"/api/v2/secret/{self._key(key)}/reveal", body)

    def receipt(self, key: str) -> dict[str, Any]:
        """GET /api/v2/receipt/{key}."""
        return self._call("GET", f"/api/v2/receipt/{self._key(key)}")

    def burn(self, key: str, passphrase: str | None = None) -> dict[str, Any]:
        """POST /api/v2/receipt/{key}/burn with {"continue": true}."""
        body: dict[str, Any] = {"continue": True}
        if passphrase is not None:
            body["passphrase"] = passphrase
        return self._call("POST", f"/api/v2/receipt/{self._key(key)}/burn", body)


def _common_fields(
    ttl: int | None, passphrase: str | None, recipients: list[str] | None
) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if ttl is not None:
        fields["ttl"] = ttl
    if passphrase is not None:
        fields["passphrase"] = passphrase
    if recipients:
        fields["recipient"] = recipients[0] if len(recipients) == 1 else recipients
    return fields
