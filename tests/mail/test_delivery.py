"""Delivery through a real SMTP server on loopback, failures in words, and the console log."""

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from email.header import decode_header, make_header

import pytest

from onetime.mail import (
    ConsoleMailer,
    MailDeliveryError,
    OutgoingMail,
    SmtpMailer,
    compose,
    parse_mail_url,
)
from tests.mail.conftest import SMTP_PASSWORD, SMTP_USER, Certificate, SmtpServer, free_port

SITE = "http://127.0.0.1:7143"
LINK = f"{SITE}/secret/sh4r3k3yabcdef"
SENDER = "Example Secrets <noreply@secrets.example>"


def secret_link(locale: str = "en", to: str = "bob@example.com") -> OutgoingMail:
    return compose(
        "secret_link",
        locale,
        to,
        site_name="Example Secrets",
        site_url=SITE,
        link=LINK,
        expires_in=86400,
        note="the Wi-Fi",
    )


def mailer(url: str, timeout: float = 5, **options: object) -> SmtpMailer:
    return SmtpMailer(parse_mail_url(url), SENDER, timeout, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("locale", ["en", "de"])
async def test_smtp_delivers_a_multipart_message(smtp_server: SmtpServer, locale: str) -> None:
    message = secret_link(locale)
    await mailer(f"smtp://127.0.0.1:{smtp_server.port}").send(message)

    [envelope] = smtp_server.inbox.envelopes
    assert envelope.mail_from == "noreply@secrets.example"
    assert envelope.rcpt_tos == ["bob@example.com"]
    [received] = smtp_server.inbox.messages()
    assert received["From"] == SENDER
    assert received["To"] == "bob@example.com"
    subject = str(make_header(decode_header(received["Subject"])))
    assert subject == message.subject
    assert ("Geheimnis" in subject) == (locale == "de")
    assert received["Message-ID"].endswith("@secrets.example>")
    assert received["Date"]
    assert received["Content-Language"] == locale
    assert received["Auto-Submitted"] == "auto-generated"
    assert received.get_content_type() == "multipart/alternative"
    parts = [part for part in received.walk() if not part.is_multipart()]
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    text, html = (str(part.get_payload(decode=True), "utf-8") for part in parts)
    assert LINK in text
    assert f'href="{LINK}"' in html
    assert "<img" not in html
    assert "/receipt/" not in text + html


async def test_smtp_signs_in_with_the_urls_credentials(smtp_server: SmtpServer) -> None:
    user, password = SMTP_USER, SMTP_PASSWORD.replace(" ", "%20")
    url = f"smtp://{user}:{password}@127.0.0.1:{smtp_server.port}"
    await mailer(url).send(secret_link())
    assert len(smtp_server.inbox.envelopes) == 1

    with pytest.raises(MailDeliveryError, match="refused our sign-in"):
        await mailer(f"smtp://{user}:wrong@127.0.0.1:{smtp_server.port}").send(secret_link())
    assert len(smtp_server.inbox.envelopes) == 1


async def test_a_refused_recipient_is_said_in_words_and_not_retried(
    smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    smtp_server.inbox.refuse.add("nobody@example.com")
    with pytest.raises(MailDeliveryError) as caught:
        await mailer(f"smtp://127.0.0.1:{smtp_server.port}").send(
            secret_link(to="nobody@example.com")
        )
    assert str(caught.value) == (
        "The email could not be delivered: the mail server refused the recipient's address."
    )
    assert "trying once more" not in caplog.text
    assert "nobody@example.com" not in caplog.text
    assert smtp_server.inbox.envelopes == []


async def test_a_closed_port_fails_quickly_after_one_retry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"smtp://user:{SMTP_PASSWORD.replace(' ', '%20')}@127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(MailDeliveryError) as caught:
        await mailer(url, timeout=2).send(secret_link())
    assert time.monotonic() - started < 2
    assert str(caught.value) == (
        "The email could not be delivered: the mail server could not be reached."
    )
    assert caplog.text.count("trying once more") == 1
    assert SMTP_PASSWORD not in caplog.text + str(caught.value)
    assert "sh4r3k3y" not in caplog.text


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """Accepts connections and never says a word."""
    connections: list[asyncio.StreamWriter] = []

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in connections:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_a_silent_server_times_out_within_the_limit(silent_server: int) -> None:
    started = time.monotonic()
    with pytest.raises(MailDeliveryError, match="did not answer in time"):
        await mailer(f"smtp://127.0.0.1:{silent_server}", timeout=0.3).send(secret_link())
    # One attempt and one retry, each bounded by the timeout.
    assert time.monotonic() - started < 1.5


async def test_starttls_is_used_when_the_url_asks(
    starttls_server: SmtpServer, certificate: Certificate
) -> None:
    url = f"smtp://{SMTP_USER}:{SMTP_PASSWORD.replace(' ', '%20')}@127.0.0.1:{starttls_server.port}"
    # The server demands STARTTLS: without it, nothing is sent.
    with pytest.raises(MailDeliveryError):
        await mailer(url).send(secret_link())
    await mailer(url + "?starttls=true", tls_context=certificate.client).send(secret_link())
    [received] = starttls_server.inbox.messages()
    assert received["To"] == "bob@example.com"


async def test_starttls_refuses_an_untrusted_certificate(starttls_server: SmtpServer) -> None:
    url = f"smtp://127.0.0.1:{starttls_server.port}?starttls=true"
    with pytest.raises(MailDeliveryError, match="secure connection"):
        await mailer(url).send(secret_link())
    assert starttls_server.inbox.envelopes == []


async def test_console_logs_whom_and_what_at_info_and_the_link_only_at_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    message = secret_link(to="alice@example.com")
    with caplog.at_level(logging.DEBUG, logger="onetime.mail"):
        await ConsoleMailer(SENDER).send(message)
    info = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    debug = [r.getMessage() for r in caplog.records if r.levelno < logging.INFO]
    assert info == ["mail to al***@e***.com: You have been sent a secret through Example Secrets"]
    assert not any("sh4r3k3y" in line or "alice@" in line for line in info)
    assert any(LINK in line for line in debug)
    assert not any("alice@" in line for line in debug)


async def test_console_at_info_level_never_shows_the_link(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="onetime.mail"):
        await ConsoleMailer(SENDER).send(secret_link())
    assert "bo***@e***.com" in caplog.text
    assert "sh4r3k3y" not in caplog.text


async def test_smtps_speaks_implicit_tls(
    smtps_server: SmtpServer, certificate: Certificate
) -> None:
    url = f"smtps://127.0.0.1:{smtps_server.port}"
    await mailer(url, tls_context=certificate.client).send(secret_link())
    [received] = smtps_server.inbox.messages()
    assert received["To"] == "bob@example.com"
