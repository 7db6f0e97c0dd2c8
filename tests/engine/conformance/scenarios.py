"""The conformance diagrams, what each one exercises, and the actions a scenario takes on it.

A scenario is run twice (SpiffWorkflow alone in memory, and through the engine
with a restart after every step) and the two runs must agree; see
``test_conformance.py``.  A diagram the engine refuses at deploy names the
reason under ``refused``; the reasons are listed in ``REFUSAL_REASONS``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DIAGRAMS = Path(__file__).parent / "diagrams"
# Every run starts at this instant (UTC); ``Advance`` moves the clock from there.
BASE_TIME = "2026-02-01T00:00:00+00:00"

# Why the engine may refuse a diagram at deploy.  The README lists the same reasons for analysts.
REFUSAL_REASONS = {
    "message_goes_nowhere": "发送任务或抛出事件的消息没有任何流程接收",
    # Stored state is JSON: {1: "a"} would come back as {"1": "a"} after a reload.
    "integer_dict_keys": "字典使用了非字符串键",
    # SpiffWorkflow 3.2 ignores isInterrupting: the main flow would go on beside the event subprocess.
    "interrupting_event_subprocess": "是中断式的，但 SpiffWorkflow 3.2 不会中断主流程",
    # No instance data exists before a timer start event fires: its time must be a literal.
    "computed_timer_start": "的时间必须是字符串常量",
}


@dataclass(frozen=True)
class Complete:
    """Complete the open task called ``name``; ``where`` picks one multi-instance copy by its data."""
    name: str
    data: dict = field(default_factory=dict)
    where: dict | None = None


@dataclass(frozen=True)
class Send:
    """Deliver message ``name`` from outside (correlations computed from the payload unless given)."""
    name: str
    payload: dict = field(default_factory=dict)
    correlations: dict | None = None


@dataclass(frozen=True)
class Advance:
    """Move the clock forward and fire whatever timers are then due."""
    seconds: int


@dataclass(frozen=True)
class Scenario:
    diagram: str  # file stem under diagrams/ (and the process id)
    constructs: tuple[str, ...]
    actions: tuple = ()
    start_data: dict = field(default_factory=dict)
    extra_files: tuple[str, ...] = ()
    refused: str | None = None  # a key of REFUSAL_REASONS
    name: str = ""  # tells apart several scenarios of one diagram
    # Started by its timer start event (deployed at BASE_TIME; the worker starts the instance when due),
    # not by the runner.
    timer_start: bool = False

    @property
    def id(self) -> str:
        return f"{self.constructs[0]}:{self.diagram}" + (f":{self.name}" if self.name else "")


HOUR = 3600
DAY = 24 * HOUR

SCENARIOS = [
    Scenario("c_task_none", ("bpmn:task",), (Complete("核对材料"),)),
    Scenario("c_manual_task", ("manualTask",), (Complete("盖章"), Complete("归档"))),
    Scenario("c_tasks_inside", ("bpmn:task", "manualTask", "multiInstance-sequential-cardinality"),
             (Complete("查看副本"), Complete("查看副本"), Advance(DAY + 5), Complete("上报科长")),
             start_data={"copies": 2}),
    Scenario("c_user_script", ("userTask", "scriptTask"), (Complete("填写数量", {"qty": 3, "price": 7}),)),
    Scenario("c_script_chain", ("scriptTask",)),
    Scenario("c_service_task", ("serviceTask",), start_data={"a": 2, "b": 5}),
    Scenario("c_business_rule", ("businessRuleTask",), start_data={"score": 93},
             extra_files=("c_grade.dmn",)),
    Scenario("c_exclusive", ("exclusiveGateway",), (Complete("填写金额", {"amount": 150}),), name="big"),
    Scenario("c_exclusive", ("exclusiveGateway",), (Complete("填写金额", {"amount": 20}),), name="default"),
    Scenario("c_no_true_condition", ("gateway-no-true-condition",), (Complete("填写金额", {"amount": 50}),)),
    Scenario("c_inclusive", ("inclusiveGateway",),
             (Complete("选择服务", {"clean": True, "move": False, "paint": True}), Complete("粉刷"))),
    Scenario("c_parallel", ("parallelGateway",),
             (Complete("买方确认", {"buyer_ok": True}), Complete("卖方确认", {"seller_ok": True}))),
    Scenario("c_event_gateway", ("eventBasedGateway", "message"),
             (Send("c_paid", {"amount": 12}),), name="message"),
    Scenario("c_event_gateway", ("eventBasedGateway", "timer-duration"),
             (Advance(HOUR), Advance(HOUR + 5)), name="timer"),
    Scenario("c_embedded_subprocess", ("subProcess",), (Complete("子流程内填写", {"extra": 5}),)),
    Scenario("c_call_activity", ("callActivity",), (Complete("复核", {"approved": True}),)),
    # Loops back: the engine prunes the finished earlier rounds (engine/history.py); what the instance
    # does must not change.  (SpiffWorkflow 3.2 alone fails on a boundary event inside a loop that also
    # holds a parallel join: a dropped task stays registered for the event; so two diagrams.)
    Scenario("c_loop_back", ("loop-back", "callActivity", "boundaryMessage-interrupting"),
             tuple(action for again in (True, True, True, False) for action in (
                 Complete("复核", {"approved": again}), Complete("登记", {"note": f"第{again}轮"}),
                 Complete("决定", {"again": again}))), name="rounds"),
    Scenario("c_loop_back", ("loop-back", "boundaryMessage-interrupting"),
             (Complete("复核"), Complete("登记"), Complete("决定", {"again": True}), Complete("复核"),
              Complete("登记"), Complete("决定", {"again": True}), Complete("复核"), Complete("登记"),
              Send("c_loop_withdraw")), name="withdrawn"),
    Scenario("c_loop_back_parallel", ("loop-back", "callActivity", "parallelGateway"),
             tuple(action for again in (True, True, True, False) for action in (
                 Complete("登记", {"note": f"第{again}轮"}), Complete("复核", {"approved": again}),
                 Complete("决定", {"again": again}))), name="rounds"),
    Scenario("c_mi_parallel_collection", ("multiInstance-parallel-collection",),
             (Complete("各方签字", {"signature": "乙签"}, where={"party": "乙"}),
              Complete("各方签字", {"signature": "甲签"}, where={"party": "甲"}),
              Complete("各方签字", {"signature": "丙签"}, where={"party": "丙"})),
             start_data={"parties": ["甲", "乙", "丙"]}),
    Scenario("c_mi_parallel_cardinality", ("multiInstance-parallel-cardinality",),
             (Complete("抽查", {"result": "合格"}), Complete("抽查", {"result": "不合格"})),
             start_data={"copies": 2}),
    Scenario("c_mi_sequential_cardinality", ("multiInstance-sequential-cardinality",),
             (Complete("确认结果"),)),
    Scenario("c_mi_sequential_user", ("multiInstance-sequential-collection",),
             (Complete("逐级审批", {"opinion": "同意"}), Complete("逐级审批", {"opinion": "附条件同意"})),
             start_data={"approvers": {"科长": "张", "处长": "李"}}),
    Scenario("c_mi_scripts", ("multiInstance-pre-post-scripts",),
             (Complete("打分", {"score": 4}, where={"item": "b"}), Complete("打分", {"score": 5}, where={"item": "a"})),
             start_data={"items": ["a", "b"]}),
    Scenario("c_standard_loop", ("standardLoop",),
             (Complete("尝试", {"ok": False}), Complete("尝试", {"ok": False}), Complete("尝试", {"ok": True}))),
    Scenario("c_event_subprocess_interrupting", ("eventSubProcess-interrupting",),
             refused="interrupting_event_subprocess"),
    Scenario("c_event_subprocess_non_interrupting", ("eventSubProcess-non-interrupting",),
             (Send("c_note", {"text": "请加急"}), Complete("阅读备注"), Complete("办理", {"done": True}))),
    Scenario("c_event_subprocess_timer", ("eventSubProcess-timer",),
             (Advance(HOUR + 5), Complete("办理", {"done": True}))),
    Scenario("c_boundary_timer_interrupting", ("boundaryTimer-interrupting",), (Advance(DAY + 5),), name="late"),
    Scenario("c_boundary_timer_interrupting", ("boundaryTimer-interrupting",),
             (Complete("办理", {"done": True}), Advance(DAY + 5)), name="on-time"),
    Scenario("c_boundary_timer_non_interrupting", ("boundaryTimer-non-interrupting",),
             (Advance(2 * HOUR + 5), Complete("催办处理"), Complete("办理"))),
    Scenario("c_timer_cycle", ("timer-cycle",),
             (Advance(HOUR + 5), Advance(HOUR), Complete("办理"), Advance(HOUR))),
    Scenario("c_timer_cycle", ("timer-cycle",),
             (Advance(HOUR + 5), Advance(HOUR), Advance(HOUR), Advance(HOUR), Complete("办理")), name="all"),
    Scenario("c_timer_date", ("timer-date", "intermediateCatchEvent"), (Advance(10 * DAY), Advance(19 * DAY))),
    Scenario("c_timer_duration", ("timer-duration", "intermediateCatchEvent"),
             (Complete("申请"), Advance(2 * DAY), Advance(DAY + 5), Complete("确认"))),
    Scenario("c_timer_start_duration", ("timerStartEvent-duration", "userTask"),
             (Advance(HOUR), Advance(HOUR + 5), Complete("核对清单", {"ok": True})), timer_start=True),
    Scenario("c_timer_start_date", ("timerStartEvent-date",), (Advance(DAY), Advance(DAY + 5)), timer_start=True),
    Scenario("c_timer_start_computed", ("timerStartEvent-computed",), refused="computed_timer_start"),
    Scenario("c_message_correlation", ("message-correlation", "receiveTask"),
             (Send("c_deposit", {"ref": "A", "amount": 100}), Send("c_balance", {"ref": "B", "amount": 1}),
              Send("c_balance", {"ref": "A", "amount": 900}))),
    Scenario("c_message_correlation", ("message-correlation",),
             (Send("c_deposit", {"ref": "A", "amount": 100}, correlations={"order_ref": "A"}),
              Send("c_balance", {"ref": "A", "amount": 5}, correlations={"order_ref": "Z"}),
              Send("c_balance", {"ref": "A", "amount": 900}, correlations={"order_ref": "A"})),
             name="explicit"),
    Scenario("c_plain_message", ("message-plain-bpmn", "bpmn:task"),
             (Send("c_arrived", {"boxes": 3}), Complete("拆箱"))),
    Scenario("c_throw_catch", ("throwEvent",), (Complete("准备材料", {"pages": 12}),)),
    Scenario("c_send_receive", ("sendTask", "receiveTask"), (Complete("填写", {"text": "你好"}),)),
    Scenario("c_send_nowhere", ("sendTask",), refused="message_goes_nowhere"),
    # The pair: the sender's message goes to a receiver in another instance (test_cross_instance.py); alone,
    # each behaves as in SpiffWorkflow (the sender's message is kept: no receiver instance runs yet).
    Scenario("c_handover_sender", ("sendTask-other-instance", "userTask"),
             (Complete("填写交接单", {"boxes": 3, "note": "急件"}),), extra_files=("c_handover_receiver.bpmn",)),
    Scenario("c_handover_throw", ("throwEvent-other-instance",),
             (Complete("填写交接单", {"boxes": 1, "note": "补交"}),), extra_files=("c_handover_receiver.bpmn",)),
    Scenario("c_handover_receiver", ("receiveTask-from-other-instance", "receiveTask"),
             (Send("c_handover", {"boxes": 2, "note": "外部送达"}),)),
    Scenario("c_variable_name", ("userTask-variableName",), (Complete("填写联系人", {"name": "王五"}),)),
    Scenario("c_data_objects", ("dataObject",), (Complete("审核"),)),
    Scenario("c_lanes", ("lanes", "manualTask"), (Complete("提交申请", {"why": "x"}), Complete("审核申请"),
                                                  Complete("纸质归档"))),
    Scenario("c_integer_keys", ("integer-dict-keys",), refused="integer_dict_keys"),
    Scenario("c_each_buyer_signs", ("multiInstance-subProcess-each-buyer-signs",),
             (Complete("生成电子合同订单", {"confirm": True}),
              Complete("买方确认签署", {"agreed": True}, where={"buyer": "孙磊"}),
              Complete("买方确认签署", {"agreed": True}, where={"buyer": "赵敏"})),
             start_data={"buyers": ["赵敏", "孙磊"]}),
]


def diagram_count() -> int:
    return len({s.diagram for s in SCENARIOS})


def constructs_summary() -> dict[str, int]:
    """Construct → number of diagrams exercising it."""
    seen: dict[str, set[str]] = {}
    for scenario in SCENARIOS:
        for construct in scenario.constructs:
            seen.setdefault(construct, set()).add(scenario.diagram)
    return {construct: len(diagrams) for construct, diagrams in sorted(seen.items())}
