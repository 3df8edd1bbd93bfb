"""The mail URL and mail settings: every form, and one-line errors that never show the password."""

from collections.abc import Callable

import pytest

from onetime.mail import ConsoleMailer, MailURL, MailURLError, SmtpMailer, open_mailer
from onetime.mail.address import check_recipient, mask_address
from onetime.mail.url import parse_mail_url
from onetime.settings import Settings, SettingsError

PASSWORD = "s3cr3t-p4ss"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("console", MailURL("console")),
        (" console ", MailURL("console")),
        ("smtp://mail.example.com", MailURL("smtp", "mail.example.com", 25)),
        ("smtp://localhost:2525", MailURL("smtp", "localhost", 2525)),
        (
            f"smtp://user:{PASSWORD}@mail.example.com:587?starttls=true",
            MailURL("smtp", "mail.example.com", 587, "user", PASSWORD, starttls=True),
        ),
        (
            "smtp://mail.example.com?starttls=true",
            MailURL("smtp", "mail.example.com", 587, starttls=True),
        ),
        ("smtp://h?starttls=false", MailURL("smtp", "h", 25)),
        ("smtps://mail.example.com", MailURL("smtps", "mail.example.com", 465)),
        (
            "SMTPS://a%40b.org:p%3Aw%2Fd%3F@Mail.Example.com:1465",
            MailURL("smtps", "mail.example.com", 1465, "a@b.org", "p:w/d?"),
        ),
        ("smtp://[::1]:2525", MailURL("smtp", "::1", 2525)),
        ("smtp://[::1]", MailURL("smtp", "::1", 25)),
        ("smtp://apikey:@h:25", MailURL("smtp", "h", 25, "apikey", "")),
    ],
)
def test_every_form_of_the_mail_url_parses(url: str, expected: MailURL) -> None:
    assert parse_mail_url(url) == expected


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (f"http://user:{PASSWORD}@host", "scheme 'http' is unknown"),
        (f"user:{PASSWORD}@host", "scheme '?' is unknown"),
        ("", "scheme '?' is unknown"),
        (f"smtp://user:{PASSWORD}@host:0", "port '0' is not a number from 1 to 65535"),
        (f"smtp://user:{PASSWORD}@host:65536", "port '65536' is not"),
        (f"smtp://user:{PASSWORD}@host:abc", "port is not a number"),
        (f"smtp://user:{PASSWORD}@", "needs a host"),
        (f"smtp://user:{PASSWORD}@host/path", "must not have a path"),
        (f"smtps://user:{PASSWORD}@host?starttls=true", "smtps:// is already encrypted"),
        (f"smtp://user:{PASSWORD}@host?tls=1", "option 'tls' is unknown"),
        (f"smtp://user:{PASSWORD}@host?starttls=maybe", "must be true or false"),
        # An unescaped "?" in the password: its tail must not be repeated as an option name.
        ("smtp://user:pa?ss-s3cr3t@host", "option is unknown"),
        (f"smtp://:{PASSWORD}@host", "password but no user name"),
    ],
)
def test_a_bad_mail_url_is_one_line_without_the_password(url: str, reason: str) -> None:
    with pytest.raises(MailURLError) as caught:
        parse_mail_url(url)
    message = str(caught.value)
    assert reason in message
    assert "\n" not in message
    assert PASSWORD not in message
    assert "s3cr3t" not in message


def test_the_password_is_in_no_repr(make_settings: Callable[..., Settings]) -> None:
    url = parse_mail_url(f"smtp://user:{PASSWORD}@host:25")
    settings = make_settings(smtp_url=f"smtp://user:{PASSWORD}@host:25")
    mailer = open_mailer(settings)
    for text in (repr(url), str(url), repr(settings), repr(mailer), str(mailer)):
        assert PASSWORD not in text
    assert str(url) == "smtp://user:***@host:25"


def test_settings_refuse_a_bad_mail_url_in_one_line(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(SettingsError) as caught:
        make_settings(smtp_url=f"smtp://user:{PASSWORD}@host:99999")
    assert "ONETIME_SMTP_URL" in str(caught.value)
    assert "port '99999'" in str(caught.value)
    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize("sender", ["nobody", "a <b>", "x <a@b.org>\nBcc: c@d.org", ""])
def test_settings_refuse_a_bad_sender(make_settings: Callable[..., Settings], sender: str) -> None:
    with pytest.raises(SettingsError, match="ONETIME_MAIL_FROM"):
        make_settings(mail_from=sender)


def test_settings_have_mail_defaults(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    assert settings.smtp_url.get_secret_value() == "console"
    assert settings.mail_from == "onetime <noreply@localhost>"
    assert settings.mail_timeout == 10
    with pytest.raises(SettingsError, match="ONETIME_MAIL_TIMEOUT"):
        make_settings(mail_timeout=0)


def test_open_mailer_picks_by_the_url(make_settings: Callable[..., Settings]) -> None:
    assert isinstance(open_mailer(make_settings()), ConsoleMailer)
    smtp = open_mailer(make_settings(smtp_url="smtps://mail.example.com", mail_timeout=3))
    assert isinstance(smtp, SmtpMailer)
    assert smtp.url.implicit_tls
    assert smtp.timeout == 3


def test_a_password_over_plain_smtp_to_another_host_is_warned_about(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    open_mailer(make_settings(smtp_url=f"smtp://u:{PASSWORD}@127.0.0.1:2525"))
    assert "unencrypted" not in caplog.text
    open_mailer(make_settings(smtp_url=f"smtp://u:{PASSWORD}@mail.example.com"))
    assert "unencrypted to mail.example.com" in caplog.text
    assert PASSWORD not in caplog.text


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("alice@example.com", "al***@e***.com"),
        ("al@example.co.uk", "a***@e***.uk"),
        ("a@localhost", "a***@l***"),
        ("not-an-address", "***"),
    ],
)
def test_addresses_are_masked(address: str, masked: str) -> None:
    assert mask_address(address) == masked


@pytest.mark.parametrize(
    "address",
    [
        "a@b.org\r\nBcc: c@d.org",
        "A <a@b.org>",
        "a@b.org, c@d.org",
        "a@b..org",
        "@b.org",
        "a\x00b@b.org",
        "a\x01@b.org",
        "a\x7f@b.org",
    ],
)
def test_a_recipient_is_one_plain_address(address: str) -> None:
    with pytest.raises(ValueError, match="one plain email address"):
        check_recipient(address)
