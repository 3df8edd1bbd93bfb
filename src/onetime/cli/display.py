"""What the client commands print: API answers read leniently and laid out for people.

Servers send numbers and booleans natively or as strings (older OTS), so every field is read
through `number`, `flag` and `text`. Answers missing what a command needs raise UnexpectedAnswer.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from onetime.cli.api_client import UnexpectedAnswer

STATE_WORDS = {
    "new": "new (not read yet)",
    "previewed": "previewed (the link was opened, the secret not revealed yet)",
    "viewed": "previewed (the link was opened, the secret not revealed yet)",
    "revealed": "revealed",
    "received": "revealed",
    "burned": "burned",
    "expired": "expired (nobody read it)",
    "orphaned": "orphaned (the secret is gone)",
}
_LIVE_STATES = ("new", "previewed", "viewed")
# Characters a terminal may act on; shown escaped when a secret goes to a terminal.
_UNSAFE_ON_TTY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|\r(?!\n)")


def text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def flag(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1", "yes"))


def first(record: dict[str, Any], *names: str) -> str | None:
    for name in names:
        found = text(record.get(name))
        if found:
            return found
    return None


def part(data: dict[str, Any], *names: str) -> dict[str, Any]:
    """The first of data[name] that is an object, else an empty one."""
    for name in names:
        found = data.get(name)
        if isinstance(found, dict):
            return found
    return {}


def duration(seconds: int) -> str:
    """At most two units: "1 hour", "6 days 23 hours", "59 minutes 59 seconds"."""
    if seconds <= 0:
        return "0 seconds"
    parts: list[str] = []
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return " ".join(parts[:2])


def when(epoch: object) -> str:
    stamp = number(epoch)
    if stamp is None:
        return ""
    return datetime.fromtimestamp(stamp).astimezone().strftime(" at %Y-%m-%d %H:%M %Z")


def state_words(state: str | None) -> str:
    return STATE_WORDS.get(state or "", state or "unknown")


def print_json(data: dict[str, Any]) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def console() -> Console:
    # Soft wrap: links stay on one line whatever the terminal width, so they can be copied.
    return Console(soft_wrap=True, highlight=False)


def print_fields(rows: list[tuple[str, str]]) -> None:
    """Aligned "Label: value" lines; values are never read as Rich markup."""
    out = console()
    width = max(len(label) for label, _ in rows) + 2
    for label, value in rows:
        out.print(f"[bold]{escape(label + ':'):<{width}}[/bold]{escape(value)}")


def write_value(value: str) -> None:
    """Only the value, newline-terminated; escaped where a terminal would act on it."""
    if sys.stdout.isatty() and _UNSAFE_ON_TTY.search(value):
        value = _UNSAFE_ON_TTY.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
        typer.echo(
            "onetime: control characters are shown escaped; pipe the output for them", err=True
        )
    sys.stdout.write(value if value.endswith("\n") else value + "\n")
    sys.stdout.flush()


def _share_base(base_url: str, *holders: dict[str, Any]) -> str:
    """Links go to the share domain when the server set one."""
    for holder in holders:
        domain = text(holder.get("share_domain"))
        if domain:
            return f"https://{domain}"
    return base_url


def creation_rows(base_url: str, data: dict[str, Any]) -> list[tuple[str, str]]:
    """Share link, receipt link, lifetime and passphrase of a conceal or generate answer."""
    record = part(data, "record")
    receipt = part(record, "receipt", "metadata")
    secret = part(record, "secret")
    secret_key = first(secret, "identifier", "key") or first(receipt, "secret_identifier")
    receipt_key = first(receipt, "identifier", "key", "metadata_key")
    if not secret_key or not receipt_key:
        raise UnexpectedAnswer("the server's answer has no secret or receipt key")
    share_base = _share_base(base_url, record, receipt)
    rows = [
        ("Share link", f"{share_base}/secret/{secret_key}"),
        ("Receipt link", f"{base_url}/receipt/{receipt_key}"),
    ]
    ttl = number(receipt.get("secret_ttl"))
    if ttl is not None:
        rows.append(("Expires in", duration(ttl)))
    rows.append(("Passphrase", "yes" if flag(receipt.get("has_passphrase")) else "no"))
    return rows


def generated_value(data: dict[str, Any]) -> str:
    """The generated password: in the secret object on v2, `value` on older servers."""
    record = part(data, "record")
    for holder in (part(record, "secret"), part(record, "receipt", "metadata"), data):
        found = text(holder.get("secret_value")) or text(holder.get("value"))
        if found:
            return found
    raise UnexpectedAnswer("the server's answer has no generated password")


def receipt_rows(base_url: str, data: dict[str, Any]) -> list[tuple[str, str]]:
    """State, passphrase, time left and (while unread) the share link of a receipt."""
    record = data.get("record")
    if not isinstance(record, dict):
        raise UnexpectedAnswer("the server's answer has no receipt")
    state = text(record.get("state")) or "unknown"
    words = state_words(state)
    if state in ("revealed", "received"):
        words += when(record.get("revealed") or record.get("received"))
    elif state == "burned":
        words += when(record.get("burned"))
    rows = [
        ("Receipt", first(record, "shortid", "identifier", "key") or "?"),
        ("State", words),
        ("Passphrase", "yes" if flag(record.get("has_passphrase")) else "no"),
    ]
    secret_key = first(record, "secret_identifier", "secret_key")
    if secret_key is not None and state in _LIVE_STATES:
        remaining = number(record.get("secret_ttl"))
        if remaining is not None:
            rows.append(("Expires in", duration(remaining)))
        rows.append(("Share link", f"{_share_base(base_url, record)}/secret/{secret_key}"))
    kept = number(record.get("receipt_ttl") or record.get("metadata_ttl"))
    if kept is not None:
        rows.append(("Receipt kept", duration(kept)))
    recipients = record.get("recipients") or record.get("recipient")
    if isinstance(recipients, list) and recipients:
        rows.append(("Recipients", ", ".join(str(r) for r in recipients)))
    memo = text(record.get("memo"))
    if memo:
        rows.append(("Memo", memo))
    return rows
