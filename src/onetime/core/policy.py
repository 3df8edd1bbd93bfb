"""What a request may ask for: lifetimes, sizes, passphrases, and how loose input is read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from onetime.core.errors import N_, InvalidInput

if TYPE_CHECKING:
    from onetime.core.plans import Plan

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR


@dataclass(frozen=True, slots=True)
class Limits:
    """The rules for new secrets that hold on every plan. Values come from settings."""

    ttl_min: int = MINUTE
    ttl_default: int = 7 * DAY
    ttl_cap: int = 30 * DAY
    passphrase_min: int = 4
    passphrase_max: int = 128
    passphrase_required: bool = False
    memo_max_chars: int = 500

    def max_ttl(self, plan: Plan) -> int:
        return max(self.ttl_min, min(plan.ttl_max, self.ttl_cap))

    def clamp_ttl(self, requested: int | None, plan: Plan) -> int:
        """Bring a requested lifetime into the allowed range, as Onetime Secret does, silently."""
        if requested is None:
            requested = self.ttl_default
        return max(self.ttl_min, min(requested, self.max_ttl(plan)))

    @staticmethod
    def check_content(content: str, plan: Plan) -> bytes:
        """Return the content as UTF-8, or raise when it is empty or too large for the plan."""
        if not content or not content.strip():
            raise InvalidInput(N_("You did not provide anything to share."), field="secret")
        data = content.encode("utf-8", errors="surrogatepass")
        if len(data) > plan.secret_max_bytes:
            raise InvalidInput(
                N_("The secret is {size:,} bytes; the limit is {limit:,} bytes."),
                field="secret",
                size=len(data),
                limit=plan.secret_max_bytes,
            )
        return data

    def check_passphrase(self, passphrase: str | None) -> str | None:
        """Return the passphrase to use (None for none), or raise when it breaks the rules."""
        if not passphrase:
            if self.passphrase_required:
                raise InvalidInput(
                    N_("A passphrase is required on this service."), field="passphrase"
                )
            return None
        if len(passphrase) < self.passphrase_min:
            raise InvalidInput(
                N_("The passphrase must be at least {count} characters."),
                count=self.passphrase_min,
                field="passphrase",
            )
        if len(passphrase) > self.passphrase_max:
            raise InvalidInput(
                N_("The passphrase must be at most {count} characters."),
                count=self.passphrase_max,
                field="passphrase",
            )
        return passphrase


def parse_ttl(value: object) -> int | None:
    """Read a lifetime in seconds from a number or a digit string; None or "" means the default."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidInput(N_("ttl must be a number of seconds."), field="ttl")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and (text.isdigit() or (text[:1] == "-" and text[1:].isdigit())):
            negative = text.startswith("-")
            digits = text.lstrip("-").lstrip("0") or "0"
            if len(digits) > 12:
                # Absurdly long: it will be clamped to the nearest end of the range anyway.
                return -(10**12) if negative else 10**12
            return -int(digits) if negative else int(digits)
    raise InvalidInput(N_("ttl must be a whole number of seconds, like 3600."), field="ttl")


def parse_flag(value: object) -> bool:
    """Read a boolean the way form posts and JSON clients send them."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


def natural_duration(seconds: int) -> str:
    """A short English phrase for a duration: "1 hour", "7 days", "90 seconds"."""
    for unit_seconds, unit in ((DAY, "day"), (HOUR, "hour"), (MINUTE, "minute")):
        if seconds >= unit_seconds and seconds % unit_seconds == 0:
            count = seconds // unit_seconds
            return f"{count} {unit}{'s' if count != 1 else ''}"
    if seconds >= DAY:
        count = round(seconds / DAY)
        return f"{count} day{'s' if count != 1 else ''}"
    if seconds >= HOUR:
        count = round(seconds / HOUR)
        return f"{count} hour{'s' if count != 1 else ''}"
    if seconds >= MINUTE:
        count = round(seconds / MINUTE)
        return f"{count} minute{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def mask_email(address: str) -> str:
    """Hide most of an address: "alice@example.com" becomes "al***@e***.com"."""
    local, _, domain = address.partition("@")
    host, dot, tld = domain.rpartition(".")
    if not dot:
        host, tld = domain, ""
    return f"{local[:2]}***@{host[:1]}***{dot}{tld}"
