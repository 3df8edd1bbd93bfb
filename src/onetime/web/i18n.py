"""Languages: our own catalogs, read from .po files at start, and which one a request gets.

The language is, in order: the one a visitor explicitly chose (the `lang` cookie, set only by
the switcher), the best match of `Accept-Language`, English. English is the source language.
"""

from __future__ import annotations

import contextvars
import gettext
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from io import BytesIO
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_timedelta
from babel.messages import mofile, pofile
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locales"
SOURCE_LOCALE = "en"
LOCALES = ("en", "de", "es", "fr", "it", "ja", "nl", "pt_BR")
LANG_COOKIE = "lang"


@dataclass(frozen=True, slots=True)
class Language:
    """One language a visitor can pick: its code and its name in itself."""

    code: str
    name: str
    tag: str  # for <html lang>: pt-BR rather than pt_BR


@cache
def languages() -> tuple[Language, ...]:
    """Every language we speak, each named in its own words."""
    found = []
    for code in LOCALES:
        locale = Locale.parse(code)
        name = locale.get_display_name(locale) or code
        found.append(Language(code, name[:1].upper() + name[1:], code.replace("_", "-")))
    return tuple(found)


def read_catalog(path: Path) -> gettext.NullTranslations:
    """Load one .po file as translations (through an in-memory .mo; nothing compiled on disk)."""
    with path.open("rb") as handle:
        catalog = pofile.read_po(handle)
    buffer = BytesIO()
    mofile.write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


@cache
def translations() -> Mapping[str, gettext.NullTranslations]:
    """All catalogs, loaded once per process."""
    loaded: dict[str, gettext.NullTranslations] = {SOURCE_LOCALE: gettext.NullTranslations()}
    for code in LOCALES:
        path = LOCALE_DIR / code / "LC_MESSAGES" / "messages.po"
        if code != SOURCE_LOCALE and path.exists():
            loaded[code] = read_catalog(path)
    return loaded


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The language for a request: an explicit choice, else the browser's preference, else English."""
    if cookie in LOCALES:
        return cookie
    wanted = []
    for part in (accept_language or "").split(",")[:20]:
        tag, _, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            continue
        if tag and weight > 0:
            wanted.append((weight, tag.strip()))
    preferences = [tag for _, tag in sorted(wanted, key=lambda item: -item[0])]
    try:
        match = Locale.negotiate(preferences, LOCALES, sep="-") or Locale.negotiate(
            [p.replace("-", "_") for p in preferences], LOCALES, sep="_"
        )
    except (UnknownLocaleError, ValueError):
        match = None
    if match is not None:
        return str(match)
    # "pt" alone, or "pt-PT": Brazilian Portuguese is the Portuguese we have.
    for tag in preferences:
        base = tag.split("-")[0].split("_")[0].lower()
        for code in LOCALES:
            if code.split("_")[0] == base:
                return code
    return SOURCE_LOCALE


_current: contextvars.ContextVar[str] = contextvars.ContextVar(
    "onetime_locale", default=SOURCE_LOCALE
)


def use_locale(code: str) -> None:
    """Set the language for what this request renders next."""
    _current.set(code if code in LOCALES else SOURCE_LOCALE)


def current_locale() -> str:
    return _current.get()


def gettext_(message: str) -> str:
    """Translate into the current language (English messages are their own translation)."""
    return translations().get(_current.get(), gettext.NullTranslations()).gettext(message)


def ngettext_(singular: str, plural: str, count: int) -> str:
    catalog = translations().get(_current.get(), gettext.NullTranslations())
    return catalog.ngettext(singular, plural, count)


def translate_error(template: str, params: Mapping[str, object]) -> str:
    """A domain error message in the current language, with its values filled in."""
    translated = gettext_(template)
    try:
        return translated.format(**params) if params else translated
    except (KeyError, IndexError, ValueError):
        # A broken translation must never hide the error: fall back to English.
        return template.format(**params) if params else template


def duration(seconds: int) -> str:
    """A duration in words, in the current language: "7 days", "7 jours", "7日"."""
    locale = _current.get()
    return format_timedelta(max(seconds, 1), threshold=1.0, locale=locale, format="long")
