"""Email addresses: checking what goes into a header, and masking what goes into a log."""

from __future__ import annotations

import re
from email.utils import parseaddr

# One address, no display name: local@domain, nothing that could break out of a header.
# No control characters anywhere (NUL or \x01 could reach an SMTP command or a header).
_ADDRESS = re.compile(r"^[^@\s\x00-\x1f\x7f<>,;:\"()\[\]\\]{1,64}@[A-Za-z0-9.-]{1,253}$")


def check_recipient(address: str) -> str:
    """The address itself if it is one plain address; ValueError otherwise (never in a header)."""
    if not _ADDRESS.match(address) or ".." in address.split("@")[1]:
        raise ValueError("the recipient is not one plain email address")
    return address


def check_sender(value: str) -> str:
    """A From value ("Name <addr@host>" or "addr@host"); ValueError with a one-line reason."""
    if any(ch in value for ch in "\r\n"):
        raise ValueError("the sender must be on one line")
    _name, address = parseaddr(value)
    if not address or not _ADDRESS.match(address):
        raise ValueError(f"{value!r} is not a sender address like 'onetime <noreply@example.com>'")
    return value


def sender_domain(value: str) -> str:
    """The domain of a From value, for Message-ID."""
    return parseaddr(value)[1].rpartition("@")[2] or "localhost"


def mask_address(address: str) -> str:
    """An address that says whom a log line is about without saying it: "al***@e***.com"."""
    local, _, domain = address.rpartition("@")
    if not local:
        return "***"
    shown = local[:2] if len(local) > 2 else local[:1]
    name, dot, tld = domain.rpartition(".")
    masked_domain = f"{name[:1]}***.{tld}" if dot and name else f"{domain[:1]}***"
    return f"{shown}***@{masked_domain}"
