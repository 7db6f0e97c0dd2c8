"""Engine throughput: the online-signing happy path, start to 「已签约」, persisted vs in memory.

Runs the same diagram (processes/online_signing.bpmn with contract_drafting) three
ways in one process, side by side:

* ``memory``   SpiffWorkflow alone, no persistence: the ceiling;
* ``sqlite``   our engine on a SQLite file in WAL mode, one transaction per step;
* ``postgres`` our engine on the local PostgreSQL (a throwaway database).

Service tasks and forms are bound to the same trivial stubs in all three runs,
so the ratio measures what durability costs (locking, loading, saving, inbox,
timer and audit rows, commits), not the housing handlers.

    python bench/engine_throughput.py [-n 200] [--postgres URL]

The last line is ``RESULT sqlite_ratio=<x> postgres_ratio=<y>``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from marshmallow import INCLUDE, Schema  # noqa: E402
from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow  # noqa: E402
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment  # noqa: E402
from SpiffWorkflow.bpmn.specs.mixins import UserTaskMixin  # noqa: E402
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from engine import ProcessEngine, Registry  # noqa: E402
from engine.db import Base  # noqa: E402
from engine.expressions import SAFE_BUILTINS  # noqa: E402
from engine.specs import build_parser, read_directory  # noqa: E402
from engine.testing import create_sa_engine, new_session_factory, throwaway_database  # noqa: E402

PROCESS = "online_signing"
FAR_FUTURE = (datetime.now(timezone.utc) + timedelta(days=3650)).isoformat()

# The happy path as a person walks it: (kind, name, data).
HAPPY_PATH = [
    ("task", "选择业务类型", {"business_type": "存量房买卖"}),
    ("task", "查询房源", {"query_mode": "证书号", "certificate_no": "粤(2023)中山市不动产权第0012345号",
                       "check_code": "123456", "unit_no": None, "owner_name": None,
                       "first_generation_id": False}),
    ("task", "确认房源", {}),
    ("task", "填写买卖合同", {"price": "1500000.00"}),
    ("task", "填写申请人信息", {}),
    ("task", "填写好差评信息", {"rating": "非常满意"}),
    ("task", "填写资金监管信息", {"supervised": True}),
    ("task", "确认注意事项", {"acknowledged": True}),
    ("task", "提交合同", {"confirmed": True}),
    ("task", "生成电子合同订单", {}),
    ("message", "esign_party_signed", {"party_id": 1}),
    ("message", "esign_party_signed", {"party_id": 2}),
    ("task", "提交", {}),
]
EXPECTED_END = "已签约"


class PassThrough(Schema):
    class Meta:
        unknown = INCLUDE


def stub_services() -> dict:
    """Canned answers for every service operator of the diagram."""

    def contract(ctx_key, status="草稿"):
        return {"id": 1, "contract_no": ctx_key, "status": status, "deletion_deadline": FAR_FUTURE}

    return {
        "verify_property": lambda ctx, **p: {"found": True, "in_scope": True, "message": "", "property_id": 1},
        "create_contract": lambda ctx, **p: (ctx.set_business_key(f"B{ctx.instance.id}")
                                             if ctx is not None else None) or contract("B"),
        "submit_contract": lambda ctx, **p: contract("B", "已提交"),
        "create_esign_order": lambda ctx, **p: {"order_no": "O1", "status": "已创建订单，待签字", "parties": [1, 2]},
        "record_signature": lambda ctx, **p: {
            "order_no": "O1", "status": "订单已经完成签字" if str(p.get("party_id")) == "2" else "已创建订单，待签字"},
        "cancel_esign_order": lambda ctx, **p: {"order_no": "O1", "status": "已注销"},
        "delete_contract": lambda ctx, **p: contract("B", "已删除"),
        "file_contract": lambda ctx, **p: contract("B", "已签约"),
    }


def bench_registry() -> Registry:
    registry = Registry()
    for lane, role in {"卖方": "seller", "买方": "buyer", "系统": "system",
                       "窗口受理人员": "clerk", "审核人员": "reviewer"}.items():
        registry.lane(lane, role)
    from handlers.services import SERVICES  # only the names: every operator of every diagram gets a stub
    stubs = stub_services()
    for name in SERVICES:
        registry.service(name)(stubs.get(name, lambda ctx, **p: {}))
    parser = build_parser(read_directory(ROOT / "processes"))
    for pid in parser.get_process_ids():
        for spec in [parser.get_spec(pid), *parser.get_subprocess_specs(pid).values()]:
            for ts in spec.task_specs.values():
                if isinstance(ts, UserTaskMixin):
                    from engine.specs import form_key_of
                    key = form_key_of(ts)
                    if key not in registry.forms:
                        registry.form(key, PassThrough)
    return registry


# ---------------------------------------------------------------- in memory

class MemoryScriptEngine(PythonScriptEngine):
    def __init__(self):
        super().__init__(environment=TaskDataEnvironment({"__builtins__": SAFE_BUILTINS}))
        self.services = stub_services()

    def call_service(self, task, operation_name=None, operation_params=None, **_):
        params = {k: v["value"] for k, v in operation_params.items()}
        return json.dumps(self.services[operation_name](None, **params))


def run_memory(n: int) -> float:
    parser = build_parser(read_directory(ROOT / "processes"))
    spec, subprocess_specs = parser.get_spec(PROCESS), parser.get_subprocess_specs(PROCESS)
    started = time.perf_counter()
    for _ in range(n):
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=MemoryScriptEngine())
        workflow.do_engine_steps()
        for kind, name, data in HAPPY_PATH:
            if kind == "task":
                task = next(t for t in workflow.get_tasks(state=TaskState.READY, spec_class=UserTaskMixin)
                            if t.task_spec.bpmn_name == name)
                task.data.update(data)
                task.run()
            else:
                workflow.send_event(BpmnEvent(MessageEventDefinition(name), payload=data))
            workflow.do_engine_steps()
        assert workflow.is_completed(), "in-memory run did not finish"
    return n / (time.perf_counter() - started)


# ---------------------------------------------------------------- persisted

def run_engine(url: str, n: int) -> float:
    sa_engine = create_sa_engine(url)
    Base.metadata.create_all(sa_engine)
    engine = ProcessEngine(new_session_factory(sa_engine), bench_registry())
    engine.deploy_directory(ROOT / "processes")
    started = time.perf_counter()
    instance_ids = []
    for _ in range(n):
        result = engine.start(PROCESS, "bench")
        instance_ids.append(result.instance_id)
        ready = result.ready_tasks
        for kind, name, data in HAPPY_PATH:
            if kind == "task":
                if not any(t["name"] == name for t in ready):  # after messages: read the inbox, as a UI would
                    ready = inbox(engine, result.instance_id)
                task_id = next(t["id"] for t in ready if t["name"] == name)
                result = engine.complete_task(task_id, data, "bench")
                ready = result.ready_tasks
            else:
                engine.deliver_message(name, result.business_key, data, uuid.uuid4().hex)
    rate = n / (time.perf_counter() - started)
    # Checked after the clock stops, as the in-memory run's check costs next to nothing.
    check_ended(engine, instance_ids)
    engine.session_factory.remove()
    sa_engine.dispose()
    return rate


def inbox(engine, instance_id):
    from engine.models import InboxTask
    session = engine.session_factory()
    rows = session.execute(sa.select(InboxTask.id, InboxTask.name).where(
        InboxTask.instance_id == instance_id, InboxTask.state == "READY")).all()
    session.close()
    return [{"id": r.id, "name": r.name} for r in rows]


def check_ended(engine, instance_ids) -> None:
    from engine.models import ProcessInstance
    session = engine.session_factory()
    ends = dict(session.execute(sa.select(ProcessInstance.id, ProcessInstance.end_event).where(
        ProcessInstance.id.in_(instance_ids))).all())
    session.close()
    wrong = {i: ends.get(i) for i in instance_ids if ends.get(i) != EXPECTED_END}
    assert not wrong, f"persisted runs did not end at {EXPECTED_END}: {wrong}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=200, help="instances per run (default 200)")
    parser.add_argument("--postgres", default=os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    run_memory(10)  # warm up imports and caches equally for everyone
    memory = run_memory(args.n)
    with tempfile.TemporaryDirectory() as folder:
        sqlite = run_engine(f"sqlite:///{folder}/bench.db", args.n)
    with throwaway_database(args.postgres) as url:
        postgres = run_engine(url, args.n)
    memory_again = run_memory(args.n)  # the ceiling measured before and after; use the mean
    ceiling = (memory + memory_again) / 2

    steps = sum(1 for _ in HAPPY_PATH) + 1
    print(f"online_signing happy path: {steps} steps per instance, {args.n} instances per run")
    print(f"{'run':10} {'instances/s':>12} {'ratio':>7}")
    print(f"{'memory':10} {ceiling:12.1f} {1.0:7.2f}")
    print(f"{'sqlite':10} {sqlite:12.1f} {sqlite / ceiling:7.3f}")
    print(f"{'postgres':10} {postgres:12.1f} {postgres / ceiling:7.3f}")
    print(f"RESULT sqlite_ratio={sqlite / ceiling:.3f} postgres_ratio={postgres / ceiling:.3f}")


if __name__ == "__main__":
    main()
