"""Languages: our own catalogs, read from .po files at start, and which one a request gets.

The language is, in order: the one a visitor explicitly chose (the `lang` cookie, set only by
the switcher), the best match of `Accept-Language`, English. English is the source language.
"""

from __future__ import annotations

import contextvars
import gettext
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any, Literal

import jinja2
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, format_timedelta, get_datetime_format
from babel.messages import mofile, pofile
from babel.numbers import format_decimal
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


_GROUPED = re.compile(r"\{(\w+):,\}")


def translate_error(template: str, params: Mapping[str, object]) -> str:
    """A domain error message in the current language, with its values filled in.

    Whole numbers are written the reader's way ("10,000", "10.000", "10 000"): the catalogs keep
    the English `{size:,}` placeholders, which are filled here with numbers already formatted.
    """
    translated = gettext_(template)
    values = {
        name: number(value) if isinstance(value, int) and not isinstance(value, bool) else value
        for name, value in params.items()
    }
    try:
        return _GROUPED.sub(r"{\1}", translated).format(**values) if params else translated
    except (KeyError, IndexError, ValueError):
        # A broken translation must never hide the error: fall back to English.
        return template.format(**params) if params else template


_Unit = Literal["day", "hour", "minute", "second"]
_UNITS: tuple[tuple[_Unit, int], ...] = (
    ("day", 86400),
    ("hour", 3600),
    ("minute", 60),
    ("second", 1),
)


def _in_unit(count: int, unit: _Unit, size: int) -> str:
    """A count of one unit in the current language's words: "3 days", "3 jours", "3 日"."""
    # An infinite threshold makes Babel use exactly the unit asked for (never weeks or months).
    return format_timedelta(
        count * size, granularity=unit, threshold=float("inf"), format="long", locale=_current.get()
    )


def duration(seconds: int) -> str:
    """A duration in words, in the current language: "7 days", "7 jours", "7 日".

    The largest of days, hours, minutes and seconds that fits, rounded: lifetimes read the way
    people picked them ("7 days", not "1 week").
    """
    seconds = max(int(seconds), 1)
    for unit, size in _UNITS:
        if seconds >= size:
            return _in_unit(round(seconds / size), unit, size)
    return _in_unit(seconds, "second", 1)  # pragma: no cover - the loop always returns


def wait_duration(seconds: int) -> str:
    """How long to wait, rounded up so that trying again after it works: "11 minutes"."""
    seconds = max(int(seconds), 1)
    if seconds < 60:
        return _in_unit(seconds, "second", 1)
    minutes = -(-seconds // 60)
    if minutes <= 90:
        return _in_unit(minutes, "minute", 60)
    return _in_unit(-(-minutes // 60), "hour", 3600)


def moment(timestamp: int) -> str:
    """A point in time in the current language's words, in UTC: "Jan 5, 2025, 2:03 PM"."""
    when = datetime.fromtimestamp(timestamp, UTC)
    locale = _current.get()
    pattern = get_datetime_format("medium", locale=locale)
    day = format_date(when, "medium", locale=locale)
    time = format_time(when, "short", tzinfo=UTC, locale=locale)
    return str(pattern).replace("{1}", day).replace("{0}", time)


def number(value: int) -> str:
    """A whole number with the current language's digit grouping: "10,000", "10 000"."""
    return format_decimal(value, locale=_current.get())


def translating_environment(
    template_dir: Path, autoescape: bool | Callable[[str | None], bool], **options: Any
) -> jinja2.Environment:
    """A Jinja2 environment whose gettext speaks the current request's (or mail's) language.

    Pages and mails share it, so both translate the same way from the same catalogs.
    """
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_dir),
        autoescape=autoescape,  # noqa: S701 - callers pass True (pages) or select_autoescape (mails)
        auto_reload=False,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        **options,
    )
    environment.install_gettext_callables(  # type: ignore[attr-defined]  # added by the extension
        gettext=gettext_, ngettext=ngettext_, newstyle=True
    )
    environment.globals.update(duration=duration, number=number)
    return environment
