"""Reading request parameters the loose way v1 clients send them, and shared field parsing."""

from __future__ import annotations

import json
import unicodedata
from typing import Any
from urllib.parse import unquote_plus

from fastapi import Request
from starlette.exceptions import HTTPException

from onetime.core.errors import N_, InvalidInput
from onetime.core.passwords import DEFAULT_LENGTH
from onetime.mail.address import check_recipient

_URLENCODED = "application/x-www-form-urlencoded"
_FORM_TYPES = (_URLENCODED, "multipart/form-data")
_MAX_FORM_FIELDS = 1000  # as Starlette's form parser
MAX_RECIPIENTS = 20


async def read_params(request: Request) -> dict[str, Any]:
    """Query parameters merged with a form or JSON body (the body wins)."""
    # Most requests carry no query string: skip building Starlette's parser for nothing.
    params: dict[str, Any] = dict(request.query_params) if request.scope["query_string"] else {}
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method in ("GET", "HEAD"):
        return params
    if content_type == _URLENCODED:
        params.update(parse_urlencoded(await request.body()))
        return params
    if content_type in _FORM_TYPES:
        try:
            form = await request.form()
        except Exception:
            raise InvalidInput(N_("The form body could not be read.")) from None
        try:
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        finally:
            await form.close()  # uploaded files are spooled to temporary files; release them
        return params
    body = await request.body()
    if not body.strip():
        return params
    if content_type and not content_type.endswith("json"):
        raise HTTPException(415, "Send a form (application/x-www-form-urlencoded) or JSON.")
    params.update(parse_json_object(body))
    return params


def parse_urlencoded(body: bytes) -> dict[str, str]:
    """A form body, read as Starlette's form parser reads it (the last of repeated names wins).

    Most API clients send this; Starlette's streaming parser cost more than a whole reveal, and a
    body here is small and already read whole.
    """
    chunks = [chunk for chunk in body.split(b"&") if chunk]
    if len(chunks) > _MAX_FORM_FIELDS:
        raise InvalidInput(N_("The form body could not be read."))
    fields: dict[str, str] = {}
    for chunk in chunks:
        name, _, value = chunk.partition(b"=")
        fields[unquote_plus(name.decode("latin-1"))] = unquote_plus(value.decode("latin-1"))
    return fields


def parse_json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nested too deeply to parse
        raise InvalidInput(N_("The request body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise InvalidInput(N_("The request body must be a JSON object."))
    return data


def text_param(params: dict[str, Any], name: str) -> str | None:
    """A string parameter; numbers are accepted as their text, anything else is refused."""
    value = params.get(name)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise InvalidInput(f"{name} must be text.", field=name)


def parse_recipients(value: object) -> tuple[str, ...]:
    """Email recipients from a string (comma separated) or a list; each must look like an address."""
    if value is None or value == "":
        return ()
    items = value if isinstance(value, list) else str(value).split(",")
    addresses = tuple(str(item).strip() for item in items if str(item).strip())
    if len(addresses) > MAX_RECIPIENTS:
        raise InvalidInput(f"At most {MAX_RECIPIENTS} recipients.", field="recipient")
    for address in addresses:
        local, at, domain = address.partition("@")
        if not (at and local and "." in domain and _mailable(address)):
            raise InvalidInput(N_("A recipient is not a valid email address."), field="recipient")
    return addresses


def _mailable(address: str) -> bool:
    """Whether the mailer takes `address` into a To header as it is: refuse it here, not after
    the secret is made. No control, format or unassigned characters (NUL, bidi overrides...)."""
    if any(unicodedata.category(char)[0] == "C" for char in address):
        return False
    try:
        check_recipient(address)
    except ValueError:
        return False
    return True


def parse_length(value: object) -> int:
    """The length of a generated password: a number or a digit string; default 12."""
    if value is None or value == "":
        return DEFAULT_LENGTH
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = value.strip() if isinstance(value, str) else ""
    # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
    if text.isascii() and text.isdigit() and len(text) < 6:
        return int(text)
    raise InvalidInput(N_("length must be a whole number."), field="length")
