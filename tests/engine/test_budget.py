"""The run-time budget: data-driven endless or oversized work ends as an incident within the step's budget."""
from __future__ import annotations

import threading
import time

import pytest

from engine import ProcessEngine, budget
from engine.sandbox import BudgetedEnvironment, compile_guarded
from engine.testing import ProcessHarness

from .probe_diagram import PROCESS_ID, multi_instance, probe

BUDGET = 1.0
ENDLESS = "while n > 0:\n    n = n + 1"


@pytest.fixture
def budget_harness(session_factory, registry):
    harness = ProcessHarness(lambda: ProcessEngine(session_factory, registry, backoff=(10, 60),
                                                   step_seconds=BUDGET))
    return harness


def deploy(harness, **parts):
    harness.engine.deploy(probe(**parts))


def timed_start(harness, data):
    started = time.monotonic()
    case = harness.start(PROCESS_ID, data=data)
    return case, time.monotonic() - started


def assert_incident(case, element: str, *reasons: str, status: str = "error") -> None:
    assert case.status == status
    [incident] = case.incidents()
    assert incident.task_name == element and incident.status == "open"
    assert all(r in incident.error for r in reasons), incident.error


def test_data_driven_endless_script_becomes_an_incident_within_the_budget(budget_harness):
    deploy(budget_harness, script=ENDLESS)
    case, elapsed = timed_start(budget_harness, {"n": 1})
    assert elapsed < BUDGET + 1.0
    assert_incident(case, "计算", "「计算」", "时间预算", "1 秒")
    done, _ = timed_start(budget_harness, {"n": 0})
    assert (done.status, done.end_event) == ("completed", "通过")


def test_a_hung_step_does_not_hold_up_another_instance(budget_harness, session_factory, registry):
    """The must-show of issue #10: the other step completes within the budget + 1 s (SQLite write lock)."""
    deploy(budget_harness, script=ENDLESS)
    other = ProcessHarness(lambda: ProcessEngine(session_factory, registry, step_seconds=BUDGET))
    results = {}

    def run(name, harness, n):
        case, elapsed = timed_start(harness, {"n": n})
        results[name] = (case, elapsed)

    hung = threading.Thread(target=run, args=("hung", budget_harness, 1))
    hung.start()
    time.sleep(0.2)  # the endless script is running (and, on SQLite, holds the write lock)
    healthy = threading.Thread(target=run, args=("healthy", other, 0))
    healthy.start()
    hung.join(10)
    healthy.join(10)
    case, elapsed = results["healthy"]
    assert (case.status, case.end_event) == ("completed", "通过")
    assert elapsed < BUDGET + 1.0
    assert_incident(results["hung"][0], "计算", "时间预算")


@pytest.mark.parametrize("script, reasons", [
    ("s = 'a' * n", ("重复", "1,000,000")),
    ("x = 7 ** n", ("乘方",)),
    ("x = 1 << n", ("左移",)),
    ("r = list(range(n))", ("range",)),
    ("s = 'ab'\nwhile len(s) < n:\n    s = s + s", ("拼接",)),
    ("s = 'ab'\nfor i in range(60):\n    s += s", ("拼接",)),
    ("s = str(n).zfill(n)", ("zfill",)),
    ("s = ','.join(['x' * 1000] * 2000)", ("join",)),
    ("rows = [[1]] * 3\ntotal = sum(rows, rows[0])", ("sum() 只能对数字求和",)),
    ("s = ('%' + str(n) + 'd') % 1", ("格式化",)),
    ("s = ('{:' + str(n) + '}').format(1)", ("格式化",)),
    ("parts = []\nfor i in range(1000):\n    parts.append('x' * 900000)", ("内存预算",)),
])
def test_data_driven_oversized_results_are_refused_before_they_are_computed(budget_harness, script, reasons):
    deploy(budget_harness, script=script)
    case, elapsed = timed_start(budget_harness, {"n": 10 ** 10})
    assert elapsed < BUDGET + 1.0
    assert_incident(case, "计算", *reasons)


def test_a_script_cannot_swallow_its_budget_error(budget_harness):
    script = "while n > 0:\n    try:\n        n = n + 1\n    except:\n        n = 1"
    deploy(budget_harness, script=script)
    case, elapsed = timed_start(budget_harness, {"n": 1})
    assert elapsed < BUDGET + 1.0
    assert_incident(case, "计算", "时间预算")


def test_an_endless_condition_fails_its_gateway(budget_harness):
    condition = "len([i for i in range(n) for j in range(n) for k in range(n)]) > 0"
    deploy(budget_harness, condition=condition)
    case, elapsed = timed_start(budget_harness, {"n": 1000})
    assert elapsed < BUDGET + 1.0
    assert_incident(case, "判断", "时间预算")


