"""Every catalog is complete: each message of the code and templates is translated in every
language, placeholders intact, and the template catalog matches the sources (`make messages`)."""

import re
from pathlib import Path

import pytest
from babel.messages import pofile
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from onetime.web.i18n import LOCALE_DIR, LOCALES, SOURCE_LOCALE, read_catalog

ROOT = Path(__file__).parents[2]
# Both kinds: str.format ("{size:,}") in Python messages, "%(name)s" in templates.
PLACEHOLDER = re.compile(r"\{[a-z_]*(?::[^}]*)?\}|%\([a-z_]+\)s")


def source_messages() -> set[str]:
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = extract_from_dir(
        str(ROOT),
        method_map,
        options_map,
        keywords={"_": None, "gettext": None, "ngettext": (1, 2), "N_": None},
    )
    messages = set()
    for _filename, _line, message, _comments, _context in found:
        messages.update(message if isinstance(message, tuple) else (message,))
    return messages


def catalog_messages(path: Path) -> dict[str, object]:
    with path.open("rb") as handle:
        catalog = pofile.read_po(handle)
    found: dict[str, object] = {}
    for message in catalog:
        if message.id:
            # A plural entry answers for both its singular and its plural source text.
            for msgid in (message.id,) if isinstance(message.id, str) else message.id:
                found[msgid] = message
    return found


def test_the_template_catalog_matches_the_sources() -> None:
    in_pot = set(catalog_messages(LOCALE_DIR / "messages.pot"))
    assert source_messages() - in_pot == set(), "run `make messages`"
    assert len(in_pot) > 40


@pytest.mark.parametrize("locale", [code for code in LOCALES if code != SOURCE_LOCALE])
def test_every_message_is_translated_with_its_placeholders(locale: str) -> None:
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    assert path.exists(), f"no catalog for {locale}"
    translated = catalog_messages(path)
    problems = []
    for msgid in sorted(source_messages()):
        message = translated.get(msgid)
        strings = (
            []
            if message is None
            else ([message.string] if isinstance(message.string, str) else list(message.string))
        )  # type: ignore[attr-defined]
        if message is None or not all(strings) or message.fuzzy:  # type: ignore[attr-defined]
            problems.append(f"untranslated: {msgid!r}")
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)  # type: ignore[attr-defined]
        for text in strings:
            if len(ids) > 1:
                # Plural forms: some languages say "one" in words, others use the number.
                allowed = {p for msgid_form in ids for p in PLACEHOLDER.findall(msgid_form)}
                if not set(PLACEHOLDER.findall(text)) <= allowed:
                    problems.append(f"placeholders differ: {msgid!r} -> {text!r}")
            elif sorted(PLACEHOLDER.findall(text)) != sorted(PLACEHOLDER.findall(msgid)):
                problems.append(f"placeholders differ: {msgid!r} -> {text!r}")
    assert problems == []


@pytest.mark.parametrize("locale", [code for code in LOCALES if code != SOURCE_LOCALE])
def test_catalogs_load(locale: str) -> None:
    translations = read_catalog(LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po")
    assert translations.gettext("Share a secret") != "Share a secret"
