"""Deploy-time refusal of work that is unbounded on its face: constant folding, endless loops, timer values.

Folding evaluates constant sub-expressions with the run-time guards of
:mod:`engine.budget`, so ``9**9**9``, ``'a'*10**10`` or ``range(10**14)`` are
refused at deploy for the same reason a step would refuse them.  Timer values
are checked with bounds of our own *before* SpiffWorkflow's parser sees them:
its month arithmetic loops once per month, so ``P99999999Y`` would hang.
"""
from __future__ import annotations

import ast
import operator
import re
from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from . import budget
from .expressions import ExpressionError

MAX_SOURCE_CHARS = 20_000
MAX_TIMER = timedelta(days=3653)          # ten years
MAX_INSTANCES = 1_000                     # multi-instance cardinality
_UNKNOWN = object()

_BINOPS = {
    ast.Pow: budget.guard_pow, ast.Mult: budget.guard_mul, ast.LShift: budget.guard_lshift,
    ast.Add: budget.guard_add, ast.Mod: budget.guard_mod, ast.Sub: operator.sub,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.RShift: operator.rshift,
    ast.BitAnd: operator.and_, ast.BitOr: operator.or_, ast.BitXor: operator.xor,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_, ast.Invert: operator.invert}
_CALLS = {"range": budget.guard_range, "sum": budget.guard_sum, "str": str, "len": len, "int": int,
          "abs": abs, "list": list, "tuple": tuple, "min": min, "max": max}


def check_limits(tree: ast.AST, source: str) -> None:
    """Raise :class:`ExpressionError` when ``tree`` (of ``source``) is unbounded on its face."""
    if len(source) > MAX_SOURCE_CHARS:
        raise ExpressionError(f"代码过长（{len(source)} 个字符，上限 {MAX_SOURCE_CHARS}）；请改用服务任务")
    try:
        fold(tree)
        _check_loops(tree)
    except RecursionError as err:
        raise ExpressionError("表达式嵌套过深") from err


def fold(node: ast.AST) -> Any:
    """The constant value of ``node``, or ``_UNKNOWN``; every constant sub-expression is evaluated.

    A constant that is too big is refused anywhere; one that always fails (``1/0``,
    ``int("x")``) is refused unless a ``try`` is there to catch it.
    """
    try:
        return _Folder().fold(node)
    except budget.BudgetExceeded as err:
        raise ExpressionError(str(err)) from err


class _Folder:
    def __init__(self) -> None:
        self.in_try = 0

    def fold(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.Tuple, ast.List)):
            values = [self.fold(e) for e in node.elts]
            if any(v is _UNKNOWN for v in values):
                return _UNKNOWN
            return tuple(values) if isinstance(node, ast.Tuple) else values
        if isinstance(node, ast.BinOp):
            left, right = self.fold(node.left), self.fold(node.right)
            operation = _BINOPS.get(type(node.op))
            if left is _UNKNOWN or right is _UNKNOWN or operation is None:
                return _UNKNOWN
            return self.apply(node, operation, left, right)
        if isinstance(node, ast.UnaryOp):
            value = self.fold(node.operand)
            return _UNKNOWN if value is _UNKNOWN else self.apply(node, _UNARY[type(node.op)], value)
        if isinstance(node, ast.Call):
            return self.fold_call(node)
        self.in_try += isinstance(node, ast.Try)
        for child in ast.iter_child_nodes(node):
            self.fold(child)
        self.in_try -= isinstance(node, ast.Try)
        return _UNKNOWN

    def fold_call(self, node: ast.Call) -> Any:
        args = [self.fold(a) for a in node.args]
        for keyword in node.keywords:
            self.fold(keyword.value)
        func = node.func
        if not isinstance(func, ast.Name) or func.id not in _CALLS or node.keywords:
            self.fold(func)
            return _UNKNOWN
        if any(a is _UNKNOWN for a in args):
            return _UNKNOWN
        return self.apply(node, _CALLS[func.id], *args)

    def apply(self, node: ast.AST, operation: Any, *args: Any) -> Any:
        try:
            return operation(*args)
        except (ArithmeticError, ValueError, TypeError) as err:
            if self.in_try:
                return _UNKNOWN
            raise ExpressionError(f"常量表达式 `{ast.unparse(node)}` 运行时必然出错: "
                                  f"{type(err).__name__}: {err}") from err


def _truthy(node: ast.expr) -> bool | None:
    value = fold(node)
    return None if value is _UNKNOWN else bool(value)


def _check_loops(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.While) and _truthy(node.test) and not _exits(node.body):
            raise ExpressionError(f"`while {ast.unparse(node.test)}:` 的循环里没有可到达的 break，"
                                  "会永远运行；请写明结束条件")


def _exits(statements: list[ast.stmt]) -> bool:
    """Whether a ``break`` (of this loop), ``return`` or ``raise`` can be reached in ``statements``."""
    for statement in statements:
        if isinstance(statement, (ast.Break, ast.Return, ast.Raise)):
            return True
        if isinstance(statement, ast.If):
            truth = _truthy(statement.test)
            if (truth is not False and _exits(statement.body)) or (truth is not True and _exits(statement.orelse)):
                return True
        elif isinstance(statement, (ast.For, ast.While)):
            # A break in an inner loop's body ends that loop; in its ``else`` it ends ours.
            if _exits(statement.orelse) or _returns(statement.body):
                return True
        elif isinstance(statement, ast.Try):
            blocks = [statement.body, statement.orelse, statement.finalbody, *(h.body for h in statement.handlers)]
            if any(_exits(b) for b in blocks):
                return True
    return False


