"""Every Chinese text a template shows goes through the translation functions, so English readers never meet
an unmarked string. Jinja's own lexer splits each template into text and expression tokens: Chinese in template
text, or a Chinese string literal in an expression that is not the argument of _()/tr()/gettext() nor piped to
|tr, fails here with the file and line. Literals that are compared against (`x == '已签约'`) are data, not text."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from jinja2 import Environment

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "web" / "templates").rglob("*.html"))
TRANSLATING_CALLS = {"_", "tr", "gettext", "ngettext"}
# The language switch names Chinese in Chinese, as every bilingual site does.
SHOWN_AS_IS = {"中文"}


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def unmarked_strings(source: str) -> list[tuple[int, str]]:
    """(line, text) of every Chinese text the template shows without marking it for translation."""
    tokens = [token for token in Environment().lex(source) if token[1] != "whitespace"]
    found = []
    for index, (line, kind, value) in enumerate(tokens):
        if kind == "data":
            # Text between tags and attribute values (placeholder="…", title="…") alike are shown to people.
            found += [(line, piece.strip()) for piece in re.split(r"(<[^>]*>)", value)
                      if has_chinese(piece) and piece.strip() not in SHOWN_AS_IS]
        elif kind == "string" and has_chinese(value) and value[1:-1] not in SHOWN_AS_IS:
            if not (_translated(tokens, index) or _compared(tokens, index)):
                found.append((line, value[1:-1]))
    return found


def _translated(tokens, index) -> bool:
    """`_('…')`, `tr('…')`, `gettext('…')`, or `'…'|tr`."""
    before = [(kind, value) for _line, kind, value in tokens[max(0, index - 2):index]]
    after = [(kind, value) for _line, kind, value in tokens[index + 1:index + 3]]
    called = len(before) == 2 and before[0][0] == "name" and before[0][1] in TRANSLATING_CALLS \
        and before[1] == ("operator", "(")
    return called or after == [("operator", "|"), ("name", "tr")]


def _compared(tokens, index) -> bool:
    """`x == '…'`, `'…' != x`, `'…' in x`, `x in ['…', '…']`: the literal is data the template tests, not text."""
    previous = tokens[index - 1][1:] if index else None
    following = tokens[index + 1][1:] if index + 1 < len(tokens) else None
    if previous in (("operator", "=="), ("operator", "!="), ("name", "in")):
        return True
    if following in (("operator", "=="), ("operator", "!="), ("name", "in")):
        return True
    depth = 0  # inside a list or tuple that follows `in`?
    for position in range(index - 1, -1, -1):
        kind, value = tokens[position][1:]
        if kind == "operator" and value in ")]":
            depth += 1
        elif kind == "operator" and value in "([":
            if depth == 0:
                return position > 0 and tokens[position - 1][1:] == ("name", "in")
            depth -= 1
        elif kind in ("block_begin", "variable_begin"):
            return False
    return False


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT / "web" / "templates")))
def test_template_marks_every_chinese_text_for_translation(template):
    problems = unmarked_strings(template.read_text(encoding="utf-8"))
    assert problems == [], "\n".join(f"{template.name}:{line}: {text[:60]!r} is not inside _() or |tr"
                                      for line, text in problems)


def test_the_check_finds_unmarked_text_and_accepts_marked_text():
    assert unmarked_strings("<p>我的合同</p>") == [(1, "我的合同")]
    assert unmarked_strings("{{ '我的合同' }}") == [(1, "我的合同")]
    assert unmarked_strings("<p>{{ _('我的合同') }} {{ tr('待办') }} {{ '提交'|tr }}</p>") == []
    assert unmarked_strings("{% if status == '已签约' %}{% endif %}{% if s in ['甲', '乙'] %}{% endif %}") == []
    assert unmarked_strings("<a href='/lang/zh'>中文</a>") == []
