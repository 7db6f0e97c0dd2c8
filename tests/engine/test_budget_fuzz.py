"""Fuzz of the deploy checks: whatever expression, script or timer value passes them runs within its budget."""
from __future__ import annotations

import signal
import time
from contextlib import contextmanager
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import budget
from engine.expressions import ExpressionError
from engine.limits import MAX_TIMER, check_timer_value
from engine.sandbox import BudgetedEnvironment
from engine.specs import check_source
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

SECONDS = 0.2
SLACK = 1.5  # two shared cores: the check is "bounded", not "fast"
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

numbers = st.one_of(st.integers(-20, 20), st.sampled_from([99, 10**3, 10**6, 10**9, 10**14, 2**64]))
leaves = st.one_of(numbers.map(str), st.sampled_from(["n", "m", "'a'", "'ab'", "[1, 2]", "(1,)", "''", "True"]))


def _extend(inner):
    binary = st.tuples(inner, st.sampled_from(["**", "*", "<<", "+", "-", "%", "//", "==", "<", "and", "or"]), inner)
    return st.one_of(
        binary.map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda x: f"range({x})"),
        inner.map(lambda x: f"sum(range({x}))"),
        inner.map(lambda x: f"str({x})"),
        inner.map(lambda x: f"len({x})"),
        inner.map(lambda x: f"[i for i in range({x})]"),
        inner.map(lambda x: f"sum(i * i for i in range({x}))"),
        inner.map(lambda x: f"str({x}).zfill({x})"),
        st.tuples(inner, inner).map(lambda t: f"','.join([str(i) for i in range({t[0]})] * {t[1]})"),
        st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
    )


expressions = st.recursive(leaves, _extend, max_leaves=8)
data = st.fixed_dictionaries({"n": numbers, "m": st.sampled_from(["x", "xyz" * 10, [0] * 5])})


@contextmanager
def hard_limit(seconds: float):
    """Fail the example instead of hanging the run if something slips through."""
    def stop(*_):
        raise TimeoutError(f"ran longer than {seconds} s")
    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_bounded(action) -> None:
    started = time.monotonic()
    with hard_limit(SECONDS + SLACK + 2), budget.step_budget(SECONDS):
        try:
            action()
        except TimeoutError:
            raise
        except Exception:
            pass  # refusing, or failing as Python would, is fine: the step becomes an incident
    assert time.monotonic() - started < SECONDS + SLACK


def deploys(source: str, mode: str) -> bool:
    try:
        check_source(source, mode, set())
        return True
    except ExpressionError:
        return False


@FUZZ
@given(expressions, data)
def test_expressions_that_deploy_run_within_the_budget(expression, values):
    if deploys(expression, "eval"):
        run_bounded(lambda: BudgetedEnvironment({}).evaluate(expression, dict(values)))


@FUZZ
@given(expressions, expressions, data)
def test_scripts_that_deploy_run_within_the_budget(condition, step, values):
    script = f"x = {step}\nwhile {condition}:\n    n = n + 1\n    x = {step}"
    if deploys(script, "exec"):
        run_bounded(lambda: BudgetedEnvironment({}).execute(script, dict(values)))


components = st.one_of(
    st.tuples(st.integers(0, 10**8), st.sampled_from("YMWD")).map(lambda t: f"{t[0]}{t[1]}"),
    st.tuples(st.integers(0, 10**9), st.sampled_from("HMS")).map(lambda t: f"T{t[0]}{t[1]}"),
    st.sampled_from(["", "T", "X", "-1D", "1.5D", "2026-01-01T00:00:00Z", "2026W011"]),
)
durations = st.lists(components, max_size=3).map(lambda parts: "P" + "".join(parts))
timer_values = st.one_of(
    durations.map(lambda d: ("duration", d)),
    st.tuples(st.sampled_from(["R", "R0", "R3", "R/", "R5/2026-01-01T00:00:00+08:00/"]), durations).map(
        lambda t: ("cycle", f"{t[0]}/{t[1]}" if not t[0].endswith("/") else t[0] + t[1])),
    st.sampled_from(["2026-12-31T17:00:00+08:00", "2026-02-30", "soon", "2026W017", ""]).map(lambda v: ("date", v)),
)


@FUZZ
@given(timer_values)
def test_timer_values_that_deploy_are_parsed_quickly_and_within_ten_years(kind_value):
    kind, value = kind_value
    try:
        check_timer_value(kind, value)
    except ExpressionError:
        return
    with hard_limit(2):
        if kind == "duration":
            parsed = TimerEventDefinition.parse_iso_duration(value)
            assert TimerEventDefinition.get_timedelta_from_start(parsed) <= MAX_TIMER + timedelta(days=2)
        elif kind == "cycle":
            _, _, interval = TimerEventDefinition.parse_iso_recurring_interval(value)
            assert timedelta(0) < interval <= MAX_TIMER + timedelta(days=2)
        else:
            TimerEventDefinition.get_datetime(value) if "W" not in value else TimerEventDefinition.parse_iso_week(value)
