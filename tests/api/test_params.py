"""Form bodies are read exactly as Starlette's own form parser reads them."""

from __future__ import annotations

import pytest
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
