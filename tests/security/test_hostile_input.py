"""Hostile input: huge or lying bodies, broken encodings, NUL, header injection, traversal, long keys.

Each answer must be a 4xx a person can read (or, where the input is legal, the normal answer),
never a 500 and never a leak. Tests that only a real server can prove (bytes on the wire that
no HTTP client library would send, memory of the worker while 100 MB stream in) talk to one
`onetime serve` process over plain sockets; the rest run in-process.

What the product does with each kind of input is decided here:
- Form bodies are read as Starlette reads them (raw bytes as Latin-1, broken %-escapes as
  U+FFFD), the same on the v1 API and the pages; JSON that is not UTF-8 is refused (400).
- NUL is a character like any other in a secret or a passphrase, kept exactly; in a key, a
  share domain, a recipient, a ttl or a length it makes the value invalid (404 / 4xx).
- Nothing a client sends ever reaches a response header or a mail header with CR/LF in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import select
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx
import pytest

from onetime.api.params import parse_urlencoded
from tests.accounts import make_account
from tests.api.flows import (
    V1,
    V2,
    assert_v1_error,
    assert_v1_unknown_secret,
    assert_v2_error,
    v1_share,
    v2_keys,
)
from tests.conftest import InProcess, LiveServer, start_server, stop_server
from tests.smtp import SmtpServer

MB = 1024 * 1024
DEFAULT_LIMIT = 64 * 1024  # ONETIME_REQUEST_MAX_BYTES derived from the default 10,000-byte secret
RSS_BOUND = 20 * MB  # how much the worker may grow while 100 MB are thrown at it
LONG_KEY_SECONDS = 2.0  # per request with a 1 KB or 64 KB key (milliseconds when idle)
IN_FLIGHT_BOUND = 32 * MB  # what socket buffers can hold before the client must see the 413
FORM = {"content-type": "application/x-www-form-urlencoded"}
JSON = {"content-type": "application/json"}
PYPROJECT_MARKER = b"[tool.ruff]"
PASSWD_MARKER = b"root:x:0:0"


# -- helpers ---------------------------------------------------------------------------------------


def assert_headers_are_clean(response: httpx.Response) -> None:
    """No response header carries CR/LF or anything a test tried to smuggle in."""
    for name, value in response.headers.raw:
        assert not re.search(rb"[\r\n]", value), (name, value)
        assert b"injected" not in name.lower(), (name, value)
        if name.lower() == b"set-cookie":
            assert b"injected" not in value.lower(), value


def guard(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Check the headers of every answer this client receives, and that none is a 5xx."""

    async def check(response: httpx.Response) -> None:
        assert response.status_code < 500, (response.request.url, response.status_code)
        assert_headers_are_clean(response)

    client.event_hooks["response"].append(check)
    return client


@pytest.fixture
async def guarded(env: InProcess) -> InProcess:
    guard(env.client)
    return env


def asgi_scope(method: str, target: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """The scope a server builds for `target` (a path as sent, %-escapes and all)."""
    raw_path, _, query = target.encode().partition(b"?")
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(raw_path.decode("ascii")),
        "raw_path": raw_path,
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }


async def call_asgi(
    app: Any,
    method: str,
    target: str,
    body: bytes = b"",
    headers: tuple[tuple[bytes, bytes], ...] = (),
) -> httpx.Response:
    """One request straight into the app, as a server hands it over: no client library checks
    the URL's length or tidies `..` away. The answer is checked like every other (`guard`)."""
    length = (b"content-length", b"%d" % len(body))
    scope = asgi_scope(method, target, [length, *headers])
    pending = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop(0)
        await asyncio.Event().wait()  # the client stays until the answer is complete
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    response = httpx.Response(
        start["status"],
        headers=start.get("headers", []),
        content=b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"),
        request=httpx.Request(method, "http://testserver/"),
    )
    assert response.status_code < 500, (target[:100], response.status_code)
    assert_headers_are_clean(response)
    return response


