"""DMN cells checked at deploy the way SpiffWorkflow's DMN engine will evaluate them at run time.

Each input entry is turned into the very expression ``DMNEngine.evaluate`` builds
(``(input) == (cell)``, ``input + cell`` for ``>= 100``, or ``?`` replaced by the
input value), then checked by the deploy policy, compiled by the run-time
compiler and — when it reads no task data — evaluated by the run-time
environment under a budget.  What dmn-js writes by default works: ``true``,
``false`` and ``null`` are bound at run time, ``"x"`` is a Python string, ``-`` and
an empty cell match anything.  FEEL that Python would read differently
(``"a","b"``, ``not(...)``, ``[1..5]``, ``in (...)``) is refused with the cell named.
"""
from __future__ import annotations

import ast
import builtins
import re
from typing import Any

from . import budget
from .expressions import ExpressionError, allowed_names, check_python
from .limits import check_limits
from .sandbox import FEEL_LITERALS, BudgetedEnvironment, compile_guarded

# DMNEngine's own pattern: a "?" outside quotes stands for the input value.
_QUESTION = re.compile(r'(\?)(?=(?:[^\'"]|[\'"][^\'"]*[\'"])*$)')
DEPLOY_EVAL_SECONDS = 1.0


def _free_names(tree: ast.AST, known: set[str]) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
            and n.id not in known and not hasattr(builtins, n.id)}


def _is_python(text: str) -> bool:
    # DMNEngine.needs_eq asks the script engine's validate(), which parses in "exec" mode.
    try:
        ast.parse(text)
        return True
    except SyntaxError:
        return False


def input_entry_expressions(input_expression: str, cell: str) -> list[tuple[str, dict[str, Any]]]:
    """(expression, names bound besides task data) as ``DMNEngine.evaluate`` would evaluate them."""
    match = _QUESTION.sub("dmninputexpr", cell)
    if "dmninputexpr" in match:
        return [(input_expression, {}), (match, {"dmninputexpr": None})]
    if _is_python(match):
        return [(f"({input_expression}) == ({match})", {})]
    return [(input_expression + match, {})]


def _feel_hint(cell: str) -> str | None:
    stripped = cell.strip()
    if not stripped:
        return "只有空格的单元格会被当作空元组比较，永远不匹配；不限制请写 `-` 或留空"
    if re.match(r"^(not\s+)?in\b", stripped):
        return "多个取值请写成 `? in (\"a\", \"b\")`"
    if re.match(r"^not\s*\(", stripped):
        return "FEEL 的 not(...) 在这里会被当作 Python 的逻辑非；请写成 `? != \"a\"` 或 `? not in (\"a\", \"b\")`"
    if ".." in stripped and stripped[:1] in "[(]":
        return "FEEL 区间 [a..b] 不受支持；请写成 `a <= ? <= b`"
    try:
        tree = ast.parse(stripped, mode="eval")
    except SyntaxError:
        return None
    if isinstance(tree.body, ast.Tuple):
        return "逗号分隔的多个取值会被当作一个元组比较，永远不相等；请写成 `? in (\"a\", \"b\")`"
    return None


def check_expression(source: str, bound: dict[str, Any], extra_names: dict[str, Any]) -> None:
    """Policy, limits, the run-time compiler, and a run-time evaluation when no task data is read.

    ``extra_names`` are the registry's expression globals (name → value), as at run time.
    """
    tree = check_python(source, mode="eval", extra_names=set(extra_names) | set(bound))
    check_limits(tree, source)
    try:
        compile_guarded(source.strip(), "eval")
    except SyntaxError as err:
        raise ExpressionError(f"语法错误: {err.msg}") from err
    known = allowed_names(extra_names) | set(FEEL_LITERALS) | set(bound)
    if _free_names(tree, known) or bound:
        return
    environment = BudgetedEnvironment(dict(extra_names))
    try:
        with budget.step_budget(DEPLOY_EVAL_SECONDS):
            environment.evaluate(source, {}, dict(bound))
    except Exception as err:
        raise ExpressionError(f"按运行时的方式计算出错: {type(err).__name__}: {err}") from err


def check_cell(kind: str, cell: str, input_expression: str | None, extra_names: dict[str, Any]) -> None:
    """Raise :class:`ExpressionError` when a cell of ``kind`` would fail or mislead at run time."""
    if kind == "inputEntry":
        hint = _feel_hint(cell)
        if hint:
            raise ExpressionError(hint)
        if not input_expression:
            raise ExpressionError("该列没有输入表达式")
        for expression, bound in input_entry_expressions(input_expression, cell):
            check_expression(expression, bound, extra_names)
    else:
        check_expression(cell, {}, extra_names)
