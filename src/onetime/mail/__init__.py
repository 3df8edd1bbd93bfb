"""Email: localized messages (one folder per message under templates/) and their delivery
through SMTP, or to the log in development. See DESIGN.md §2."""

from onetime.mail.address import mask_address
from onetime.mail.delivery import (
    ConsoleMailer,
    MailDeliveryError,
    Mailer,
    SmtpMailer,
    build_email,
    open_mailer,
)
from onetime.mail.message import MESSAGES, OutgoingMail, compose
from onetime.mail.url import MailURL, MailURLError, parse_mail_url

__all__ = [
    "MESSAGES",
    "ConsoleMailer",
    "MailDeliveryError",
    "MailURL",
    "MailURLError",
    "Mailer",
    "OutgoingMail",
    "SmtpMailer",
    "build_email",
    "compose",
    "mask_address",
    "open_mailer",
    "parse_mail_url",
]
