"""Messages: one folder per message under templates/ (subject.txt, body.txt, body.html),
rendered in the recipient's language into an OutgoingMail.

Every message links only to the site itself (the link it carries, on `site_url`), has no images
and nothing remote. `secret_link` carries the share link and refuses a receipt link.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2

from onetime.core.policy import DAY
from onetime.mail.address import check_recipient
from onetime.web import i18n

TEMPLATE_DIR = Path(__file__).parent / "templates"
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_COMMON: Mapping[str, Any] = {"primary_color": "#1f5fbf"}

# Per message: the values it needs, and the optional ones with their defaults. Every message also
# needs `site_name` and `site_url` (the origin its link must be on).
MESSAGES: Mapping[str, tuple[tuple[str, ...], Mapping[str, Any]]] = {
    "verify_address": (("link",), {}),
    "reset_password": (("link",), {"valid_for": DAY}),
    "secret_link": (("link", "expires_in"), {"note": "", "sender": ""}),
    "secret_read": (("read_at",), {"created_at": None}),
    "email_change": (("link", "new_address"), {}),
}


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """One rendered message for one recipient. The bodies hold links with keys: not in repr."""

    name: str
    locale: str
    to: str
    subject: str
    text: str = field(repr=False)
    html: str = field(repr=False)


@cache
def environment() -> jinja2.Environment:
    """The mail templates: HTML autoescaped, text not; gettext from onetime.web.i18n."""
    env = i18n.translating_environment(
        TEMPLATE_DIR,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
    )
    env.globals.update(moment=i18n.moment)
    return env


def compose(name: str, locale: str, to: str, **values: Any) -> OutgoingMail:
    """Render message `name` in `locale` (English if we do not speak it) for address `to`.

    Raises ValueError for an unknown message, a missing or unexpected value, a recipient that is
    not one plain address, or a link that is not on `site_url` (or, for `secret_link`, is not a
    share link).
    """
    if name not in MESSAGES:
        raise ValueError(f"no message called {name!r}; there are {', '.join(MESSAGES)}")
    required, optional = MESSAGES[name]
    needed = {"site_name", "site_url", *required}
    missing = needed - values.keys()
    unexpected = values.keys() - needed - optional.keys() - _COMMON.keys()
    if missing or unexpected:
        raise ValueError(
            f"message {name!r}: missing {sorted(missing)}, unexpected {sorted(unexpected)}"
        )
    context = {**_COMMON, **optional, **values}
    site_url = _check_site_url(str(context["site_url"]))
    if "link" in context:
        _check_link(str(context["link"]), site_url, share=name == "secret_link")
    if not _COLOR.match(str(context["primary_color"])):
        raise ValueError("primary_color must look like #1f5fbf")
    check_recipient(to)

    locale = locale if locale in i18n.LOCALES else i18n.SOURCE_LOCALE
    previous = i18n.current_locale()
    i18n.use_locale(locale)
    try:
        env = environment()
        subject = " ".join(env.get_template(f"{name}/subject.txt").render(context).split())
        context.update(subject=subject, html_lang=locale.replace("_", "-"))
        text = env.get_template(f"{name}/body.txt").render(context).strip() + "\n"
        html = env.get_template(f"{name}/body.html").render(context).strip() + "\n"
    finally:
        i18n.use_locale(previous)
    return OutgoingMail(name=name, locale=locale, to=to, subject=subject, text=text, html=html)


def _check_site_url(site_url: str) -> str:
    parts = urlsplit(site_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError("site_url must be the site's origin, like https://example.com")
    return site_url.rstrip("/")


def _check_link(link: str, site_url: str, *, share: bool) -> None:
    if not link.startswith(site_url + "/") or any(ch.isspace() or ch in "\"'<>" for ch in link):
        raise ValueError("a message links only to the site itself (link must be on site_url)")
    if share and not urlsplit(link).path.startswith("/secret/"):
        raise ValueError("secret_link carries the share link (/secret/…), never a receipt link")
