"""Form bodies are read exactly as Starlette's own form parser reads them."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from onetime.api.params import parse_urlencoded
from onetime.core.errors import InvalidInput

BODIES = [
    b"secret=hello&ttl=3600",
    b"secret=a+b%20c%2Bd&ttl=",
    b"secret=caf%C3%A9&passphrase=%E2%9C%93",
    b"secret=caf\xc3\xa9",  # raw bytes, not percent-encoded: Latin-1, as Starlette reads them
    b"secret=one&secret=two",
    b"&&secret=x&&",
    b"flag&secret=x",
    b"=value&secret=x",
    b"secret=a=b=c",
    b"secret=%zz%&x=%4",
    b"",
    b"lonely",
]


async def _starlette_reads(body: bytes) -> dict[str, str]:
    scope = {
        "type": "http",
        "method": "POST",
        "headers": [(b"content-type", b"application/x-www-form-urlencoded")],
    }

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    form = await Request(scope, receive).form()
    return {name: value for name, value in form.items() if isinstance(value, str)}


@pytest.mark.parametrize("body", BODIES)
async def test_forms_read_as_starlette_reads_them(body: bytes) -> None:
    assert parse_urlencoded(body) == await _starlette_reads(body)


def test_too_many_fields_are_refused() -> None:
    assert len(parse_urlencoded(b"&".join(b"f%d=1" % n for n in range(1000)))) == 1000
    with pytest.raises(InvalidInput):
        parse_urlencoded(b"&".join(b"f%d=1" % n for n in range(1001)))


# Pieces that matter to a form parser: separators, escapes good and broken, raw bytes, UTF-8.
_PIECES = st.sampled_from(
    [
        *b"& = + % %2 %20 %26 %3D %2B %zz %C3%A9 %FF %E2%9C %00 ; a secret".split(),
        *(b" ", b"\x00", b"\xff", b"\xc3\xa9", b"\r\n"),
    ]
)
_TEXT = st.lists(_PIECES, max_size=6).map(b"".join)
# name=value pairs, often with a repeated name (the last one wins), and free-form noise.
_FIELDS = st.lists(
    st.tuples(
        st.sampled_from([b"secret", b"ttl", b""]) | _TEXT, st.sampled_from([b"=", b""]), _TEXT
    ),
    max_size=8,
).map(lambda fields: b"&".join(name + equals + value for name, equals, value in fields))
_BODIES = _FIELDS | st.lists(_PIECES, max_size=30).map(b"".join) | st.binary(max_size=200)


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(_BODIES)
def test_any_form_body_reads_as_starlette_reads_it(body: bytes) -> None:
    assert parse_urlencoded(body) == asyncio.run(_starlette_reads(body))
