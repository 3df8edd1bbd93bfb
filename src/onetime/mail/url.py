"""The mail URL (ONETIME_SMTP_URL): `console`, `smtp://user:pass@host:port`, `smtps://…`,
`smtp://…?starttls=true`. Errors are one line and never repeat the password."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


class MailURLError(ValueError):
    """The mail URL cannot be used; the message says why in one line, without the password."""


@dataclass(frozen=True, slots=True)
class MailURL:
    """Where mail goes. `password` is left out of repr."""

    scheme: Literal["console", "smtp", "smtps"]
    host: str = ""
    port: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False

    @property
    def is_console(self) -> bool:
        return self.scheme == "console"

    @property
    def implicit_tls(self) -> bool:
        return self.scheme == "smtps"

    @property
    def encrypted(self) -> bool:
        return self.implicit_tls or self.starttls

    def __str__(self) -> str:
        if self.is_console:
            return "console"
        user = f"{self.username}:***@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        query = "?starttls=true" if self.starttls else ""
        return f"{self.scheme}://{user}{host}:{self.port}{query}"


def parse_mail_url(url: str) -> MailURL:
    """Read the mail URL, or raise MailURLError with a one-line reason."""
    url = url.strip()
    if url == "console":
        return MailURL("console")
    scheme, _, rest = url.partition("://")
    scheme = scheme.lower()
    if not rest or scheme not in ("smtp", "smtps"):
        shown = scheme if rest and scheme.isalnum() else "?"
        raise MailURLError(
            f"the mail URL scheme {shown!r} is unknown: use console, smtp:// or smtps://"
        )
    parts = urlsplit(url)
    if parts.path not in ("", "/") or parts.fragment:
        raise MailURLError("the mail URL must not have a path or fragment: smtp://host:port")
    host = parts.hostname or ""
    if not host:
        raise MailURLError(f"the mail URL needs a host: {scheme}://user:password@host:port")
    starttls = _read_options(parts.query)
    if starttls and scheme == "smtps":
        raise MailURLError("starttls=true is for smtp://; smtps:// is already encrypted")
    port = _read_port(parts.netloc.rpartition("@")[2], scheme, starttls)
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and not username:
        raise MailURLError("the mail URL has a password but no user name")
    return MailURL(
        "smtps" if scheme == "smtps" else "smtp", host, port, username, password, starttls
    )


def _read_port(hostport: str, scheme: str, starttls: bool) -> int:
    # Read the port ourselves: urlsplit's errors differ between Python versions.
    after = hostport.rpartition("]")[2] if hostport.startswith("[") else hostport
    _host, colon, text = after.rpartition(":") if ":" in after else (after, "", "")
    if not colon:
        return DEFAULT_PORTS["smtp+starttls" if starttls else scheme]
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        shown = f" {text!r}" if text.isdigit() else ""
        raise MailURLError(f"the mail URL port{shown} is not a number from 1 to 65535")
    return int(text)


def _read_options(query: str) -> bool:
    starttls = False
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name != "starttls":
            # Only a plain word is repeated: a "?" in an unescaped password would land here.
            shown = f" {name!r}" if name.isalpha() and len(name) <= 20 else ""
            raise MailURLError(
                f"the mail URL option{shown} is unknown: only starttls=true (percent-encode"
                " special characters in the password)"
            )
        if value.lower() in _TRUE:
            starttls = True
        elif value.lower() in _FALSE:
            starttls = False
        else:
            raise MailURLError("the mail URL option starttls must be true or false")
    return starttls