def test_recursion_through_a_function_is_bounded(budget_harness):
    script = "def grow(k):\n    if k == 0:\n        return 1\n    return grow(k - 1) + grow(k - 1)\nx = grow(n)"
    deploy(budget_harness, script=script)
    case, elapsed = timed_start(budget_harness, {"n": 60})
    assert elapsed < BUDGET + 1.0
    assert_incident(case, "计算", "时间预算")


@pytest.mark.parametrize("value, kind, reason", [
    ("P99999999Y", "timeDuration", "超过十年"),
    ("R/PT0S", "timeCycle", "间隔为零"),
    ("soon", "timeDate", "无法解析"),
])
def test_data_driven_timer_values_are_checked_before_spiff_parses_them(budget_harness, value, kind, reason):
    deploy(budget_harness, timer="wait_for", timer_kind=kind)
    case, elapsed = timed_start(budget_harness, {"wait_for": value})
    assert elapsed < BUDGET + 1.0
    # A cycle adds its successors only when it fires: nothing follows the failed cycle, yet the
    # instance has not ended; it waits for its incident like any other.
    assert_incident(case, "等待", "「等待」", reason, status="error")


def test_a_sane_data_driven_timer_waits(budget_harness):
    deploy(budget_harness, timer="wait_for")
    case = budget_harness.start(PROCESS_ID, data={"wait_for": "PT1H"})
    assert case.status == "running" and [t.name for t in case.timers()] == ["等待"]


def test_time_outside_diagram_python_does_not_count():
    """Service handlers and database work share the step but not the budget."""
    environment = BudgetedEnvironment({})
    with budget.step_budget(0.2):
        time.sleep(0.3)
        assert environment.evaluate("sum(i for i in range(1000))", {}) == 499500
        with pytest.raises(budget.BudgetExceeded):
            environment.execute("while True:\n    x = 1", {})
        with pytest.raises(budget.BudgetExceeded):
            environment.evaluate("1 + 1 if all(True for i in range(10)) else 0", {})
        budget.restart()  # the next step in the same transaction starts afresh
        assert environment.evaluate("1 + 1", {}) == 2


def test_compiled_code_is_cached_per_source_text():
    environment = BudgetedEnvironment({})
    source = "amount * 2 + 1  # cached"
    before = compile_guarded.cache_info()
    for amount in range(5):
        assert environment.evaluate(source, {"amount": amount}) == amount * 2 + 1
    after = compile_guarded.cache_info()
    assert after.misses - before.misses == 1 and after.hits - before.hits == 4


def test_multi_instance_cardinality_is_bounded(budget_harness, registry):
    from engine import validate_sources
    found = validate_sources(multi_instance("5000"), registry).problems
    # Spiff gives the multi-instance wrapper no name of its own; the element is named by its id.
    assert any("(Each)" in p and "多实例的数量" in p for p in found), found
    budget_harness.engine.deploy(multi_instance("count"))
    fine = budget_harness.start("budget_many", data={"count": 3})
    assert fine.status == "completed"
    case, elapsed = timed_start_process(budget_harness, "budget_many", {"count": 10 ** 7})
    assert elapsed < BUDGET + 1.0
    assert_incident(case, "Each", "(Each)", "多实例的数量")


def timed_start_process(harness, process_id, data):
    started = time.monotonic()
    case = harness.start(process_id, data=data)
    return case, time.monotonic() - started


def test_a_failing_script_leaves_task_data_as_it_found_it():
    data = {"n": 1}
    with budget.step_budget(0.2), pytest.raises(budget.BudgetExceeded):
        BudgetedEnvironment({}).execute("parts = []\nwhile n > 0:\n    parts.append('x' * 1000)", data)
    assert data == {"n": 1}


def test_augmented_assignment_keeps_python_semantics():
    data = {"order": {"items": [1]}}
    BudgetedEnvironment({}).execute(
        "items = order['items']\nitems += [2]\nitems *= 2\nlabel = 'a'\nlabel += 'b'\ncount = 1\ncount += 2", data)
    assert data["order"]["items"] == [1, 2, 1, 2]  # lists change in place, as in plain Python
    assert (data["label"], data["count"]) == ("ab", 3)


def test_evaluations_per_step_are_bounded():
    """Spiff's own loops run between evaluations, where the clock stops; their number is bounded."""
    environment = BudgetedEnvironment({})
    with budget.step_budget(BUDGET), pytest.raises(budget.BudgetExceeded, match="100,000"):
        for _ in range(budget.MAX_EVALUATIONS + 1):
            environment.evaluate("True", {})


def test_service_parameters_go_through_the_budget(budget_harness, switches):
    from .test_definitions import order_xml
    budget_harness.engine.deploy({"order.bpmn": order_xml().replace('value="amount"', 'value="amount * 7 ** amount"')})
    case = budget_harness.start("order")
    case.complete("填写订单", {"amount": 10 ** 6})
    assert switches.calls == 0  # refused before the handler was called
    [incident] = case.incidents()
    assert incident.task_name == "处理订单" and "乘方" in incident.error
