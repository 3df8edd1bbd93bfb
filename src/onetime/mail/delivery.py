"""Sending: SMTP through aiosmtplib, or the log in development (`console`).

A delivery is one attempt plus at most one retry when the connection failed; anything else
raises MailDeliveryError with a reason a person can read. Nothing here is ever retried forever,
and no password or link key reaches a log line at INFO or above.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING, Protocol

import aiosmtplib

from onetime.mail.address import mask_address, sender_domain
from onetime.mail.message import OutgoingMail
from onetime.mail.url import MailURL, parse_mail_url

if TYPE_CHECKING:
    from onetime.settings import Settings

log = logging.getLogger("onetime.mail")
RETRY_DELAY = 0.2  # seconds before the one retry after a failed connection
_ADDRESS_IN_TEXT = re.compile(r"[^\s@<>()\[\],;:\"]+@[^\s@<>()\[\],;:\"]+")


class MailDeliveryError(Exception):
    """A message could not be delivered; str() is a reason fit to show the person who asked."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Mailer(Protocol):
    async def send(self, message: OutgoingMail) -> None:
        """Deliver one message, or raise MailDeliveryError."""
        ...


def build_email(message: OutgoingMail, sender: str) -> EmailMessage:
    """The MIME message: text/plain and text/html alternatives, and the usual headers."""
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = format_datetime(datetime.now(UTC))
    email["Message-ID"] = make_msgid(domain=sender_domain(sender))
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    email.set_content(message.text)
    email.add_alternative(message.html, subtype="html")
    # After the body: set_content drops Content-* headers it finds.
    email["Content-Language"] = message.locale.replace("_", "-")
    return email


class ConsoleMailer:
    """Development: the message goes to the log. INFO says whom (masked) and what (the subject);
    the text body, which holds the link, only at DEBUG."""

    def __init__(self, sender: str) -> None:
        self.sender = sender

    async def send(self, message: OutgoingMail) -> None:
        masked = mask_address(message.to)
        log.info("mail to %s: %s", masked, loggable_subject(message.subject))
        log.debug(
            "mail to %s\nSubject: %s\n\n%s", masked, message.subject, message.text.rstrip("\n")
        )


class SmtpMailer:
    """Delivery through an SMTP server, one connection per message."""

    def __init__(
        self,
        url: MailURL,
        sender: str,
        timeout: float = 10,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if url.is_console:
            raise ValueError("SmtpMailer needs an smtp:// or smtps:// URL")
        self.url = url
        self.sender = sender
        self.timeout = timeout
        self.tls_context = tls_context  # None: the system's trusted certificates

    def __repr__(self) -> str:
        return f"SmtpMailer({self.url}, timeout={self.timeout})"

    async def send(self, message: OutgoingMail) -> None:
        email = build_email(message, self.sender)
        try:
            await self._attempt(email)
        except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected, OSError) as error:
            log.warning("mail server %s: %s; trying once more", self._where, _describe(error))
            await asyncio.sleep(RETRY_DELAY)
            try:
                await self._attempt(email)
            except Exception as again:
                raise self._failure(again) from None
        except Exception as error:
            raise self._failure(error) from None
        log.info("mail to %s sent: %s", mask_address(message.to), loggable_subject(message.subject))

    @property
    def _where(self) -> str:
        return f"{self.url.host}:{self.url.port}"

    async def _attempt(self, email: EmailMessage) -> None:
        # aiosmtplib's timeout is per command; this bounds the whole attempt.
        async with asyncio.timeout(self.timeout):
            await aiosmtplib.send(
                email,
                hostname=self.url.host,
                port=self.url.port,
                username=self.url.username,
                password=self.url.password,
                use_tls=self.url.implicit_tls,
                start_tls=self.url.starttls,
                tls_context=self.tls_context,
                timeout=self.timeout,
            )

    def _failure(self, error: BaseException) -> MailDeliveryError:
        reason = _describe(error)
        log.warning("mail server %s: %s; not delivered", self._where, reason)
        return MailDeliveryError(f"The email could not be delivered: {reason}.")


def loggable_subject(subject: str) -> str:
    """The subject with any address in it masked ("al***@e***.com sent you a secret")."""
    return _ADDRESS_IN_TEXT.sub(lambda found: mask_address(found.group()), subject)


def _describe(error: BaseException) -> str:
    """A short reason without the server's full reply (which may echo an address)."""
    if isinstance(error, aiosmtplib.SMTPAuthenticationError):
        return "the mail server refused our sign-in"
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused | aiosmtplib.SMTPRecipientRefused):
        return "the mail server refused the recipient's address"
    if isinstance(error, aiosmtplib.SMTPSenderRefused):
        return "the mail server refused the sender's address"
    if isinstance(error, TimeoutError | aiosmtplib.SMTPTimeoutError):
        return "the mail server did not answer in time"
    if isinstance(error, aiosmtplib.SMTPConnectError | ConnectionError):
        return "the mail server could not be reached"
    if isinstance(error, ssl.SSLError):
        return "the secure connection to the mail server failed"
    if isinstance(error, aiosmtplib.SMTPServerDisconnected):
        return "the mail server closed the connection"
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return f"the mail server answered {error.code}"
    if isinstance(error, OSError):
        return "the mail server could not be reached"
    return "the mail server could not take the message"


def open_mailer(settings: Settings) -> Mailer:
    """The mailer the settings ask for: ConsoleMailer for `console`, SmtpMailer otherwise."""
    url = parse_mail_url(settings.smtp_url.get_secret_value())
    if url.is_console:
        if settings.env == "production":
            log.warning("ONETIME_SMTP_URL is console: messages go to the log, not to people")
        return ConsoleMailer(settings.mail_from)
    if url.password and not url.encrypted and not _is_loopback(url.host):
        log.warning(
            "the SMTP password would cross the network unencrypted to %s; "
            "use smtps:// or ?starttls=true",
            url.host,
        )
    return SmtpMailer(url, settings.mail_from, settings.mail_timeout)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
