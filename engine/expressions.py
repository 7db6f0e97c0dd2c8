"""The deploy policy for Python in diagrams: what an analyst may write, checked on the syntax tree.

SpiffWorkflow evaluates conditions, timer values, service parameters and
scripts with ``eval``/``exec``; that is not a sandbox.  So every expression is
parsed when a definition is deployed and refused when it imports, reaches for
dunder or frame attributes, or calls anything outside the allowed set
(docs/diagram-python.md is the analysts' table of it).  At run time the same
names are the only builtins (:mod:`engine.sandbox`), and :mod:`engine.budget`
bounds time and sizes; :mod:`engine.limits` refuses at deploy what is
unbounded on its face.
"""
from __future__ import annotations

import ast
import builtins
import string
from collections.abc import Iterable
from collections.abc import Set as AbstractSet

from .dates import HELPER_NAMES

SAFE_BUILTINS = {
    name: getattr(builtins, name)
    for name in (
        "len", "any", "all", "min", "max", "sum", "str", "int", "float", "bool",
        "sorted", "abs", "round", "list", "dict", "set", "tuple", "isinstance", "range",
        "enumerate", "zip", "reversed", "divmod",
    )
}
# Exceptions a script may catch or raise (``except ValueError:``); never BaseException.
SAFE_EXCEPTIONS = {
    name: getattr(builtins, name)
    for name in ("Exception", "ValueError", "TypeError", "KeyError", "IndexError", "LookupError",
                 "ZeroDivisionError", "ArithmeticError")
}
# Offered by the engine's environment besides SAFE_BUILTINS (engine.sandbox binds them).
# (engine.dates: end_of_natural_day, end_of_next_natural_day, start_of_natural_day, add_days, in the engine's zone).
ENVIRONMENT_NAMES = {"print", "datetime", "date", "time", "timedelta", "timezone", *SAFE_EXCEPTIONS, *HELPER_NAMES}
SAFE_CONSTANTS = {"True", "False", "None"}

# Methods of data values: strings, numbers, lists, dicts, sets, dates, times and durations.
SAFE_METHODS = {
    # dict
    "get", "keys", "values", "items", "pop", "setdefault", "update", "copy", "clear",
    # list, set
    "append", "extend", "insert", "remove", "sort", "reverse", "add", "discard",
    "union", "intersection", "difference", "symmetric_difference", "issubset", "issuperset", "isdisjoint",
    # str (and bytes)
    "startswith", "endswith", "strip", "lstrip", "rstrip", "lower", "upper", "title", "capitalize",
    "casefold", "swapcase", "split", "rsplit", "splitlines", "join", "replace", "find", "rfind",
    "index", "rindex", "count", "format", "zfill", "ljust", "rjust", "center", "partition",
    "rpartition", "removeprefix", "removesuffix", "encode", "decode", "isdigit", "isdecimal",
    "isnumeric", "isalpha", "isalnum", "isspace", "islower", "isupper", "istitle",
    # numbers
    "is_integer", "bit_length",
    # datetime, date, time, timedelta, timezone
    "now", "today", "utcnow", "fromisoformat", "isoformat", "strftime", "strptime", "astimezone",
    "date", "time", "timetz", "weekday", "isoweekday", "isocalendar", "timestamp", "fromtimestamp",
    "total_seconds", "combine", "utcoffset", "tzname", "toordinal", "fromordinal",
}

# Attributes that lead from a value to frames, code or globals, without an underscore.
FORBIDDEN_ATTRIBUTES = {
    "gi_frame", "gi_code", "gi_yieldfrom", "cr_frame", "cr_code", "cr_await", "ag_frame", "ag_code",
    "f_globals", "f_locals", "f_builtins", "f_back", "f_code", "tb_frame", "tb_next", "co_code",
    "func_globals", "func_code", "mro", "format_map",
}
FORBIDDEN_NODES = (ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal, ast.ClassDef,
                   ast.AsyncFunctionDef, ast.Await, ast.Yield, ast.YieldFrom, ast.AsyncFor,
                   ast.AsyncWith, ast.With)
NODE_NAMES = {"Import": "import", "ImportFrom": "from … import", "Global": "global",
              "Nonlocal": "nonlocal", "ClassDef": "class", "Yield": "yield", "YieldFrom": "yield from",
              "With": "with", "AsyncFunctionDef": "async def", "Await": "await", "AsyncFor": "async for",
              "AsyncWith": "async with"}
MAX_FUNCTION_STATEMENTS = 40


class ExpressionError(ValueError):
    pass


