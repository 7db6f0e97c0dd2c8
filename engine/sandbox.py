"""How diagram Python runs: compiled once per source text through our AST transformer, inside the step's budget.

Why our own transformer rather than RestrictedPython (which spiff-arena uses):
the *policy* (what may be written) is already decided at deploy by
:func:`engine.expressions.check_python` with messages in Chinese that name the
element, so at run time we only need to add budget checks and size guards —
about a dozen node rewrites.  RestrictedPython would bring a second, different
policy (its own guarded getattr/getitem/write hooks on every attribute and item
access) that would slow every condition and still not bound loops or sizes.

Rewrites: ``**``/``*``/``<<``/``+``/``%`` (also augmented) → guards; a budget
tick at the top of every ``for``/``while`` body, every comprehension element and
every function or lambda call; ``except`` blocks re-raise a budget error first;
methods whose result size depends on their arguments (``zfill``, ``join``,
``replace``, ``extend``, ``format``, ``strftime``, …) → a guarded call.
"""
from __future__ import annotations

import ast
import copy
import functools
import logging
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from types import CodeType
from typing import Any, TypeVar

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from . import budget
from .expressions import SAFE_BUILTINS, SAFE_EXCEPTIONS, ExpressionError
from .limits import TIMER_KINDS, check_cardinality_value, check_timer_value

log = logging.getLogger("engine.diagram")

_BINOP_GUARDS = {ast.Pow: "__g_pow", ast.Mult: "__g_mul", ast.LShift: "__g_lshift",
                 ast.Add: "__g_add", ast.Mod: "__g_mod"}
_AUGMENTED_GUARDS = {**_BINOP_GUARDS, ast.Add: "__g_iadd", ast.Mult: "__g_imul"}


def _call(name: str, *args: ast.expr, keywords: Iterable[ast.keyword] = ()) -> ast.Call:
    return ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=list(args), keywords=list(keywords))


def _tick_stmt() -> ast.stmt:
    return ast.Expr(value=_call("__g_tick"))


_Loop = TypeVar("_Loop", ast.For, ast.While, ast.FunctionDef)


class _Guard(ast.NodeTransformer):
    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        guard = _BINOP_GUARDS.get(type(node.op))
        return _call(guard, node.left, node.right) if guard else node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.stmt:
        self.generic_visit(node)
        guard = _AUGMENTED_GUARDS.get(type(node.op))
        if guard is None:
            return node
        # x op= y → x = guard(x, y); the target's subscript is evaluated twice, which diagram code never notices.
        load = copy.deepcopy(node.target)
        for part in ast.walk(load):
            if hasattr(part, "ctx"):
                part.ctx = ast.Load()
        return ast.Assign(targets=[node.target], value=_call(guard, load, node.value))

    def _loop(self, node: _Loop) -> _Loop:
        self.generic_visit(node)
        node.body.insert(0, _tick_stmt())
        return node

    visit_For = visit_While = _loop

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        return self._loop(node)

    def visit_Lambda(self, node: ast.Lambda) -> ast.Lambda:
        self.generic_visit(node)
        node.body = ast.BoolOp(op=ast.And(), values=[_call("__g_tick"), node.body])
        return node

    def visit_comprehension(self, node: ast.comprehension) -> ast.comprehension:
        self.generic_visit(node)
        node.ifs.insert(0, _call("__g_tick"))
        return node

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.ExceptHandler:
        self.generic_visit(node)
        node.body.insert(0, ast.Expr(value=_call("__g_reraise")))
        return node

    def visit_Call(self, node: ast.Call) -> ast.Call:
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in budget.GUARDED_METHODS:
            return _call("__g_method", func.value, ast.Constant(func.attr), *node.args, keywords=node.keywords)
        return node


@functools.lru_cache(maxsize=4096)
def compile_guarded(source: str, mode: str) -> CodeType:
    """The code object for ``source`` (``mode`` "eval" or "exec"), guarded; cached per source text."""
    tree = ast.parse(source, mode=mode)
    tree = ast.fix_missing_locations(_Guard().visit(tree))
    # "<string>" is the file name SpiffWorkflow looks for to report the failing line.
    return compile(tree, "<string>", mode)


def _print(*values: Any, sep: Any = " ", **_: Any) -> None:
    """``print`` in a diagram writes to the engine's log, never to the server's stdout."""
    log.info("%s", (sep if isinstance(sep, str) else " ").join(str(v) for v in values))


# FEEL literals as dmn-js writes them in decision tables; task data of the same name wins.
FEEL_LITERALS = {"true": True, "false": False, "null": None}

# Generic date and time types: nothing about any business, harmless, and needed to compute timers.
DATE_TIME_NAMES = {"datetime": datetime, "date": date, "time": time, "timedelta": timedelta,
                   "timezone": timezone}

ALLOWED_NAMES = {**SAFE_BUILTINS, **SAFE_EXCEPTIONS, "print": _print, **DATE_TIME_NAMES}

