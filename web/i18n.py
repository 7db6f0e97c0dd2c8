"""Chinese by default, English selectable (Flask-Babel).

The English catalog is kept as a readable .po file in web/translations and
compiled to .mo at start-up (into the var folder), so no binary is committed.
Strings without a translation show in Chinese, the guide's wording.
"""
from __future__ import annotations

import os
import tempfile
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

    app.jinja_env.globals["tr"] = translate  # also inside imported macros
    app.jinja_env.filters["tr"] = translate


def translate(text) -> str:
    """Translate a runtime string (a form label, a task name) without %-formatting it."""
    from flask_babel import get_translations
    return get_translations().gettext(str(text)) if text else text
