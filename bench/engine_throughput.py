"""Engine throughput: the online-signing happy path, start to 「已签约」, persisted vs in memory.

Runs the same diagram (processes/online_signing.bpmn with contract_drafting) three
ways in one process, side by side:

* ``memory``   SpiffWorkflow alone, no persistence: the ceiling;
* ``sqlite``   our engine on a SQLite file in WAL mode, one transaction per step;
* ``postgres`` our engine on the local PostgreSQL (a throwaway database).

Service tasks and forms are bound to the same trivial stubs in all three runs,
so the ratio measures what durability costs (locking, loading, saving, inbox,
timer and audit rows, commits), not the housing handlers.

    python bench/engine_throughput.py [-n 200] [--rounds 5] [--postgres URL]

The instances are run in rounds; each round measures the in-memory ceiling
before and after the persisted runs and gives one ratio per database.  The
table shows medians; the last line is ``RESULT sqlite_ratio=<x> postgres_ratio=<y>``
(medians of the per-round ratios).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
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
from engine import dates  # noqa: E402
from engine.expressions import SAFE_BUILTINS  # noqa: E402
from engine.specs import build_parser, read_directory  # noqa: E402
from engine.sqlcount import count_round_trips  # noqa: E402
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
    ("task", "填写资金监管信息", {"fund_supervised": False}),
    ("task", "确认注意事项", {"acknowledged": True}),
    ("task", "提交合同", {"confirmed": True}),
    ("task", "生成电子合同订单", {}),
    ("message", "esign_party_signed", {"party_id": 1}),
    ("message", "esign_party_signed", {"party_id": 2}),
    ("task", "提交", {}),
]
EXPECTED_END = "已签约"
STEPS = len(HAPPY_PATH) + 1  # and the start


class PassThrough(Schema):
    class Meta:
        unknown = INCLUDE


def stub_services() -> dict:
    """Canned answers for every service operator of the diagram."""

    def contract(ctx_key, status="草稿"):
        return {"id": 1, "contract_no": ctx_key, "status": status, "created": True, "deletion_deadline": FAR_FUTURE,
                "created_at": FAR_FUTURE}

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
    from handlers import expression_globals  # the diagrams' conditions call them; pure functions, no stub needed
    registry.expression_globals.update(expression_globals())
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
        # The helpers diagrams call (the engine's date helpers, the handlers' beijing_time), as the engine offers them.
        from handlers import expression_globals
        super().__init__(environment=TaskDataEnvironment({"__builtins__": {**SAFE_BUILTINS, **dates.helpers()},
                                                         **expression_globals()}))
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

class PersistedRun:
    """Our engine on one database, deployed once, walked through the happy path ``n`` times per call."""

    def __init__(self, url: str):
        self.sa_engine = create_sa_engine(url)
        Base.metadata.create_all(self.sa_engine)
        self.engine = ProcessEngine(new_session_factory(self.sa_engine), bench_registry())
        self.engine.deploy_directory(ROOT / "processes")
        self.instance_ids: list[int] = []

    def run(self, n: int) -> float:
        started = time.perf_counter()
        for _ in range(n):
            self.instance_ids.append(walk(self.engine))
        return n / (time.perf_counter() - started)

    def round_trips(self, n: int) -> float:
        """Round trips to the database per step (SQLite: statements), over ``n`` more instances."""
        with count_round_trips(self.sa_engine) as counted:
            for _ in range(n):
                self.instance_ids.append(walk(self.engine))
        return counted.total / (n * STEPS)

    def close(self) -> None:
        # Checked after the clock stops, as the in-memory run's check costs next to nothing.
        check_ended(self.engine, self.instance_ids)
        self.engine.session_factory.remove()
        self.sa_engine.dispose()


def walk(engine, around=contextlib.nullcontext) -> int:
    """One instance through the happy path; ``around(name)`` wraps each step (the start is "start")."""
    with around("start"):
        result = engine.start(PROCESS, "bench")
    instance_id = result.instance_id
    ready = result.ready_tasks
    for kind, name, data in HAPPY_PATH:
        if kind == "task":
            if not any(t["name"] == name for t in ready):  # after messages: read the inbox, as a UI would
                ready = inbox(engine, instance_id)
            task_id = next(t["id"] for t in ready if t["name"] == name)
            with around(name):
                result = engine.complete_task(task_id, data, "bench")
            ready = result.ready_tasks
        else:
            with around(name):
                engine.deliver_message(name, result.business_key, data, uuid.uuid4().hex)
    return instance_id


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
    parser.add_argument("-n", type=int, default=200, help="instances per run and database (default 200)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="the runs are split into this many rounds, each measured side by side (default 5)")
    parser.add_argument("--postgres", default=os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres",
                        help="PostgreSQL server for a throwaway database; an empty value skips PostgreSQL")
    args = parser.parse_args()
    per_round = max(1, args.n // args.rounds)

    run_memory(10)  # warm up imports and caches equally for everyone
    databases = ["sqlite", "postgres"] if args.postgres else ["sqlite"]
    rates = {"memory": [], **{name: [] for name in databases}}
    ratios = {name: [] for name in databases}
    with tempfile.TemporaryDirectory() as folder, \
            (throwaway_database(args.postgres) if args.postgres else contextlib.nullcontext()) as pg_url:
        persisted = {"sqlite": PersistedRun(f"sqlite:///{folder}/bench.db")}
        if pg_url:
            persisted["postgres"] = PersistedRun(pg_url)
        for run in persisted.values():
            run.run(2)  # parse and cache the specs, open the connections
        try:
            trips = {name: run.round_trips(2) for name, run in persisted.items()}
            # Each round measures the ceiling before and after the persisted runs, so that a
            # machine that speeds up or slows down during the benchmark moves both sides.
            for _ in range(args.rounds):
                before = run_memory(per_round)
                measured = {name: run.run(per_round) for name, run in persisted.items()}
                ceiling = (before + run_memory(per_round)) / 2
                rates["memory"].append(ceiling)
                for name, rate in measured.items():
                    rates[name].append(rate)
                    ratios[name].append(rate / ceiling)
        finally:
            for run in persisted.values():
                run.close()

    print(f"online_signing happy path: {STEPS} steps per instance, "
          f"{per_round * args.rounds} instances per database in {args.rounds} rounds")
    print(f"{'run':10} {'instances/s':>12} {'ratio':>7} {'trips/step':>10}   ratio per round")
    print(f"{'memory':10} {statistics.median(rates['memory']):12.1f} {1.0:7.2f} {0:10.2f}")
    for name in databases:
        print(f"{name:10} {statistics.median(rates[name]):12.1f} {statistics.median(ratios[name]):7.3f} "
              f"{trips[name]:10.2f}   " + " ".join(f"{r:.3f}" for r in ratios[name]))
    print("trips/step: statements per step on SQLite, round trips per step on PostgreSQL (a pipeline counts once)")
    result = {name: f"{statistics.median(ratios[name]):.3f}" if name in ratios else "skipped"
              for name in ("sqlite", "postgres")}
    print(f"RESULT sqlite_ratio={result['sqlite']} postgres_ratio={result['postgres']}")


if __name__ == "__main__":
    main()
