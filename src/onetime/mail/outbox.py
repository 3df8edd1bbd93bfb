"""The domain's Outbox, made of message composition and a Mailer."""

from __future__ import annotations

from onetime.core.errors import N_
from onetime.core.outbox import DeliveryFailed
from onetime.mail.address import mask_address
from onetime.mail.delivery import MailDeliveryError, Mailer
from onetime.mail.message import compose


class MailOutbox:
    """Composes messages for this site and hands them to the mailer."""

    def __init__(self, mailer: Mailer, site_name: str, site_url: str, primary_color: str) -> None:
        self.mailer = mailer
        self.site_name = site_name
        self.site_url = site_url.rstrip("/")
        self.primary_color = primary_color

    async def send(self, message: str, to: str, locale: str | None, **values: object) -> None:
        if isinstance(values.get("link"), str):
            values["link"] = self.site_url + str(values["link"])
        try:
            mail = compose(
                message,
                locale or "en",
                to,
                site_name=self.site_name,
                site_url=self.site_url,
                primary_color=self.primary_color,
                **values,
            )
        except ValueError:
            raise DeliveryFailed(
                N_("{address} is not an address we can send email to."),
                address=mask_address(to),
            ) from None
        try:
            await self.mailer.send(mail)
        except MailDeliveryError as error:
            raise DeliveryFailed(
                N_("The email to {address} could not be sent: {reason}"),
                address=mask_address(to),
                reason=error.reason,
            ) from None
