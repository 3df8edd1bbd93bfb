"""Every message renders in English and German, text and HTML, linking only to the site."""

import re
from typing import Any

import pytest

from onetime.mail import MESSAGES, OutgoingMail, compose
from onetime.web import i18n

SITE = "https://onetime.example"
TO = "alice@example.com"
URL = re.compile(r"""https?://[^\s"'<>]+""")

# name: (values, what the English subject says)
CASES: dict[str, tuple[dict[str, Any], str]] = {
    "verify_address": ({"link": f"{SITE}/account/verify/v3r1fy"}, "Confirm your email"),
    "reset_password": ({"link": f"{SITE}/account/reset/r3s3t"}, "Reset your password"),
    "secret_link": (
        {"link": f"{SITE}/secret/sh4r3k3y", "expires_in": 3 * 86400, "note": "for the VPN"},
        "You have been sent a secret",
    ),
    "secret_read": ({"read_at": 1_700_000_000}, "Your secret was read"),
    "email_change": (
        {"link": f"{SITE}/account/email/ch4ng3", "new_address": "new@example.org"},
        "Confirm your new email address",
    ),
}


def make(name: str, locale: str = "en", **extra: Any) -> OutgoingMail:
    values = {"site_name": "Example Secrets", "site_url": SITE, **CASES[name][0], **extra}
    return compose(name, locale, TO, **values)


def test_every_message_folder_is_covered() -> None:
    assert set(MESSAGES) == set(CASES)


@pytest.mark.parametrize("locale", ["en", "de"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_each_message_renders_text_and_html_with_only_the_sites_link(
    name: str, locale: str
) -> None:
    message = make(name, locale)
    assert message.to == TO
    assert message.locale == locale
    assert message.subject
    assert "\n" not in message.subject
    assert message.text.strip()
    assert message.html.startswith("<!DOCTYPE html>")
    assert f'<html lang="{locale}">' in message.html
    assert "<img" not in message.html.lower()
    assert "src=" not in message.html.lower()
    assert "url(" not in message.html.lower()
    assert "Example Secrets" in message.text + message.subject
    link = CASES[name][0].get("link")
    if link:
        assert link in message.text
        assert f'href="{link}"' in message.html
    # Every address in the message is the site's own link: nothing external, nothing tracked.
    for found in URL.findall(message.text) + URL.findall(message.html):
        assert found == link
    if locale == "en":
        assert CASES[name][1] in message.subject


def test_messages_are_written_in_the_locale_asked_for() -> None:
    # The durations and dates are in the reader's language even before the catalog is translated.
    english = make("secret_link", "en")
    german = make("secret_link", "de")
    assert "3 days" in english.text
    assert "3 Tage" in german.text
    read_de = make("secret_read", "de")
    assert "14.11.2023" in read_de.text
    assert "Nov 14, 2023" in make("secret_read", "en").text


def test_an_unknown_locale_is_english_and_the_callers_locale_is_kept() -> None:
    i18n.use_locale("fr")
    try:
        message = make("verify_address", "xx")
        assert message.locale == "en"
        assert i18n.current_locale() == "fr"
    finally:
        i18n.use_locale("en")


def test_the_note_and_sender_are_escaped_in_html() -> None:
    note = '<a href="https://evil.example/">click</a> & more'
    message = make("secret_link", note=note, sender="bob@example.org")
    assert message.subject == "bob@example.org sent you a secret"
    assert note in message.text
    assert (
        "&lt;a href=&#34;https://evil.example/&#34;&gt;click&lt;/a&gt; &amp; more" in message.html
    )
    assert 'href="https://evil.example/"' not in message.html


def test_the_secret_link_message_has_no_note_when_none_is_given() -> None:
    message = make("secret_link", note="")
    assert "Their note" not in message.text
    assert "<blockquote" not in message.html


def test_the_read_notice_says_when_and_nothing_of_the_content() -> None:
    message = make("secret_read", created_at=1_699_990_000)
    assert "was read on Nov 14, 2023" in message.text
    assert "created on Nov 14, 2023" in message.text
    assert "href=" not in message.html


def test_the_reset_link_says_how_long_it_works() -> None:
    assert "for 1 day" in make("reset_password").text
    assert "for 2 hours" in make("reset_password", valid_for=7200).text


@pytest.mark.parametrize(
    ("name", "extra", "reason"),
    [
        ("secret_link", {"link": f"{SITE}/receipt/r3c31pt"}, "never a receipt link"),
        ("secret_link", {"link": f"{SITE}/private/r3c31pt"}, "never a receipt link"),
        ("verify_address", {"link": "https://evil.example/verify"}, "only to the site"),
        ("verify_address", {"link": f"{SITE}.evil.example/x"}, "only to the site"),
        ("verify_address", {"link": f'{SITE}/x" onclick="y'}, "only to the site"),
        ("verify_address", {"tracking": "1"}, "unexpected ['tracking']"),
        ("verify_address", {"primary_color": "red;background:url(x)"}, "primary_color"),
        ("verify_address", {"site_url": "javascript:alert(1)"}, "site_url"),
    ],
)
def test_compose_refuses_what_it_must_not_send(
    name: str, extra: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        make(name, **extra)


def test_compose_knows_only_its_messages() -> None:
    with pytest.raises(ValueError, match="no message called 'nope'"):
        compose("nope", "en", TO, site_name="x", site_url=SITE)


def test_compose_needs_its_values_and_a_plain_recipient() -> None:
    with pytest.raises(ValueError, match=r"missing \['expires_in', 'link'\]"):
        compose("secret_link", "en", TO, site_name="x", site_url=SITE)
    with pytest.raises(ValueError, match="one plain email address"):
        compose(
            "verify_address",
            "en",
            "a@b.org\nBcc: c@d.org",
            site_name="x",
            site_url=SITE,
            link=f"{SITE}/v",
        )


def test_the_bodies_are_not_in_the_repr() -> None:
    message = make("secret_link")
    assert "sh4r3k3y" not in repr(message)
