"""The per-step budget of diagram Python: a wall-clock deadline and size guards for costly operators.

The runtime enters :func:`step_budget` around a step; code compiled by
:mod:`engine.sandbox` calls :func:`tick` at every loop iteration, comprehension
element and function call, and routes ``**``, ``*``, ``<<``, ``+``, ``%`` and a few
string/list methods through the guards below, which refuse a result beyond the
bounds *before* computing it.  Deploy-time constant folding uses the same guards,
so what deploy refuses and what a step refuses never disagree.  The bounds are
documented for analysts in docs/diagram-python.md.
"""
from __future__ import annotations

import contextvars
import math
import re
import string
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

MAX_INT_DIGITS = 100_000          # an integer result may have at most this many decimal digits
MAX_INT_BITS = int(MAX_INT_DIGITS * math.log2(10)) + 1
MAX_LENGTH = 1_000_000            # characters of a string, elements of a list/tuple, length of a range
MAX_ALLOCATED = 20_000_000        # elements/characters made by guarded operations in one step
DEFAULT_STEP_SECONDS = 3.0        # wall-clock time of one step's diagram Python
MAX_FORMAT_WIDTH = 1_000          # width/precision in a format spec or strftime directive
# Evaluations in one step: SpiffWorkflow's own loops (standard loops, multi-instance) run between
# our evaluations, where the clock is stopped; this bounds them.
MAX_EVALUATIONS = 100_000

SEQUENCES = (str, bytes, list, tuple)


class BudgetExceeded(Exception):
    """Diagram Python went over its step's time or size budget (the message is for people)."""


class _Budget:
    """What is left of a step's budget; the clock runs only while diagram Python runs.

    Service handlers, database work and SpiffWorkflow's own bookkeeping in the same
    step do not count: a slow handler must not make the next condition fail.
    """
    __slots__ = ("seconds", "remaining", "deadline", "depth", "allocated", "evaluations")

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.remaining = seconds
        self.deadline: float | None = None
        self.depth = 0
        self.allocated = 0
        self.evaluations = 0


_current: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("diagram_budget", default=None)


@contextmanager
def step_budget(seconds: float | None = DEFAULT_STEP_SECONDS) -> Iterator[None]:
    """Give the diagram Python run inside this block ``seconds`` of wall-clock time in total."""
    token = _current.set(_Budget(seconds) if seconds else None)
    try:
        yield
    finally:
        _current.reset(token)


def restart() -> None:
    """A new step inside the same ``step_budget`` block gets the whole budget again."""
    budget = _current.get()
    if budget is not None:
        _current.set(_Budget(budget.seconds))


def enter() -> _Budget | None:
    """Start the clock (diagram Python begins); pair with :func:`leave`."""
    budget = _current.get()
    if budget is not None:
        if budget.depth == 0:
            budget.evaluations += 1
            if budget.evaluations > MAX_EVALUATIONS:
                raise BudgetExceeded(f"本步骤计算表达式和脚本超过 {MAX_EVALUATIONS:,} 次，可能是没有结束条件的循环，已中止")
            budget.deadline = time.monotonic() + budget.remaining
        budget.depth += 1
    return budget


def leave(budget: _Budget | None) -> None:
    if budget is not None:
        budget.depth -= 1
        if budget.depth == 0:
            assert budget.deadline is not None  # set by enter() at depth 0
            budget.remaining = budget.deadline - time.monotonic()
            budget.deadline = None


def tick() -> bool:
    """Called by compiled diagram Python before every iteration; True so it can sit in a condition."""
    budget = _current.get()
    if budget is not None and budget.deadline is not None and time.monotonic() > budget.deadline:
        raise BudgetExceeded(f"脚本或表达式运行超过本步骤的时间预算（{budget.seconds:g} 秒），已中止；"
                             "请检查循环的结束条件")
    return True


def reraise_budget() -> None:
    """First statement of every ``except`` block: a budget error must not be swallowed by the script."""
    import sys
    error = sys.exc_info()[1]
    if isinstance(error, BudgetExceeded):
        raise error


def _too_big(what: str, bound: str) -> BudgetExceeded:
    return BudgetExceeded(f"{what} 的结果过大（上限 {bound}），已拒绝计算")


def _allocate(size: int) -> None:
    budget = _current.get()
    if budget is not None:
        budget.allocated += size
        if budget.allocated > MAX_ALLOCATED:
            raise BudgetExceeded(f"本步骤的脚本生成的数据超过内存预算（{MAX_ALLOCATED:,} 个元素或字符），已中止")


def _bits(value: int) -> int:
    return abs(value).bit_length()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def guard_pow(base: Any, exponent: Any) -> Any:
    if _is_int(base) and _is_int(exponent) and exponent > 0 and abs(base) > 1:
        if exponent * math.log2(abs(base)) > MAX_INT_BITS:
            raise _too_big("乘方 **", f"{MAX_INT_DIGITS:,} 位数字")
    return base ** exponent


def guard_mul(left: Any, right: Any) -> Any:
    if isinstance(left, SEQUENCES) and _is_int(right) or isinstance(right, SEQUENCES) and _is_int(left):
        sequence, times = (left, right) if isinstance(left, SEQUENCES) else (right, left)
        size = len(sequence) * max(times, 0)
        if size > MAX_LENGTH:
            raise _too_big("重复 *", f"{MAX_LENGTH:,} 个元素或字符")
        _allocate(size)
    elif _is_int(left) and _is_int(right) and _bits(left) + _bits(right) > MAX_INT_BITS:
        raise _too_big("乘法 *", f"{MAX_INT_DIGITS:,} 位数字")
    return left * right


