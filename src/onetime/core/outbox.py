"""Where the domain hands over mail: a protocol, so core/ needs no mail library."""

from __future__ import annotations

from typing import Protocol

from onetime.core.errors import OnetimeError


class DeliveryFailed(OnetimeError):
    """A message could not be delivered; the message says why, in words for people."""


class Outbox(Protocol):
    async def send(self, message: str, to: str, locale: str | None, **values: object) -> None:
        """Compose message `message` for `to` in `locale` and deliver it, or raise DeliveryFailed.

        A value called `link` is a path on this site ("/secret/…"); the outbox makes it a URL.
        """
        ...
