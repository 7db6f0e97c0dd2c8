"""What a step says to the database, pinned: a new statement on the step path (on PostgreSQL, a new
round trip, ~0.3 ms a step on this machine) fails here instead of showing up weeks later as a few
per cent in the throughput benchmark's noise.

The steps are those of the throughput benchmark (bench/engine_throughput.py): the online-signing
happy path with stub handlers, so only the engine's own statements are counted.  A change that
really needs one more statement updates the numbers here, and says why in its commit.
"""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from engine import ProcessEngine
from engine.sqlcount import count_round_trips

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import engine_throughput as bench  # noqa: E402

# SQLite, statements: BEGIN IMMEDIATE, the task and its instance locked in one SELECT, the state
# UPDATE, the next task's inbox INSERT, the done task's inbox UPDATE, two audit rows, COMMIT.
SQLITE_USER_STEP = 8
# PostgreSQL, round trips: BEGIN, the lock, the step's writes in one pipeline, COMMIT.
POSTGRES_USER_STEP = 4

EXPECTED = {
    "sqlite": [
        ("start", 8),
        *((name, SQLITE_USER_STEP) for name in ["选择业务类型", "查询房源"]),
        # The contract is created: the business key is set (its inbox rows re-keyed, the kept messages
        # of the new key looked up once, the indexed columns rewritten) and two timers wait: the signing
        # deadline and the SMS reminder the evening before (one INSERT each).
        ("确认房源", 12),
        *((name, SQLITE_USER_STEP) for name in ["填写买卖合同", "填写申请人信息", "填写好差评信息", "填写资金监管信息",
                                                "确认注意事项", "提交合同"]),
        ("生成电子合同订单", 7),  # the next task is nobody's: it waits for the signatures
        # A callback: the message kept, the instance found by its key, locked, the message taken in.
        ("esign_party_signed", 12),
        ("esign_party_signed", 16),  # the last signature: the order is signed, its outbound event written
        ("提交", SQLITE_USER_STEP),
    ],
    "postgresql": [
        ("start", 5),
        *((name, POSTGRES_USER_STEP) for name in ["选择业务类型", "查询房源"]),
        ("确认房源", 5),
        *((name, POSTGRES_USER_STEP) for name in ["填写买卖合同", "填写申请人信息", "填写好差评信息", "填写资金监管信息",
                                                  "确认注意事项", "提交合同", "生成电子合同订单"]),
        ("esign_party_signed", 10),
        ("esign_party_signed", 10),
        ("提交", POSTGRES_USER_STEP),
    ],
}


def counted_walk(engine: ProcessEngine, sa_engine) -> list[tuple[str, int]]:
    counts: list[tuple[str, int]] = []

    @contextlib.contextmanager
    def around(name):
        with count_round_trips(sa_engine) as counted:
            yield
        counts.append((name, counted.total))

    bench.walk(engine, around)
    return counts


def test_each_step_of_the_happy_path_runs_the_statements_it_needs_and_no_more(session_factory, sa_engine):
    engine = ProcessEngine(session_factory, bench.bench_registry())
    engine.deploy_directory(ROOT / "processes")
    bench.walk(engine)  # the first instance parses and caches the specs
    counts = counted_walk(engine, sa_engine)
    assert counts == EXPECTED[sa_engine.dialect.name]
    # While the contract is drafted the instance waits for 「撤回申请」 (a message): the lock tells
    # each drafting step that none is kept, so waiting for a message costs it no statement.


def test_a_kept_message_is_still_looked_up_and_taken_in(session_factory):
    """The other side of skipping the lookup: callbacks that arrive before the instance waits for
    them are kept, and the step after which it waits for them takes them in."""
    engine = ProcessEngine(session_factory, bench.bench_registry())
    engine.deploy_directory(ROOT / "processes")
    result = engine.start(bench.PROCESS, "bench")
    for kind, name, data in bench.HAPPY_PATH:
        if name == "生成电子合同订单":
            # Both parties' callbacks come in before the order is made: nobody waits for them yet.
            for party in (1, 2):
                assert engine.deliver_message("esign_party_signed", result.business_key, {"party_id": party},
                                              f"early-{party}") is True
            assert [t["name"] for t in bench.inbox(engine, result.instance_id)] == ["生成电子合同订单"]
        task_id = next(t["id"] for t in result.ready_tasks if t["name"] == name)
        result = engine.complete_task(task_id, data, "bench")
        if name == "生成电子合同订单":
            break
    assert [t["name"] for t in result.ready_tasks] == ["提交"]