def _returns(statements: list[ast.stmt]) -> bool:
    return any(isinstance(n, (ast.Return, ast.Raise)) for s in statements for n in ast.walk(s))


# ---------------------------------------------------------------------------- timers

_ISO_LOOKING = re.compile(r"^(R\d*/.*|P(\d|T)[0-9YMWDTHS.,]*|\d{4}-\d{2}-\d{2}T[0-9:.+\-Z]*)$")
TIMER_KINDS = {"TimeDateEventDefinition": "date", "DurationTimerEventDefinition": "duration",
               "CycleTimerEventDefinition": "cycle"}


def check_cardinality_value(value: Any) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and value > MAX_INSTANCES:
        raise ExpressionError(f"多实例的数量 {value} 超过上限 {MAX_INSTANCES}")


def check_kind(kind: str, source: str) -> None:
    """The checks a value of ``kind`` (a timer kind or "cardinality") gets besides the policy."""
    if kind == "cardinality":
        try:
            tree = ast.parse(source.strip(), mode="eval")
        except SyntaxError:
            return  # the policy check reports it
        value = fold(tree.body)
        if value is not _UNKNOWN:
            check_cardinality_value(value)
    else:
        check_timer_expression(kind, source)


def check_timer_expression(kind: str, source: str) -> None:
    """A timer's expression: a constant value is checked now; an unquoted ISO value is a mistake."""
    stripped = source.strip()
    try:
        tree = ast.parse(stripped, mode="eval")
    except SyntaxError:
        tree = None
    value = fold(tree.body) if tree is not None else _UNKNOWN
    if value is _UNKNOWN:
        if _ISO_LOOKING.match(stripped):
            raise ExpressionError(f"定时器的值 {stripped} 没有加引号，会被当作变量名；请写成 \"{stripped}\"")
        return
    check_timer_value(kind, value)


def check_timer_value(kind: str, value: Any) -> None:
    """Raise :class:`ExpressionError` unless ``value`` is a timer value of ``kind`` within sane bounds."""
    if not isinstance(value, str):
        raise ExpressionError(f"定时器的值必须是 ISO 8601 字符串，实际是 {type(value).__name__}: {value!r}")
    if kind == "duration":
        _duration(value)
    elif kind == "date":
        _datetime(value)
    elif kind == "cycle":
        _cycle(value)


def _duration(text: str) -> timedelta:
    if not text.upper().startswith("P"):
        raise ExpressionError(f"时长 {text!r} 不是 ISO 8601 时长（例如 \"PT1H\"、\"P3D\"）")
    try:
        parts = TimerEventDefinition.parse_iso_duration(text)
    except Exception as err:
        raise ExpressionError(f"时长 {text!r} 无法解析（ISO 8601，例如 \"PT1H\"、\"P3D\"）") from err
    # Average year and month lengths: "over ten years" without Spiff's month-by-month walk.
    days = parts.get("years", 0) * 365.25 + parts.get("months", 0) * 30.44 + parts.get("weeks", 0) * 7 \
        + parts.get("days", 0)
    seconds = parts.get("hours", 0) * 3600 + parts.get("minutes", 0) * 60 + parts.get("seconds", 0)
    if days > MAX_TIMER.days or days * 86400 + seconds > MAX_TIMER.total_seconds():
        raise ExpressionError(f"时长 {text!r} 超过十年，超出合理范围")
    return timedelta(days=days, seconds=seconds)


def _datetime(text: str) -> datetime:
    try:
        if "W" in text.upper():
            week: datetime = TimerEventDefinition.parse_iso_week(text)
            return week
        moment: datetime = TimerEventDefinition.get_datetime(text)
        return moment
    except Exception as err:
        raise ExpressionError(f"时间 {text!r} 无法解析（ISO 8601，例如 \"2026-12-31T17:00:00+08:00\"）") from err


def _cycle(text: str) -> None:
    components = text.upper().replace("--", "/").strip("R").split("/")
    if len(components) not in (2, 3) or not (components[0] == "" or components[0].isdigit()):
        raise ExpressionError(f"循环 {text!r} 无法解析（ISO 8601，例如 \"R3/PT1H\"）")
    durations = [c for c in components[1:] if c.startswith("P")]
    if len(durations) != 1:
        raise ExpressionError(f"循环 {text!r} 须且只须有一个间隔时长（例如 \"R3/PT1H\"）")
    if _duration(durations[0]) <= timedelta(0):
        raise ExpressionError(f"循环 {text!r} 的间隔为零，会不停触发；间隔必须大于零")
    for component in components[1:]:
        if not component.startswith("P"):
            _datetime(component)
    try:
        TimerEventDefinition.parse_iso_recurring_interval(text)
    except Exception as err:
        raise ExpressionError(f"循环 {text!r} 无法解析（ISO 8601，例如 \"R3/PT1H\"）") from err