def assert_web_413(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text[:200]
    assert response.headers["content-type"].startswith("text/html")
    assert f"{DEFAULT_LIMIT:,}" in response.text


def assert_v1_413(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text[:200]
    assert response.headers["x-ots-intended-status"] == "413"
    assert f"{DEFAULT_LIMIT:,}" in response.json()["message"]


def assert_v2_413(response: httpx.Response) -> None:
    body = assert_v2_error(response, 413, "too_large")
    assert f"{DEFAULT_LIMIT:,}" in body["error"]


# The three ways to create a secret, each with its own error shape.
CREATE_ENDPOINTS: dict[str, tuple[str, dict[str, str], bytes, Callable[[httpx.Response], None]]] = {
    "v1-form": (f"{V1}/share", FORM, b"secret=", assert_v1_413),
    "v2-json": (f"{V2}/secret/conceal", JSON, b'{"secret": {"secret": "', assert_v2_413),
    "web-form": ("/", FORM, b"secret=", assert_web_413),
}


async def _reveal_v2(client: httpx.AsyncClient, key: str, passphrase: str | None = None) -> Any:
    body = {"continue": True, **({"passphrase": passphrase} if passphrase is not None else {})}
    return await client.post(f"{V2}/secret/{key}/reveal", json=body)


async def _share_key_of(client: httpx.AsyncClient, receipt_key: str) -> str:
    receipt = await client.get(f"{V2}/receipt/{receipt_key}")
    assert receipt.status_code == 200, receipt.text
    key: str = receipt.json()["record"]["secret_identifier"]
    return key


# -- a real server, spoken to over plain sockets ----------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("hostile")
    live = start_server(root / "data", root / "server.log")
    yield live
    stop_server(live)


def _address(server: LiveServer) -> tuple[str, int]:
    parts = urlsplit(server.url)
    assert parts.port is not None
    return "127.0.0.1", parts.port


def _status(answer: bytes) -> int | None:
    match = re.match(rb"HTTP/1\.[01] (\d{3}) ", answer)
    return int(match.group(1)) if match else None


def _read_answer(sock: socket.socket, answer: bytes = b"", timeout: float = 10) -> bytes:
    """Read until the head and the declared body are in, the server closes, or `timeout`."""
    sock.settimeout(timeout)
    while True:
        head, found, body = answer.partition(b"\r\n\r\n")
        if found:
            length = re.search(rb"(?im)^content-length: *(\d+)", head)
            if length and len(body) >= int(length.group(1)):
                return answer
        try:
            got = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            return answer
        if not got:
            return answer
        answer += got


def exchange(server: LiveServer, request: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes as they are (no client library tidies them up); return the raw answer."""
    with socket.create_connection(_address(server), timeout=timeout) as sock:
        # The server may stop listening half way: then what did it say?
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)
        return _read_answer(sock, timeout=timeout)


def get(path: bytes, method: bytes = b"GET", headers: bytes = b"") -> bytes:
    return (
        method + b" " + path + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" + headers + b"\r\n"
    )


@dataclass
class Streamed:
    sent: int  # body bytes the client managed to send before it saw the answer
    answer: bytes


def stream(server: LiveServer, path: str, content_type: str, total: int, chunked: bool) -> Streamed:
    """POST a `total`-byte body in 64 KiB pieces, looking for an answer before every piece."""
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
    head = f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: {content_type}\r\n{framing}\r\n\r\n"
    piece = b"x" * 65536
    framed = b"10000\r\n" + piece + b"\r\n" if chunked else piece
    sent, answer = 0, b""
    with socket.create_connection(_address(server), timeout=10) as sock:
        sock.sendall(head.encode())
        sock.settimeout(5)  # a server that stops reading makes sendall time out, not hang
        while sent < total:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                got = sock.recv(65536)
                answer += got
                if not got or b"\r\n\r\n" in answer:
                    break
            try:
                sock.sendall(framed)
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                break
            sent += len(piece)
        return Streamed(sent, _read_answer(sock, answer))


def _proc_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for process {pid}")


def worker_pid(server: LiveServer) -> int:
    """The process that serves requests: the child of `onetime serve`, or itself with one worker."""
    pid = server.process.pid
    children = [
        int(child)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for child in (task / "children").read_text().split()
    ]
    assert len(children) <= 1, children
    return children[0] if children else pid


def memory(pid: int) -> tuple[int, int]:
    """(resident now, resident at its peak) in bytes."""
    return _proc_kib(pid, "VmRSS") * 1024, _proc_kib(pid, "VmHWM") * 1024


def _access_lines(server: LiveServer, containing: str) -> list[str]:
    return [
        line.partition("onetime.access: ")[2]
        for line in server.logs().splitlines()
        if "onetime.access: " in line and containing in line.partition("onetime.access: ")[2]
    ]


def assert_healthy(server: LiveServer) -> None:
    assert httpx.get(f"{server.url}/health", timeout=10).status_code == 200


# -- bodies that are too large ----------------------------------------------------------------------


class Pieces:
    """A body sent in `piece`-byte pieces from a generator, counting how many were pulled."""

    def __init__(self, prefix: bytes, total: int, piece: int = 65536) -> None:
        self.prefix, self.total, self.piece = prefix, total, piece
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.prefix
        while self.pulled * self.piece < self.total:
            self.pulled += 1
            yield b"x" * self.piece


@pytest.mark.parametrize("endpoint", CREATE_ENDPOINTS, ids=list(CREATE_ENDPOINTS))
async def test_oversized_bodies_are_refused_early_in_the_surfaces_own_shape(
    guarded: InProcess, endpoint: str
) -> None:
    path, headers, prefix, assert_413 = CREATE_ENDPOINTS[endpoint]
    # 1 MB sent whole.
    assert_413(await guarded.client.post(path, content=prefix + b"y" * MB, headers=headers))
    # 1 MB and 100 MB declared: refused on the length, at most the first piece is pulled.
    for size in (MB, 100 * MB):
        declared = Pieces(prefix, size)
        length = {"content-length": str(size + len(prefix))}
        assert_413(await guarded.client.post(path, content=declared, headers=headers | length))
        assert declared.pulled <= 1, (size, declared.pulled)
    # 100 MB not declared (chunked): read only until it passes the limit.
    undeclared = Pieces(prefix, 100 * MB, piece=MB // 16)
    assert_413(await guarded.client.post(path, content=undeclared, headers=headers))
    assert undeclared.pulled * undeclared.piece <= DEFAULT_LIMIT + undeclared.piece


@pytest.mark.slow
def test_100mb_streamed_to_a_real_server_is_cut_short_and_memory_stays_flat(
    server: LiveServer,
) -> None:
    limit = f"{DEFAULT_LIMIT:,}".encode()
    targets: list[tuple[str, str, Callable[[bytes, bytes], bool]]] = [
        (
            f"{V1}/share",
            "application/x-www-form-urlencoded",
            lambda head, body: b"x-ots-intended-status: 413" in head and b'{"message":' in body,
        ),
        (
            f"{V2}/secret/conceal",
            "application/json",
            lambda head, body: b'"error_type":"too_large"' in body and limit in body,
        ),
        (
            "/",
            "application/x-www-form-urlencoded",
            lambda head, body: b"text/html" in head and limit in body,
        ),
    ]
    pid = worker_pid(server)
    # Warm up every path first (templates compile on first use), so growth means buffering.
    for path, content_type, _ in targets:
        for chunked in (False, True):
            assert _status(stream(server, path, content_type, MB, chunked).answer) == 413
    rss_before, peak_before = memory(pid)

    for path, content_type, in_shape in targets:
        for chunked in (False, True):
            streamed = stream(server, path, content_type, 100 * MB, chunked)
            assert _status(streamed.answer) == 413, (path, chunked, streamed.answer[:200])
            assert streamed.sent < IN_FLIGHT_BOUND, (path, chunked, streamed.sent)
            head, _, body = streamed.answer.partition(b"\r\n\r\n")
            assert in_shape(head.lower(), body), (path, streamed.answer[:300])

    rss_after, peak_after = memory(pid)
    assert rss_after - rss_before < RSS_BOUND, (rss_before, rss_after)
    assert peak_after - peak_before < RSS_BOUND, (peak_before, peak_after)
    assert_healthy(server)


@pytest.mark.slow
def test_a_content_length_that_lies_low_never_makes_the_rest_a_body(server: LiveServer) -> None:
    # 10 bytes declared, a megabyte sent: the megabyte is a (bad) next request, never read as
    # part of the secret, and nothing of it is kept.
    pid = worker_pid(server)
    rss_before, peak_before = memory(pid)
    answer = exchange(
        server,
        f"POST {V2}/secret/conceal HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        "Content-Length: 10\r\n\r\n".encode()
        + b'{"secret":'
        + b"z" * MB,
    )
    # The server may answer the 10 bytes (not a JSON object) before it gives up on the rest;
    # either way every answer on this connection is a 4xx and nothing was created.
    statuses = [int(s) for s in re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)]
    assert statuses, answer[:200]
    assert all(400 <= status < 500 for status in statuses), statuses
    assert b'"success"' not in answer
    rss_after, peak_after = memory(pid)
    assert rss_after - rss_before < RSS_BOUND
    assert peak_after - peak_before < RSS_BOUND
    assert_healthy(server)


@pytest.mark.slow
@pytest.mark.parametrize(
    "framing",
    [
        b"Content-Length: abc",
        b"Content-Length: -1",
        b"Content-Length: 1e3",
        b"Content-Length: 2\r\nContent-Length: 100000000",
        b"Content-Length: 2\r\nTransfer-Encoding: chunked",
        b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity",
    ],
    ids=[
        "not-a-number",
        "negative",
        "exponent",
        "two-lengths",
        "length-and-chunked",
        "two-codings",
    ],
)
def test_a_malformed_length_is_a_400_from_the_server(server: LiveServer, framing: bytes) -> None:
    answer = exchange(
        server,
        b"POST /api/v2/secret/conceal HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        + framing
        + b"\r\n\r\n{}",
    )
    assert _status(answer) == 400, answer[:200]
    assert_healthy(server)


@pytest.mark.slow
def test_a_client_that_declares_more_than_it_sends_is_let_go_without_a_500(
    server: LiveServer,
) -> None:
    with socket.create_connection(_address(server), timeout=10) as sock:
        sock.sendall(
            f"POST {V2}/secret/status HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n".encode()
            + b"Content-Length: 1000\r\n\r\n{"
        )
        time.sleep(0.3)  # the server is waiting for 999 more bytes; leave instead
    deadline = time.monotonic() + 10
    while not (left := _access_lines(server, "POST (no route) 499")):
        assert time.monotonic() < deadline, _access_lines(server, "")[-3:]
        time.sleep(0.05)
    assert len(left) == 1
    assert _access_lines(server, " 500 ") == []
    assert_healthy(server)


async def test_an_abandoned_request_is_logged_as_abandoned_not_as_a_server_error(
    env: InProcess, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="onetime.access")
    messages = [
        {"type": "http.request", "body": b'{"secret": ', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = asgi_scope("POST", f"{V2}/secret/conceal", [(b"content-type", b"application/json")])
    await env.app(scope, receive, send)
    assert sent == []  # nobody to answer
    lines = [r.getMessage() for r in caplog.records if r.name == "onetime.access"]
    assert len(lines) == 1
    assert " 499 " in lines[0]


# -- bytes that are not UTF-8 -----------------------------------------------------------------------

NOT_UTF8_FORMS = [
    b"secret=caf\xe9+\xff\xfe&ttl=3600",  # raw bytes: read as Latin-1, as Starlette reads them
    b"secret=%ff%fe%c3&ttl=3600",  # broken escapes: U+FFFD, as Starlette reads them
    b"secret=ok&passphrase=%ff%ff%ff%ff",
]


async def test_forms_that_are_not_utf8_are_read_as_starlette_reads_them(guarded: InProcess) -> None:
    client = guarded.client
    for body in NOT_UTF8_FORMS:
        expected = parse_urlencoded(body)
        created = await client.post(f"{V1}/share", content=body, headers=FORM)
        assert created.status_code == 200, (body, created.text)
        revealed = await client.post(
            f"{V1}/secret/{created.json()['secret_key']}",
            data={"passphrase": expected.get("passphrase", "")},
        )
        assert revealed.json()["value"] == expected["secret"]
        if "passphrase" in expected:
            continue
        # The page's form reads the same bytes the same way.
        page = await client.post("/", content=body, headers=FORM)
        assert page.status_code == 303, (body, page.text[:200])
        key = await _share_key_of(client, page.headers["location"].split("/")[2].split("?")[0])
        assert (await _reveal_v2(client, key)).json()["record"]["secret_value"] == expected[
            "secret"
        ]


async def test_json_that_is_not_utf8_is_invalid_json(guarded: InProcess) -> None:
    body = b'{"secret": "\xff\xfe", "passphrase": "\xc3", "continue": true}'
    nowhere = "0" * 62
    for path in (
        f"{V1}/share",
        f"{V1}/secret/{nowhere}",
        f"{V1}/receipt/{nowhere}/burn",
        f"{V2}/secret/conceal",
        f"{V2}/secret/{nowhere}/reveal",
        f"{V2}/receipt/{nowhere}/burn",
        f"{V2}/secret/status",
    ):
        response = await guarded.client.post(path, content=body, headers=JSON)
        if path.startswith(V1):
            assert "JSON" in assert_v1_error(response, intended=400)["message"], path
        else:
            assert_v2_error(response, 400, "invalid_json")


async def test_a_query_string_that_is_not_utf8_is_read_with_replacement_characters(
    guarded: InProcess,
) -> None:
    created = await guarded.client.post(f"{V1}/share?secret=%ff%fe%C3&ttl=%ff")
    # ttl "\ufffd" is not a number: refused, naming the field.
    assert "ttl" in assert_v1_error(created, intended=400)["message"]
    created = await guarded.client.post(f"{V1}/share?secret=a%ff%fe")
    assert created.status_code == 200
    revealed = await guarded.client.post(f"{V1}/secret/{created.json()['secret_key']}")
    assert revealed.json()["value"] == "a\ufffd\ufffd"
    skey, _ = await v2_keys(guarded.client, "not consumed")
    shown = await guarded.client.get(f"{V2}/secret/{skey}?continue=%ff%fe")
    assert shown.status_code == 200
    assert "secret_value" not in shown.json()["record"]  # "continue" was not a yes


# Every route that takes a key, with `{key}` where it goes.
KEY_ROUTES = [
    ("POST", f"{V1}/secret/{{key}}"),
    ("GET", f"{V1}/receipt/{{key}}"),
    ("POST", f"{V1}/receipt/{{key}}"),
    ("GET", f"{V1}/private/{{key}}"),
    ("GET", f"{V1}/metadata/{{key}}"),
    ("POST", f"{V1}/receipt/{{key}}/burn"),
    ("POST", f"{V1}/private/{{key}}/burn"),
    ("POST", f"{V1}/metadata/{{key}}/burn"),
    ("GET", f"{V2}/secret/{{key}}"),
    ("POST", f"{V2}/secret/{{key}}/reveal"),
    ("GET", f"{V2}/secret/{{key}}/status"),
    ("GET", f"{V2}/receipt/{{key}}"),
    ("GET", f"{V2}/private/{{key}}"),
    ("POST", f"{V2}/receipt/{{key}}/burn"),
    ("PATCH", f"{V2}/receipt/{{key}}"),
    ("GET", f"{V2}/guest/secret/{{key}}"),
    ("POST", f"{V2}/guest/receipt/{{key}}/burn"),
    ("GET", "/secret/{key}"),
    ("HEAD", "/secret/{key}"),
    ("POST", "/secret/{key}"),
    ("GET", "/receipt/{key}"),
    ("GET", "/private/{key}"),
    ("POST", "/receipt/{key}/burn"),
]


async def _ask(env: InProcess, method: str, route: str, key: str) -> httpx.Response:
    target = route.replace("{key}", key)
    if method in ("GET", "HEAD"):
        return await call_asgi(env.app, method, target)
    if route.startswith("/api/"):
        body = b'{"continue": true, "memo": "m"}'
        return await call_asgi(
            env.app, method, target, body, ((b"content-type", b"application/json"),)
        )
    body = b"confirm=1&passphrase=x"
    return await call_asgi(
        env.app, method, target, body, ((b"content-type", FORM["content-type"].encode()),)
    )


def assert_not_found(route: str, response: httpx.Response) -> None:
    """The surface's own "not found": v1's legacy answer, v2's JSON 404, the pages' gone page."""
    if route.startswith(V1):
        assert response.status_code == 404, response.text[:200]
        assert response.headers["x-ots-intended-status"] == "404"
    elif route.endswith("/status"):  # v2 answers a status for any key: "unknown"
        assert response.status_code == 200, response.text[:200]
        assert response.json()["record"] == {"state": "unknown"}
    elif route.startswith("/api/"):
        assert_v2_error(response, 404, "not_found")
    else:
        assert response.status_code == 404, response.text[:200]
        assert response.headers["content-type"].startswith("text/html")


async def test_keys_that_are_not_utf8_or_carry_nul_are_not_found(guarded: InProcess) -> None:
    real, _ = await v2_keys(guarded.client, "untouched")
    for method, route in KEY_ROUTES:
        for key in ("%ff%fe", "%c0%af", real[:30] + "%00" + real[30:], real + "%00", "%00" * 62):
            assert_not_found(route, await _ask(guarded, method, route, key))
    status = await guarded.client.get(f"{V2}/secret/{real}/status")
    assert status.json()["record"]["state"] == "new"


async def test_cookies_that_are_not_utf8_are_ignored(guarded: InProcess) -> None:
    for cookie in (
        b"session=\xff\xfe\x80; lang=\xff; theme=\xc3",
        b"session=%ff%00; lang=fr%00; theme=dark\x00",
        b"\xff\xff\xff",
        b"lang=" + b"\xe9" * 4000,
    ):
        for path in ("/", "/account", f"{V2}/status", "/secret/" + "0" * 62):
            response = await guarded.client.get(path, headers=[(b"cookie", cookie)])
            assert response.status_code in (200, 303, 404), (cookie, path, response.status_code)
            assert "set-cookie" not in response.headers or path == "/account"


@pytest.mark.slow
@pytest.mark.parametrize(
    "request_line",
    [
        b"GET /secret/\xff\xfe HTTP/1.1",
        b"GET /api/v2/secret/\xff HTTP/1.1",
        b"POST /api/v1/secret/\xc3 HTTP/1.1",
        b"GET /api/v2/status?x=\xff\xfe HTTP/1.1",
        b"GET /secret/ab\x00cd HTTP/1.1",
        b"GET /api/v1/receipt/%ff%00 HTTP/1.1",
    ],
)
def test_raw_bytes_in_the_request_line_never_reach_a_500(
    server: LiveServer, request_line: bytes
) -> None:
    answer = exchange(server, request_line + b"\r\nHost: t\r\nConnection: close\r\n\r\n")
    assert 400 <= (_status(answer) or 0) < 500, answer[:200]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("cookie", "expected"),
    [(b"session=\xff\xfe; lang=\xff; theme=\x80", 200), (b"session=ab\x00cd", 400)],
)
def test_raw_cookie_bytes_on_the_wire(server: LiveServer, cookie: bytes, expected: int) -> None:
    answer = exchange(server, get(b"/", headers=b"Cookie: " + cookie + b"\r\n"))
    assert _status(answer) == expected, answer[:200]


# -- NUL in every field -----------------------------------------------------------------------------


async def test_nul_in_a_secret_is_kept_exactly(guarded: InProcess) -> None:
    text = "before\x00after\x00"
    legacy = await v1_share(guarded.client, text)
    revealed = await guarded.client.post(f"{V1}/secret/{legacy['secret_key']}")
    assert revealed.json()["value"] == text

    key, _ = await v2_keys(guarded.client, text)
    assert (await _reveal_v2(guarded.client, key)).json()["record"]["secret_value"] == text

    page = await guarded.client.post("/", data={"secret": text})
    assert page.status_code == 303
    key = await _share_key_of(guarded.client, page.headers["location"].split("/")[2].split("?")[0])
    assert (await _reveal_v2(guarded.client, key)).json()["record"]["secret_value"] == text


async def test_nul_in_a_passphrase_is_part_of_it_not_its_end(guarded: InProcess) -> None:
    passphrase = "open\x00sesame"
    key, _ = await v2_keys(guarded.client, "behind a NUL", passphrase=passphrase)
    for cut_short in ("open", "open\x00", "open\x00sesam"):
        assert_v2_error(await _reveal_v2(guarded.client, key, cut_short), 422, "wrong_passphrase")
    opened = await _reveal_v2(guarded.client, key, passphrase)
    assert opened.json()["record"]["secret_value"] == "behind a NUL"

    legacy = await v1_share(guarded.client, "legacy", passphrase=passphrase)
    wrong = await guarded.client.post(
        f"{V1}/secret/{legacy['secret_key']}", data={"passphrase": "open"}
    )
    assert_v1_unknown_secret(wrong, legacy["secret_key"])
    right = await guarded.client.post(
        f"{V1}/secret/{legacy['secret_key']}", data={"passphrase": passphrase}
    )
    assert right.json()["value"] == "legacy"


async def test_nul_in_a_field_that_is_not_content_is_refused_naming_it(guarded: InProcess) -> None:
    for field, value in (
        ("ttl", "36\x0000"),
        ("ttl", "\x00"),
        ("share_domain", "example.com\x00.evil.example"),
        ("share_domain", "\x00"),
        ("length", "1\x006"),
    ):
        v2_action, v1_action = (
            ("generate", "generate") if field == "length" else ("conceal", "share")
        )
        v2 = await guarded.client.post(
            f"{V2}/secret/{v2_action}", json={"secret": {"secret": "x", field: value}}
        )
        assert_v2_error(v2, 422, "invalid_input", field=field)
        v1 = await guarded.client.post(f"{V1}/{v1_action}", data={"secret": "x", field: value})
        assert_v1_error(v1, intended=400)
        if field != "share_domain":  # the pages have no share domain field
            page = await guarded.client.post(
                f"/{'generate' if field == 'length' else ''}", data={"secret": "x", field: value}
            )
            assert page.status_code == 422, (field, page.status_code)


async def test_digits_python_reads_but_int_refuses_are_a_422_not_a_500(guarded: InProcess) -> None:
    # "²" is a digit to str.isdigit() and not to int(): it once reached int() and a 500.
    for length in ("²", "\u0661\u0666", "\uff11\uff16"):  # superscript, Arabic-Indic, fullwidth
        v2 = await guarded.client.post(f"{V2}/secret/generate", json={"secret": {"length": length}})
        assert_v2_error(v2, 422, "invalid_input", field="length")
        assert_v1_error(await guarded.client.post(f"{V1}/generate", data={"length": length}), 400)
        page = await guarded.client.post("/generate", data={"length": length})
        assert page.status_code == 422


async def test_a_very_long_negative_ttl_is_the_shortest_lifetime_not_the_longest(
    guarded: InProcess,
) -> None:
    for ttl in ("-" + "9" * 13, "-" + "0" * 30 + "5"):
        answer = await guarded.client.post(
            f"{V2}/secret/conceal", json={"secret": {"secret": "x", "ttl": ttl}}
        )
        assert answer.json()["record"]["secret"]["secret_ttl"] == 60, ttl
    padded = await guarded.client.post(
        f"{V2}/secret/conceal", json={"secret": {"secret": "x", "ttl": "0" * 30 + "3600"}}
    )
    assert padded.json()["record"]["secret"]["secret_ttl"] == 3600


async def test_nul_in_status_identifiers_is_unknown(guarded: InProcess) -> None:
    real, _ = await v2_keys(guarded.client)
    response = await guarded.client.post(
        f"{V2}/secret/status", json={"identifiers": [real + "\x00", "\x00", real]}
    )
    assert [r["state"] for r in response.json()["records"]] == ["unknown", "unknown", "new"]


# -- header injection ------------------------------------------------------------------------------

INJECTED_RECIPIENTS = [
    "friend@example.net\r\nBcc: victim@example.org",
    "friend@example.net\nX-Injected: yes",
    "friend@example.net\rX-Injected: yes",
    "friend@example.net%0d%0aBcc:victim@example.org",  # sent as text: stays literal in JSON
    "friend@example.net\u2028X-Injected: yes",
    "friend@example.net\x85X-Injected: yes",
    "friend\x00@example.net",
    "friend@example.net\x00victim@example.org",
    "fr\x01iend@example.net",
    "friend\u202e@example.net",  # RIGHT-TO-LEFT OVERRIDE: reorders what the reader sees
    "Friend <friend@example.net>",
    '"friend@example.net\r\nBcc: victim@example.org"@example.net',
]


async def test_recipients_with_injected_headers_are_refused_and_never_mailed(
    app_factory: Callable[..., Any], smtp: SmtpServer
) -> None:
    async with app_factory(smtp_url=f"smtp://127.0.0.1:{smtp.port}") as env:
        guard(env.client)
        alice = await make_account(env.app, "alice@example.com")
        smtp.inbox.envelopes.clear()  # her own address confirmation
        for recipient in INJECTED_RECIPIENTS:
            for value in (recipient, [recipient], ["friend@example.net", recipient]):
                answer = await env.client.post(
                    f"{V2}/secret/conceal",
                    json={"secret": {"secret": "x", "recipient": value}},
                    auth=alice.basic,
                )
                assert_v2_error(answer, 422, "invalid_input", field="recipient")
            # Form-encoded (CR LF as %0D%0A, which the form reader turns back): the same refusal.
            legacy = await env.client.post(
                f"{V1}/share",
                content=b"secret=x&recipient=" + quote(recipient).encode(),
                headers=FORM,
                auth=alice.basic,
            )
            assert "recipient" in assert_v1_error(legacy, intended=400)["message"]
        assert [(e.rcpt_tos, e.content) for e in smtp.inbox.envelopes] == []

        # The same path with a plain address sends one plain mail: the refusals above were not
        # a mailer that sends nothing.
        sent = await env.client.post(
            f"{V2}/secret/conceal",
            json={"secret": {"secret": "x", "recipient": "friend@example.net"}},
            auth=alice.basic,
        )
        assert sent.status_code == 200, sent.text
    (envelope,) = smtp.inbox.envelopes
    assert envelope.rcpt_tos == ["friend@example.net"]
    (message,) = smtp.inbox.messages()
    assert message["To"] == "friend@example.net"
    assert message["Bcc"] is None
    assert message["X-Injected"] is None
    assert b"victim" not in bytes(envelope.content or b"")


INJECTED_DOMAINS = [
    "links.example.com\r\nX-Injected: yes",
    "links.example.com\nSet-Cookie: injected=1",
    "links.example.com%0d%0aX-Injected:%20yes",
    "links.example.com\x00",
]


async def test_share_domains_with_injected_headers_are_refused(
    app_factory: Callable[..., Any],
) -> None:
    async with app_factory(share_domains=["links.example.com"]) as env:
        guard(env.client)
        for domain in INJECTED_DOMAINS:
            v2 = await env.client.post(
                f"{V2}/secret/conceal", json={"secret": {"secret": "x", "share_domain": domain}}
            )
            assert_v2_error(v2, 422, "invalid_input", field="share_domain")
            v1 = await env.client.post(
                f"{V1}/share",
                content=b"secret=x&share_domain=" + quote(domain).encode(),
                headers=FORM,
            )
            assert_v1_error(v1, intended=400)
        # Surrounding whitespace (a CR LF included) is trimmed from a configured domain, and
        # what is kept has none left.
        kept = await env.client.post(
            f"{V2}/secret/conceal",
            json={"secret": {"secret": "x", "share_domain": " links.example.com\r\n"}},
        )
        assert kept.status_code == 200, kept.text
        receipt = kept.json()["record"]["receipt"]
        assert receipt["share_domain"] == "links.example.com"
        assert not re.search(r"[\r\n]", str(receipt))


async def test_redirects_never_carry_crlf_from_the_request(guarded: InProcess) -> None:
    bob = await make_account(guarded.app, "bob@example.com")
    for target in (
        "/x\r\nSet-Cookie: injected=1",
        "/x%0d%0aSet-Cookie:%20injected=1",
        "/\r\nX-Injected: yes",
        "/x\u2028X-Injected: yes",
    ):
        for path, form in (
            ("/preferences", {"next": target, "lang": "en"}),
            ("/signin", {"next": target, "email": bob.email, "password": bob.password}),
        ):
            # `guard` checks every header of every answer; the Location is the one at risk.
            response = await guarded.client.post(path, data=form)
            assert response.status_code == 303, (path, response.text[:200])
            assert not re.search(r"[\r\n]", response.headers["location"])
            guarded.client.cookies.clear()  # signed out again: the next form needs no token
    # A key that carries an encoded CR LF, on the route that redirects to its receipt.
    burn = await guarded.client.post(
        "/receipt/abc%0d%0aX-Injected:%20yes/burn", data={"confirm": "1"}
    )
    assert burn.status_code == 404


# -- static files ----------------------------------------------------------------------------------

# The static directory is src/onetime/web/static: four levels below the project (pyproject.toml).
TRAVERSALS = [
    b"/static/../../../../pyproject.toml",
    b"/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/pyproject.toml",
    b"/static/%2E%2E/%2E%2E/%2E%2E/%2E%2E/pyproject.toml",
    b"/static/.%2e/.%2e/.%2e/.%2e/pyproject.toml",
    b"/static/..%2f..%2f..%2f..%2fpyproject.toml",
    b"/static/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fpyproject.toml",
    b"/static/%252e%252e/%252e%252e/%252e%252e/%252e%252e/pyproject.toml",
    b"/static/..%252f..%252f..%252f..%252fpyproject.toml",
    b"/static/..\\..\\..\\..\\pyproject.toml",
    b"/static/..%5c..%5c..%5c..%5cpyproject.toml",
    b"/static/%c0%ae%c0%ae/%c0%ae%c0%ae/%c0%ae%c0%ae/%c0%ae%c0%ae/pyproject.toml",
    b"/static/..;/..;/..;/..;/pyproject.toml",
    b"/static/style.css/../../../../../pyproject.toml",
    b"/static//etc/passwd",
    b"/static/%2fetc%2fpasswd",
    b"/static/../../../../../../../../../../etc/passwd",
    b"/static/%2e%2e/" * 12 + b"etc/passwd",
    b"/static/../../../../../../../../../../etc/passwd%00.css",
    b"/static/style.css%00",
    b"/static/%00",
    b"/static/..",
    b"/static/../",
    b"/../../../../../../etc/passwd",
    b"/static/\\etc\\passwd",
    b"/static/file:///etc/passwd",
]


@pytest.mark.slow
@pytest.mark.parametrize("path", TRAVERSALS, ids=[p.decode("latin-1") for p in TRAVERSALS])
def test_nothing_outside_the_static_directory_is_served(server: LiveServer, path: bytes) -> None:
    for method in (b"GET", b"HEAD"):
        answer = exchange(server, get(path, method))
        status = _status(answer)
        assert status in (400, 404), answer[:300]
        assert PYPROJECT_MARKER not in answer
        assert PASSWD_MARKER not in answer


@pytest.mark.slow
def test_the_static_directory_still_serves_its_own_files(server: LiveServer) -> None:
    # The traversal answers above are 404 because the path is refused, not because nothing is
    # ever served: the same server hands out its stylesheet.
    answer = exchange(server, get(b"/static/style.css"))
    assert _status(answer) == 200
    assert b":root" in answer


async def test_traversal_in_process_never_escapes_either(guarded: InProcess) -> None:
    # The scope a server builds from these paths, handed to the app as it is: whatever the
    # server in front does, the static files refuse to leave their directory on their own.
    for raw in TRAVERSALS:
        target = raw.decode("latin-1")
        if not target.isascii():
            continue
        for method in ("GET", "HEAD"):
            response = await call_asgi(guarded.app, method, target)
            assert response.status_code in (400, 404), (target, response.status_code)
            assert PYPROJECT_MARKER not in response.content
            assert PASSWD_MARKER not in response.content


# -- very long keys --------------------------------------------------------------------------------


async def test_very_long_keys_are_not_found_quickly_on_every_route(guarded: InProcess) -> None:
    for length in (1024, 64 * 1024):
        key = ("0123456789abcdefghijklmnopqrstuvwxyz" * (length // 36 + 1))[:length]
        for method, route in KEY_ROUTES:
            started = time.perf_counter()
            response = await _ask(guarded, method, route, key)
            elapsed = time.perf_counter() - started
            assert_not_found(route, response)
            assert elapsed < LONG_KEY_SECONDS, (length, route, elapsed)


@pytest.mark.slow
@pytest.mark.parametrize("route", [b"/secret/", b"/api/v1/secret/", b"/api/v2/receipt/"])
def test_a_1mb_url_is_refused_by_the_server_and_memory_stays_flat(
    server: LiveServer, route: bytes
) -> None:
    pid = worker_pid(server)
    rss_before, peak_before = memory(pid)
    started = time.perf_counter()
    answer = exchange(server, get(route + b"a" * MB, b"POST" if b"v1" in route else b"GET"))
    assert time.perf_counter() - started < 5
    # The server refuses the request line; the connection may close before the answer is read.
    assert _status(answer) in (400, 414, 431) or answer == b"", answer[:200]
    rss_after, peak_after = memory(pid)
    assert rss_after - rss_before < RSS_BOUND
    assert peak_after - peak_before < RSS_BOUND
    assert_healthy(server)
