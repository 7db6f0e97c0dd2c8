"""Deploy refuses unbounded work and unsafe Python, naming the element — and lets harmless Python through."""
from __future__ import annotations

import logging

import pytest

from engine import DefinitionError, validate_sources

from .probe_diagram import PROCESS_ID, probe

SCRIPT, GATE, WAIT = "「计算」", "「判断」", "「等待」"


def problems(registry, **parts) -> list[str]:
    return validate_sources(probe(**parts), registry).problems


def assert_refused(registry, harness, element: str, reason: str, **parts) -> None:
    """Refused by validate_sources and by deploy, with the element and the reason in one problem."""
    found = problems(registry, **parts)
    assert any(element in p and reason in p for p in found), found
    with pytest.raises(DefinitionError) as err:
        harness.engine.deploy(probe(**parts))
    assert any(element in p and reason in p for p in err.value.problems), err.value.problems


# Every example of issue #10, each with the element it must name.
@pytest.mark.parametrize("parts, element, reason", [
    ({"condition": "9**9**9 > 1"}, GATE, "乘方"),
    ({"script": "while True: pass"}, SCRIPT, "break"),
    ({"script": "s = 'a'*10**10"}, SCRIPT, "重复"),
    ({"script": "total = sum(range(10**14))"}, SCRIPT, "range"),
    ({"timer": '"R/PT0S"', "timer_kind": "timeCycle"}, WAIT, "间隔为零"),
    ({"timer": "R/PT0S", "timer_kind": "timeCycle"}, WAIT, "没有加引号"),
    ({"timer": '"P99999999Y"'}, WAIT, "超过十年"),
    ({"script": "s = str(9**9**9)"}, SCRIPT, "乘方"),
], ids=["pow-condition", "while-true", "repeat", "sum-range", "cycle-zero", "cycle-unquoted",
        "duration-99999999Y", "str-pow"])
def test_issue_10_examples_are_refused_with_the_element(registry, harness, parts, element, reason):
    assert_refused(registry, harness, element, reason, **parts)


@pytest.mark.parametrize("parts, element, reason", [
    ({"script": "x = 1 << 10**9"}, SCRIPT, "左移"),
    ({"script": "x = [0] * 2000000"}, SCRIPT, "重复"),
    ({"condition": "len(range(2000000)) > 0"}, GATE, "range"),
    ({"script": "while 1:\n    for i in range(3):\n        break"}, SCRIPT, "break"),
    ({"script": "while True:\n    if False:\n        break"}, SCRIPT, "break"),
    ({"script": "x = 1 / 0"}, SCRIPT, "ZeroDivisionError"),
    ({"timer": '"P11Y"'}, WAIT, "超过十年"),
    ({"timer": '"P3700D"'}, WAIT, "超过十年"),
    ({"timer": '"PT1X"'}, WAIT, "无法解析"),
    ({"timer": "PT1H"}, WAIT, "没有加引号"),
    ({"timer": '"R/PT-1S"', "timer_kind": "timeCycle"}, WAIT, "无法解析"),
    ({"timer": '"R5/P20Y"', "timer_kind": "timeCycle"}, WAIT, "超过十年"),
    ({"timer": '"next tuesday"', "timer_kind": "timeDate"}, WAIT, "无法解析"),
    ({"timer": "3600", "timer_kind": "timeDuration"}, WAIT, "ISO 8601 字符串"),
])
def test_other_unbounded_or_broken_constants_are_refused(registry, harness, parts, element, reason):
    assert_refused(registry, harness, element, reason, **parts)


@pytest.mark.parametrize("parts", [
    {"script": "while True:\n    n = n + 1\n    if n > 10:\n        break"},
    {"script": "while True:\n    for i in range(3):\n        pass\n    else:\n        break"},
    {"script": "x = 10**1000\ny = 'ab' * 1000\nz = 1 << 4000"},
    {"timer": '"PT1H"'},
    {"timer": '"P10Y"'},
    {"timer": '"R3/PT1H"', "timer_kind": "timeCycle"},
    {"timer": '"R/2026-01-01T00:00:00+08:00/P1D"', "timer_kind": "timeCycle"},
    {"timer": '"2026-12-31T17:00:00+08:00"', "timer_kind": "timeDate"},
    {"timer": "deadline", "timer_kind": "timeDate"},
])
def test_bounded_work_and_sane_timers_pass(registry, parts):
    assert problems(registry, **parts) == []


@pytest.mark.parametrize("script, reason", [
    ("import os", "import"),
    ("x = __import__('os')", "下划线"),
    ("x = ().__class__.__bases__", "下划线"),
    ("x = open('/etc/passwd').read()", "open"),
    ("x = eval('1')", "eval"),
    ("exec('x = 1')", "exec"),
    ("x = getattr(n, 'real')", "getattr"),
    ("g = (i for i in [1])\nf = g.gi_frame", "gi_frame"),
    ("s = '{0.__class__}'.format(n)", "属性"),
    ("s = 'x'.format_map({})", "format_map"),
    ("class A:\n    pass", "class"),
    ("with n as m:\n    pass", "with"),
    ("def f():\n    def g():\n        return 1\n    return g()", "最外层"),
    ("if n:\n    def f():\n        return 1", "最外层"),
    ("def f():\n" + "    x = 1\n" * 45 + "    return x", "上限"),
    ("x = type(n)", "type"),
    ("try:\n    x = 1\nexcept BaseException:\n    x = 2", "BaseException"),
    ("s = f'{n:{n}}'", "嵌套"),
])
def test_unsafe_python_is_refused(registry, harness, script, reason):
    assert_refused(registry, harness, SCRIPT, reason, script=script)


ALLOWED_SCRIPT = """\
print("订单", n, "开始处理")
due = (datetime.now(timezone.utc) + timedelta(days=1)).replace(microsecond=0)
due_text = due.isoformat()
local_day = due.astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m-%d")
parsed = datetime.fromisoformat("2026-03-01T08:00:00+08:00").date().isoformat()

def label(value):
    if value > 2:
        return "大"
    return "小"

sizes = sorted([label(i) + str(i).zfill(3) for i in range(n)], key=lambda s: s[-1], reverse=True)
summary = "{}件, 首件{}".format(len(sizes), sizes[0]) + f" / {n:>4}"
words = " ".join(w.upper() for w in "a b c".split())
ratio = round(7 / 3, 2)
try:
    parsed_amount = int("12a")
except ValueError:
    parsed_amount = 0
"""


def test_harmless_python_deploys_and_runs(registry, harness, caplog, capsys):
    assert problems(registry, script=ALLOWED_SCRIPT, condition="len(sizes) == n and due_text > ''") == []
    harness.engine.deploy(probe(script=ALLOWED_SCRIPT, condition="len(sizes) == n and due_text > ''"))
    with caplog.at_level(logging.INFO, logger="engine.diagram"):
        case = harness.start(PROCESS_ID, data={"n": 4})
    assert (case.status, case.end_event) == ("completed", "通过"), case.incidents()
    data = case.data()
    assert data["sizes"] == ["大003", "小002", "小001", "小000"]
    assert data["summary"] == "4件, 首件大003 /    4"
    assert data["local_day"] and data["due_text"].endswith("+00:00") and data["parsed"] == "2026-03-01"
    assert data["words"] == "A B C" and "label" not in data  # functions do not land in task data
    assert data["parsed_amount"] == 0
    # print goes to the engine's log, never to the server's stdout.
    assert any("订单 4 开始处理" in r.getMessage() for r in caplog.records if r.name == "engine.diagram")
    assert "开始处理" not in capsys.readouterr().out
