"""Deploy-time checks and the run-time environment for Python in diagrams.

SpiffWorkflow evaluates conditions, timer values, service parameters and
scripts with ``eval``/``exec``; that is not a sandbox.  So every expression is
parsed with :mod:`ast` when a definition is deployed and refused when it
imports, reaches for dunder attributes, or calls anything outside a short list.
At run time the same short list is the only set of builtins available.
"""
from __future__ import annotations

import ast
import builtins

SAFE_BUILTINS = {
    name: getattr(builtins, name)
    for name in (
        "len", "any", "all", "min", "max", "sum", "str", "int", "float", "bool",
        "sorted", "abs", "round", "list", "dict", "set", "tuple", "isinstance", "range",
    )
}
SAFE_CONSTANTS = {"True", "False", "None"}
# Methods that data values (dicts, strings, lists) may have called on them.
SAFE_METHODS = {
    "get", "keys", "values", "items", "startswith", "endswith", "strip", "lower",
    "upper", "split", "join", "count", "index", "format", "append",
}


class ExpressionError(ValueError):
    pass


def check_python(source: str, *, mode: str, extra_names: set[str] = frozenset()) -> None:
    """Raise :class:`ExpressionError` when ``source`` steps outside the allowed subset.

    ``mode`` is ``"eval"`` for expressions and ``"exec"`` for scripts.  Names that
    are not builtins are assumed to be task data (they are only read or written),
    except names that look private.
    """
    try:
        tree = ast.parse(source.strip(), mode=mode)
    except SyntaxError as err:
        raise ExpressionError(f"语法错误: {err.msg}") from err
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            raise ExpressionError("不允许 import")
        if isinstance(node, (ast.Global, ast.Nonlocal, ast.ClassDef, ast.AsyncFunctionDef,
                             ast.FunctionDef, ast.Lambda, ast.Await, ast.Yield, ast.YieldFrom)):
            raise ExpressionError(f"不允许使用 {type(node).__name__}")
        if isinstance(node, ast.Attribute):
            if node.attr.startswith("_"):
                raise ExpressionError(f"不允许访问以下划线开头的属性 {node.attr!r}")
        if isinstance(node, ast.Name):
            if node.id.startswith("_"):
                raise ExpressionError(f"不允许使用以下划线开头的名称 {node.id!r}")
            if isinstance(node.ctx, ast.Load) and hasattr(builtins, node.id) \
                    and node.id not in SAFE_BUILTINS and node.id not in SAFE_CONSTANTS \
                    and node.id not in extra_names:
                raise ExpressionError(f"不允许使用内置名称 {node.id!r}")
    # Calls are checked after names, so a dunder escape is reported as such.
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                if func.id not in SAFE_BUILTINS and func.id not in extra_names:
                    raise ExpressionError(f"不允许调用 {func.id!r}")
            elif isinstance(func, ast.Attribute):
                if func.attr not in SAFE_METHODS:
                    raise ExpressionError(f"不允许调用方法 {func.attr!r}")
            else:
                raise ExpressionError("不允许的调用形式")