def guard_iadd(left: Any, right: Any) -> Any:
    """``left += right``: in place for lists, as Python does, so other references see the change."""
    if isinstance(left, SEQUENCES) and isinstance(right, SEQUENCES):
        if len(left) + len(right) > MAX_LENGTH:
            raise _too_big("拼接 +=", f"{MAX_LENGTH:,} 个元素或字符")
        _allocate(len(right))
    left += right
    return left


def guard_imul(left: Any, right: Any) -> Any:
    """``left *= right``: in place for lists, as Python does."""
    if isinstance(left, list):
        guard_mul(left, right)
        left *= right
        return left
    return guard_mul(left, right)


def guard_lshift(value: Any, shift: Any) -> Any:
    if _is_int(value) and _is_int(shift) and value and _bits(value) + shift > MAX_INT_BITS:
        raise _too_big("左移 <<", f"{MAX_INT_DIGITS:,} 位数字")
    return value << shift


def guard_add(left: Any, right: Any) -> Any:
    if isinstance(left, SEQUENCES) and isinstance(right, SEQUENCES):
        size = len(left) + len(right)
        if size > MAX_LENGTH:
            raise _too_big("拼接 +", f"{MAX_LENGTH:,} 个元素或字符")
        _allocate(size)
    return left + right


_PRINTF_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def guard_mod(left: Any, right: Any) -> Any:
    if isinstance(left, (str, bytes)):
        text = left if isinstance(left, str) else left.decode("latin-1")
        for width, precision in _PRINTF_FIELD.findall(text):
            _check_width(width, precision)
    return left % right


def _check_width(*numbers: str) -> None:
    for number in numbers:
        if number == "*" or (number and int(number) > MAX_FORMAT_WIDTH):
            raise _too_big("格式化的宽度或精度", f"{MAX_FORMAT_WIDTH}")


def guard_range(*args: Any) -> range:
    result = range(*args)
    if len(result) > MAX_LENGTH:
        raise _too_big("range", f"{MAX_LENGTH:,} 个数")
    return result


def guard_sum(iterable: Iterable[Any], start: Any = 0) -> Any:
    if not isinstance(start, (int, float)):
        # sum() of lists or strings is quadratic in C, where no budget check can interrupt it.
        raise BudgetExceeded("sum() 只能对数字求和；拼接列表请用推导式或 extend")
    return sum(iterable, start)


class _SafeFormatter(string.Formatter):
    """``str.format`` without attribute access in fields (the classic ``{0.__class__}`` escape)."""

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if "." in field_name:
            raise BudgetExceeded(f"格式字符串的字段「{field_name}」不允许访问属性")
        return super().get_field(field_name, args, kwargs)

    def format_field(self, value: Any, format_spec: str) -> Any:
        _check_width(*re.findall(r"(\d+)", format_spec))
        return super().format_field(value, format_spec)


_FORMATTER = _SafeFormatter()


def _pad(obj: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    width: Any = args[0] if args else kwargs.get("width")
    if _is_int(width) and width > MAX_LENGTH:
        raise _too_big(f"{name}()", f"{MAX_LENGTH:,} 个字符")
    return getattr(obj, name)(*args, **kwargs)


def _join(obj: Any, iterable: Iterable[Any]) -> Any:
    if not isinstance(obj, (str, bytes)):
        return obj.join(iterable)
    items = list(iterable)
    size = len(obj) * max(len(items) - 1, 0) + sum(len(i) for i in items if isinstance(i, (str, bytes)))
    if size > MAX_LENGTH:
        raise _too_big("join()", f"{MAX_LENGTH:,} 个字符")
    _allocate(size)
    return obj.join(items)


def _replace(obj: Any, *args: Any, **kwargs: Any) -> Any:
    # datetime.replace(...) shares the name; only text can grow.
    if isinstance(obj, (str, bytes)) and len(args) >= 2:
        old, new = args[0], args[1]
        text: Any = obj  # str or bytes, with old and new of the same type
        if isinstance(new, type(obj)) and isinstance(old, type(obj)) and len(new) > len(old):
            hits = text.count(old) if old else len(obj) + 1
            size = len(obj) + hits * (len(new) - len(old))
            if size > MAX_LENGTH:
                raise _too_big("replace()", f"{MAX_LENGTH:,} 个字符")
            _allocate(size)
    return obj.replace(*args, **kwargs)


def _extend(obj: Any, iterable: Iterable[Any]) -> Any:
    if not isinstance(obj, list):
        return obj.extend(iterable)
    items = list(iterable)
    if len(obj) + len(items) > MAX_LENGTH:
        raise _too_big("extend()", f"{MAX_LENGTH:,} 个元素")
    _allocate(len(items))
    return obj.extend(items)


def _format(obj: Any, *args: Any, **kwargs: Any) -> Any:
    if isinstance(obj, str):
        return _FORMATTER.vformat(obj, args, kwargs)
    return obj.format(*args, **kwargs)


def _strftime(obj: Any, *args: Any, **kwargs: Any) -> Any:
    fmt = args[0] if args else kwargs.get("format")
    if isinstance(fmt, str):
        _check_width(*re.findall(r"%[-_0^#]*(\d+)", fmt))
    return obj.strftime(*args, **kwargs)


GUARDED_METHODS: dict[str, Callable[..., Any]] = {
    "zfill": _pad, "ljust": _pad, "rjust": _pad, "center": _pad,
    "join": _join, "replace": _replace, "extend": _extend, "format": _format, "strftime": _strftime,
}


def guard_method(obj: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    """``obj.name(*args)`` for the methods whose result size depends on their arguments."""
    guard = GUARDED_METHODS[name]
    if guard is _pad:
        return _pad(obj, name, *args, **kwargs)
    return guard(obj, *args, **kwargs)