RUNTIME_BUILTINS = {
    **ALLOWED_NAMES, **FEEL_LITERALS,
    "range": budget.guard_range, "sum": budget.guard_sum,
    "__g_pow": budget.guard_pow, "__g_mul": budget.guard_mul, "__g_lshift": budget.guard_lshift,
    "__g_add": budget.guard_add, "__g_mod": budget.guard_mod, "__g_tick": budget.tick,
    "__g_iadd": budget.guard_iadd, "__g_imul": budget.guard_imul,
    "__g_reraise": budget.reraise_budget, "__g_method": budget.guard_method,
}


class BudgetedEnvironment(TaskDataEnvironment):  # type: ignore[misc]  # SpiffWorkflow is untyped
    """SpiffWorkflow's task-data environment, running guarded, cached code with our builtins.

    Everything Spiff evaluates goes through here: gateway conditions, scripts (and
    pre/post scripts), service parameters, timer expressions, DMN cells.  Builtins
    (ours, the FEEL literals, the date types) sit in ``__builtins__`` so task data of
    the same name simply shadows them instead of tripping Spiff's overwrite check.
    """

    def __init__(self, environment_globals: dict[str, Any] | None = None) -> None:
        env = dict(environment_globals or {})
        env["__builtins__"] = {**(env.get("__builtins__") or {}), **RUNTIME_BUILTINS}
        super().__init__(env)

    def evaluate(self, expression: Any, context: dict[str, Any],
                 external_context: dict[str, Any] | None = None) -> Any:
        if not isinstance(expression, str):
            return super().evaluate(expression, context, external_context)
        code = compile_guarded(expression.strip(), "eval")
        my_globals = dict(self.globals)
        my_globals.update(external_context or {})
        my_globals.update(context)
        clock = budget.enter()
        try:
            return eval(code, my_globals)
        finally:
            budget.leave(clock)

    def execute(self, script: Any, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        if not isinstance(script, str):
            return bool(super().execute(script, context, external_context))
        code = compile_guarded(script, "exec")
        self.check_for_overwrite(context, external_context or {})
        # The script runs on a copy: a script that fails leaves the task data as it found it
        # (no half-built variables stored with the incident, and a retry starts from the same data).
        scope = dict(context)
        scope.update(self.globals)
        scope.update(external_context or {})
        clock = budget.enter()
        try:
            exec(code, scope)
        finally:
            budget.leave(clock)
        self._remove_globals_and_functions_from_context(scope, external_context)
        context.clear()
        context.update(scope)
        return True


def _element(task: Any) -> str:
    spec = task.task_spec
    return f"「{spec.bpmn_name or spec.bpmn_id}」({spec.bpmn_id})"


class BudgetedScriptEngine(PythonScriptEngine):  # type: ignore[misc]  # SpiffWorkflow is untyped
    """A script engine over :class:`BudgetedEnvironment` whose budget and timer errors name the element.

    A timer value computed from task data is checked here with the deploy bounds,
    before SpiffWorkflow's parser (whose month arithmetic would hang on ``P99999999Y``).
    """

    def __init__(self, environment_globals: dict[str, Any] | None = None) -> None:
        super().__init__(environment=BudgetedEnvironment(environment_globals))

    def evaluate(self, task: Any, expression: Any, external_context: dict[str, Any] | None = None) -> Any:
        kind = self._timer_kind(task, expression)
        try:
            value = super().evaluate(task, expression, external_context)
            if kind is not None:
                self._check_timer(task, kind, value)
        except WorkflowTaskException as err:
            if kind is not None and task.state != TaskState.ERROR:
                # Spiff evaluates a timer while updating a waiting task, outside the code that
                # marks a failed task; without this the instance would wait for nothing, silently.
                task.error()
            # The base class wraps the error while handling it, so the budget error is its context.
            cause = err.__context__
            if isinstance(cause, budget.BudgetExceeded):
                raise WorkflowTaskException(f"{_element(task)}: {cause}", task=task, exception=cause) from cause
            raise
        return value

    @staticmethod
    def _check_timer(task: Any, kind: str, value: Any) -> None:
        try:
            if kind == "cardinality":
                check_cardinality_value(value)
            else:
                check_timer_value(kind, value)
        except ExpressionError as err:
            what = "多实例" if kind == "cardinality" else "定时器"
            raise WorkflowTaskException(f"{_element(task)} 的{what}: {err}", task=task, exception=err) from err

    @staticmethod
    def _timer_kind(task: Any, expression: Any) -> str | None:
        """The kind of value ``expression`` computes for ``task``, when it is a timer's or a cardinality."""
        if getattr(task.task_spec, "cardinality", None) == expression:
            return "cardinality"
        definition = getattr(task.task_spec, "event_definition", None)
        for candidate in getattr(definition, "event_definitions", None) or [definition]:
            if isinstance(candidate, TimerEventDefinition) and candidate.expression == expression:
                return TIMER_KINDS.get(type(candidate).__name__)
        return None

    def create_task_exec_exception(self, task: Any, script: str, err: Exception) -> Any:
        if isinstance(err, budget.BudgetExceeded):
            line_number, error_line = self.get_error_line_number_and_content(script, err)
            where = f" 的脚本第 {line_number} 行" if line_number else " 的脚本"
            return WorkflowTaskException(f"{_element(task)}{where}: {err}", task=task,
                                         exception=err, line_number=line_number, error_line=error_line)
        return super().create_task_exec_exception(task, script, err)
