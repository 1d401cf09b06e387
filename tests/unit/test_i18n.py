"""Every msgid in bot/ exists, translated, in the ar and ru catalogs (and en has them all)."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR, compile_catalogs

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "__": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}


def source_msgids() -> set[str]:
    found: set[str] = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT / "bot"), method_map=[("**.py", "python")], keywords=KEYWORDS
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_sources_use_gettext() -> None:
    assert len(source_msgids()) > 50


@pytest.mark.parametrize("locale", ["en", "ru", "ar"])
def test_catalog_has_every_msgid(locale: str) -> None:
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    missing = sorted(msgid for msgid in source_msgids() if msgid not in catalog)
    assert not missing, f"{locale}: run scripts/i18n.sh and translate: {missing[:10]}"
    if locale == "en":
        return
    untranslated = [
        m.id
        for m in catalog
        if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string)) or m.fuzzy)
    ]
    assert not untranslated, f"{locale}: untranslated or fuzzy: {untranslated[:10]}"


@pytest.mark.parametrize("locale", ["ru", "ar"])
def test_placeholders_survive_translation(locale: str) -> None:
    import re

    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    pattern = re.compile(r"\{[a-z_]+\}|%\([a-z_]+\)[sd]")
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = [str(i) for i in message.id] if isinstance(message.id, tuple) else [str(message.id)]
        strings = (
            [str(s) for s in message.string] if isinstance(message.string, tuple) else [str(message.string)]
        )
        wanted = set(pattern.findall(ids[-1]))
        for string in strings:
            assert set(pattern.findall(string)) <= wanted | set(pattern.findall(ids[0])), message.id
            assert wanted <= set(pattern.findall(string)) or len(ids) > 1, message.id


def test_catalogs_compile(tmp_path: Path) -> None:
    compile_catalogs()
    for locale in ("en", "ru", "ar"):
        assert (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.mo").exists()