def allowed_names(extra_names: Iterable[str] = frozenset()) -> set[str]:
    return set(SAFE_BUILTINS) | ENVIRONMENT_NAMES | set(extra_names)


def parse(source: str, mode: str) -> ast.AST:
    try:
        return ast.parse(source.strip() if mode == "eval" else source, mode=mode)
    except SyntaxError as err:
        raise ExpressionError(f"语法错误: {err.msg}（第 {err.lineno} 行）") from err


def check_python(source: str, *, mode: str, extra_names: AbstractSet[str] = frozenset()) -> ast.AST:
    """Raise :class:`ExpressionError` when ``source`` steps outside the allowed subset; else its tree.

    ``mode`` is ``"eval"`` for expressions and ``"exec"`` for scripts.  Names that
    are not builtins are assumed to be task data (they are only read or written),
    except names that look private.
    """
    tree = parse(source, mode)
    allowed = allowed_names(extra_names)
    for node in ast.walk(tree):
        _check_node(node, allowed)
    _check_functions(tree, mode)
    # Calls are checked after names, so a dunder escape is reported as such.
    callable_names = allowed | _defined_functions(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            _check_call(node, callable_names)
    return tree


def _check_node(node: ast.AST, allowed: set[str]) -> None:
    if isinstance(node, FORBIDDEN_NODES):
        raise ExpressionError(f"不允许使用 {NODE_NAMES.get(type(node).__name__, type(node).__name__)}")
    if isinstance(node, ast.Attribute):
        if node.attr.startswith("_"):
            raise ExpressionError(f"不允许访问以下划线开头的属性 {node.attr!r}")
        if node.attr in FORBIDDEN_ATTRIBUTES:
            raise ExpressionError(f"不允许访问属性 {node.attr!r}（可通向解释器内部）")
    if isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise ExpressionError(f"不允许使用以下划线开头的名称 {node.id!r}")
        if isinstance(node.ctx, ast.Load) and hasattr(builtins, node.id) \
                and node.id not in allowed and node.id not in SAFE_CONSTANTS:
            raise ExpressionError(f"不允许使用内置名称 {node.id!r}")
    if isinstance(node, ast.arg) and node.arg.startswith("_"):
        raise ExpressionError(f"不允许使用以下划线开头的名称 {node.arg!r}")
    if isinstance(node, ast.FormattedValue) and isinstance(node.format_spec, ast.JoinedStr) \
            and any(isinstance(v, ast.FormattedValue) for v in node.format_spec.values):
        raise ExpressionError("f-字符串的格式说明里不允许再嵌套表达式")


def _check_functions(tree: ast.AST, mode: str) -> None:
    """``def`` only at the top of a script, small, undecorated, and not nested."""
    top_level = tree.body if isinstance(tree, ast.Module) else []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef):
            continue
        if mode != "exec" or node not in top_level:
            raise ExpressionError(f"函数 {node.name!r} 只能定义在脚本的最外层（不能嵌套在函数、循环或条件里）")
        if node.decorator_list:
            raise ExpressionError(f"函数 {node.name!r} 不允许使用装饰器")
        statements = sum(isinstance(n, ast.stmt) for n in ast.walk(node)) - 1
        if statements > MAX_FUNCTION_STATEMENTS:
            raise ExpressionError(f"函数 {node.name!r} 有 {statements} 条语句，超过上限 "
                                  f"{MAX_FUNCTION_STATEMENTS}；请拆分或改用服务任务")


def _defined_functions(tree: ast.AST) -> set[str]:
    """Names a script binds to its own functions or lambdas, which it may then call."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _check_format_string(text: str) -> None:
    # The run-time formatter refuses these too; a constant is refused at deploy already.
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(text) if f]
    except ValueError as err:
        raise ExpressionError(f"格式字符串 {text!r} 无效: {err}") from err
    for field_name in fields:
        if "." in field_name:
            raise ExpressionError(f"格式字符串的字段「{field_name}」不允许访问属性")


def _check_call(node: ast.Call, callable_names: set[str]) -> None:
    func = node.func
    if isinstance(func, ast.Name):
        if func.id not in callable_names:
            raise ExpressionError(f"不允许调用 {func.id!r}")
    elif isinstance(func, ast.Attribute):
        if func.attr not in SAFE_METHODS:
            raise ExpressionError(f"不允许调用方法 {func.attr!r}")
        if func.attr == "format" and isinstance(func.value, ast.Constant) and isinstance(func.value.value, str):
            _check_format_string(func.value.value)
    else:
        raise ExpressionError("不允许的调用形式")
