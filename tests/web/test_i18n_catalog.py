"""The English catalog is complete for every message the code and the templates mark for translation
(what `make i18n` extracts with pybabel): a new Chinese string marked with _() or tr() and not translated
fails here, instead of showing Chinese to an English reader."""
from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "web" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
METHODS = [("web/**.py", "python"), ("handlers/**.py", "python"), ("web/templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "tr": None}


def marked_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT), METHODS, keywords=KEYWORDS):
        if isinstance(message, str) and message and any("\u4e00" <= ch <= "\u9fff" for ch in message):
            found.add(message)
    return found


def test_every_marked_chinese_message_has_an_english_translation():
    with CATALOG.open("rb") as source:
        catalog = read_po(source)
    marked = marked_messages()
    assert len(marked) > 150  # the extraction itself works (templates and code)
    missing = sorted(m for m in marked if m not in catalog or not catalog[m].string)
    assert missing == []
