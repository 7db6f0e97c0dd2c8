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
COMPARISONS = {"eq", "ne", "in", "name:in"}  # `x == '…'`, `x != '…'`, `'…' in x` / `x in ['…']`
# The language switch names Chinese in Chinese, as every bilingual site does.
SHOWN_AS_IS = {"中文"}


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def unmarked_strings(source: str) -> list[tuple[int, str]]:
    env = Environment(extensions=["jinja2.ext.i18n"])
    tokens = [(line, kind, value) for line, kind, value in env.lex(source) if kind != "whitespace"]
    found = []
    for index, (line, kind, value) in enumerate(tokens):
        if not has_chinese(value) or value.strip() in SHOWN_AS_IS:
            continue
        if kind == "data":
            # Text between tags and attribute values (placeholder="…", title="…") alike are shown to people.
            found += [(line, piece.strip()) for piece in re.split(r"(<[^>]*>)", value)
                      if has_chinese(piece) and piece.strip() not in SHOWN_AS_IS]
        elif kind == "string":
            before = [(k, v) for _l, k, v in tokens[max(0, index - 2):index]]
            after = [(k, v) for _l, k, v in tokens[index + 1:index + 3]]
            called = len(before) == 2 and before[0] == ("name", before[0][1]) and before[0][1] in TRANSLATING_CALLS \
                and before[1] == ("operator", "(")
            piped = after[:2] == [("operator", "|"), ("name", "tr")]
            compared = bool(before) and (before[-1][0] in COMPARISONS or before[-1] == ("name", "in")
                                          or (before[-1][0] in ("lbracket", "comma", "operator")
                                              and _inside_list_after_in(tokens, index)))
            compared = compared or (bool(after) and (after[0][0] in ("eq", "ne") or after[0] == ("name", "in")))
            if not (called or piped or compared):
                found.append((line, value))
    return found


def _inside_list_after_in(tokens, index) -> bool:
    """`x in ['甲', '乙']`: walk back over the list's items to the `in` before its bracket."""
    depth = 0
    for position in range(index - 1, -1, -1):
        kind, value = tokens[position][1], tokens[position][2]
        if kind in ("rbracket", "rparen"):
            depth += 1
        elif kind in ("lbracket", "lparen"):
            if depth == 0:
                previous = tokens[position - 1] if position else None
                return previous is not None and previous[1] == "name" and previous[2] == "in"
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
