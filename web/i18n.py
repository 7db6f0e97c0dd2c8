"""Chinese by default, English selectable (Flask-Babel).

The English catalog is kept as a readable .po file in web/translations and
compiled to .mo at start-up (into the var folder), so no binary is committed.
Strings without a translation show in Chinese, the guide's wording.
"""
from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import redirect, request, session
from flask_babel import Babel

LANGUAGES = ("zh", "en")
SOURCE = Path(__file__).parent / "translations"


def _compile(target: Path) -> None:
    for po in SOURCE.glob("*/LC_MESSAGES/messages.po"):
        out = target / po.relative_to(SOURCE).with_suffix(".mo")
        out.parent.mkdir(parents=True, exist_ok=True)
        # Several processes start at once (web, worker, test workers): each writes its own file
        # and renames it into place, so nobody ever reads a half-written catalog.
        with tempfile.NamedTemporaryFile("wb", dir=out.parent, suffix=".tmp", delete=False) as sink:
            with po.open("rb") as source:
                write_mo(sink, read_po(source))
        os.replace(sink.name, out)


def select_locale() -> str:
    return session.get("lang", "zh")


def current_language() -> str:
    """The page's language; "zh" outside a request."""
    from flask import has_request_context
    return select_locale() if has_request_context() else "zh"


def init_app(app) -> None:
    target = Path(app.config["TRANSLATIONS_DIR"])
    _compile(target)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(target)
    Babel(app, locale_selector=select_locale, default_locale="zh")

    @app.get("/lang/<code>")
    def set_language(code):
        if code in LANGUAGES:
            session["lang"] = code
        target = request.referrer or "/"
        return redirect(target if target.startswith(request.host_url) or target.startswith("/") else "/")

    @app.context_processor
    def languages():
        return {"current_lang": select_locale()}

    # tr(x) / x|tr: a runtime string (a label, a task name, a field's message), also inside imported macros.
    app.jinja_env.globals["tr"] = translate_message
    app.jinja_env.filters["tr"] = translate_message


def translate(text) -> str:
    """Translate a runtime string (a form label, a task name) without %-formatting it."""
    from flask_babel import get_translations
    return get_translations().gettext(str(text)) if text else text


PART = re.compile(r"%\((\w+)\)s")


def _readings(text: str, template: str) -> Iterator[dict[str, str]]:
    """Every way ``text`` may have been built from ``template``: 「成交价格应大于0」 from 「%(label)s%(problem)s」
    is label 「成」 + problem 「交价格应大于0」, label 「成交」 + …; the caller keeps the reading it can translate."""
    part = PART.search(template)
    if part is None:
        if text == template.replace("%%", "%"):
            yield {}
        return
    before = template[:part.start()].replace("%%", "%")
    if not text.startswith(before):
        return
    rest_text, rest_template = text[len(before):], template[part.end():]
    for end in range(1, len(rest_text) + 1):
        for others in _readings(rest_text[end:], rest_template):
            yield {part.group(1): rest_text[:end], **others}


def translate_message(text):
    """Translate a message a handler built (a form's field error): the whole text when the catalog has it, else
    the template it was built from (``handlers.i18n.template``) with each part translated, so 「成交价格为必填项」
    reads "Price (yuan) is required". Chinese mode, and text the catalog does not know, stay exactly as they are."""
    if not text:
        return text
    text = str(text)
    translated = translate(text)
    if translated != text or not _is_chinese(text):
        return translated
    from flask_babel import get_translations

    from handlers.i18n import MESSAGE_TEMPLATES
    catalog = get_translations()
    # The most literal text first: 「%(label)s为必填项」 is tried before 「%(label)s%(problem)s」.
    for template in sorted(MESSAGE_TEMPLATES, key=lambda t: -len(PART.sub("", t))):
        english = catalog.gettext(template)
        if english == template:
            continue  # Chinese mode, or a template without English yet
        for parts in _readings(text, template):
            english_parts = _translate_parts(parts)
            if english_parts is not None:
                return english % english_parts
    return text


# Parts that are words of the interface: a reading is right only when they translate. A field's name is
# looked up whole (never split again), which also keeps the search short. Other parts may be data (a name).
WORDS = {"label", "side", "rule"}
MESSAGES = {"problem", "party"}


def _translate_parts(parts: dict[str, str]) -> dict[str, str] | None:
    english = {}
    for name in sorted(parts, key=lambda n: n not in WORDS):
        value = parts[name]
        if name == "choices":
            english[name] = ", ".join(translate(choice) for choice in value.split("、"))
            continue
        english[name] = translate(value) if name in WORDS else translate_message(value)
        if (name in WORDS or name in MESSAGES) and english[name] == value:
            return None  # not this reading (or a part without English yet): the message stays as it is
    return english


def _is_chinese(text) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in str(text))
