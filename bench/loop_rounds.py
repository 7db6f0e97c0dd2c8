"""Loops that do not accumulate: the step cost of the 20th re-signing round against the first.

The online-signing flow loops when the seller clicks 「注销电子合同订单」 and chooses 修改合同:
the contract is drafted again (填写合同信息) and a new order is signed (电子签名), both call
activities inside the 签订合同 loop.  One round is the nine steps

    注销 message → 选择修改或删除 (修改合同) → the six drafting tasks → 生成电子合同订单

Each database gets instances brought to the start of round 20 (not timed); then rounds are
timed side by side, a fresh instance's round 1 and a prepared instance's round 20 step by
step alternately, so that a machine that speeds up or slows down moves both.  Two engines per
database: ``warm`` keeps the workflow cache (a running server), ``cold`` has none, so every
step loads the instance's state from the database (what the harness does after each step,
and what a server does for an instance it has not seen).  Service handlers are the trivial
stubs of ``bench/engine_throughput.py``, so only the engine differs.

    python bench/loop_rounds.py [--pairs 5] [--rounds 20] [--postgres URL]

Last line: ``RESULT loop_ratio=<x>``, the largest round-N/round-1 ratio of the median step
cost over databases and engines, in CPU time of the benchmark process (the machine this runs on
is shared: wall-clock medians of single milliseconds move with other people's load, CPU time
does not; the wall-clock ratios are printed beside it).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402

from engine import ProcessEngine  # noqa: E402
from engine.db import Base  # noqa: E402
from engine.models import ProcessInstance  # noqa: E402
from engine.testing import create_sa_engine, new_session_factory, throwaway_database  # noqa: E402
from engine_throughput import HAPPY_PATH, PROCESS, bench_registry, inbox  # noqa: E402

TO_SIGNING = HAPPY_PATH[:10]  # up to 生成电子合同订单: an order waits for signatures
DRAFTING = [step for step in HAPPY_PATH[3:10]]  # 填写买卖合同 … 生成电子合同订单
ROUND = [("message", "esign_order_cancel", {"order_no": "O1"}),
         ("task", "选择修改或删除", {"after_cancel_action": "修改合同"}),
         *DRAFTING]


class Database:
    """One database with two engines over it: with the workflow cache (warm) and without (cold)."""

    def __init__(self, url: str):
        self.sa_engine = create_sa_engine(url)
        Base.metadata.create_all(self.sa_engine)
        self.engines = {
            "warm": ProcessEngine(new_session_factory(self.sa_engine), bench_registry()),
            "cold": ProcessEngine(new_session_factory(self.sa_engine), bench_registry(), workflow_cache_size=0),
        }
        self.engines["warm"].deploy_directory(ROOT / "processes")

    def start(self, engine: ProcessEngine) -> tuple[int, str]:
        result = engine.start(PROCESS, "bench")
        key = None
        for step in TO_SIGNING:
            result = do(engine, result.instance_id, key, step)
            key = result.business_key or key
        return result.instance_id, key

    def state_size(self, instance_id: int) -> int:
        with self.sa_engine.connect() as conn:
            return len(conn.scalar(sa.select(ProcessInstance.state).where(ProcessInstance.id == instance_id)))

    def close(self) -> None:
        for engine in self.engines.values():
            engine.session_factory.remove()
        self.sa_engine.dispose()


def do(engine: ProcessEngine, instance_id: int, key: str | None, step):
    kind, name, data = step
    if kind == "message":
        engine.deliver_message(name, key, data, uuid.uuid4().hex)
        return _Result(instance_id, key)
    task_id = next(t["id"] for t in inbox(engine, instance_id) if t["name"] == name)
    return engine.complete_task(task_id, data, "bench")


class _Result:
    def __init__(self, instance_id, key):
        self.instance_id, self.business_key = instance_id, key


def _timed_step(engine: ProcessEngine, instance_id: int, key: str, step) -> tuple[float, float]:
    """(wall, CPU) seconds of one step; the inbox look-up before a task is not counted."""
    kind, name, data = step
    if kind == "message":
        wall, cpu = time.perf_counter(), time.process_time()
        engine.deliver_message(name, key, data, uuid.uuid4().hex)
    else:
        task_id = next(t["id"] for t in inbox(engine, instance_id) if t["name"] == name)
        wall, cpu = time.perf_counter(), time.process_time()
        engine.complete_task(task_id, data, "bench")
    return time.perf_counter() - wall, time.process_time() - cpu


def timed_round(engine: ProcessEngine, instance_id: int, key: str) -> list[float]:
    """Seconds per step of one round."""
    return [_timed_step(engine, instance_id, key, step) for step in ROUND]


def timed_side_by_side(engine: ProcessEngine, first: tuple[int, str], last: tuple[int, str]):
    """One round on each instance, step by step alternately (which goes first alternates too), so both
    see the same machine."""
    costs: tuple[list[tuple[float, float]], list[tuple[float, float]]] = ([], [])
    for index, step in enumerate(ROUND):
        order = (0, 1) if index % 2 == 0 else (1, 0)
        for which in order:
            costs[which].append(_timed_step(engine, *(first, last)[which], step))
    return costs


def measure(db: Database, mode: str, pairs: int, rounds: int) -> dict:
    engine = db.engines[mode]
    prepared = []
    for _ in range(pairs):
        instance_id, key = db.start(engine)
        for _ in range(rounds - 1):
            timed_round(engine, instance_id, key)
        prepared.append((instance_id, key))
    firsts, lasts = [], []
    db.start(engine)  # warm-up
    for instance_id, key in prepared:
        fresh_id, fresh_key = db.start(engine)
        first, last = timed_side_by_side(engine, (fresh_id, fresh_key), (instance_id, key))
        firsts.extend(first)
        lasts.extend(last)
    sizes = (db.state_size(fresh_id), db.state_size(prepared[-1][0]))
    return {"first": statistics.median(w for w, _ in firsts), "last": statistics.median(w for w, _ in lasts),
            "first_cpu": statistics.median(c for _, c in firsts), "last_cpu": statistics.median(c for _, c in lasts),
            "sizes": sizes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=5, help="timed round-1/round-N pairs per engine (default 5)")
    parser.add_argument("--rounds", type=int, default=20, help="the round compared with the first (default 20)")
    parser.add_argument("--postgres", default=os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres",
                        help="PostgreSQL server for a throwaway database; an empty value skips PostgreSQL")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as folder, \
            (throwaway_database(args.postgres) if args.postgres else contextlib.nullcontext()) as pg_url:
        urls = {"sqlite": f"sqlite:///{folder}/loops.db", **({"postgres": pg_url} if pg_url else {})}
        for name, url in urls.items():
            db = Database(url)
            try:
                for mode in ("warm", "cold"):
                    results[(name, mode)] = measure(db, mode, args.pairs, args.rounds)
            finally:
                db.close()
    n = args.rounds
    print(f"online_signing re-signing loop: {len(ROUND)} steps a round, {args.pairs} pairs of rounds 1 and {n}, "
          f"median step cost (wall clock, and CPU time of this process)")
    print(f"{'database':9} {'engine':6} {'round 1':>9} {f'round {n}':>9} {'ratio':>6}  {'CPU 1':>7} {f'CPU {n}':>7} "
          f"{'ratio':>6}   state round 1 / {n}")
    ratios = []
    for (name, mode), r in results.items():
        ratio, cpu_ratio = r["last"] / r["first"], r["last_cpu"] / r["first_cpu"]
        ratios.append(cpu_ratio)
        print(f"{name:9} {mode:6} {r['first'] * 1000:7.2f}ms {r['last'] * 1000:7.2f}ms {ratio:6.2f}  "
              f"{r['first_cpu'] * 1000:5.2f}ms {r['last_cpu'] * 1000:5.2f}ms {cpu_ratio:6.2f}   "
              f"{r['sizes'][0] / 1024:.1f} KB / {r['sizes'][1] / 1024:.1f} KB")
    print(f"RESULT loop_ratio={max(ratios):.2f}")


if __name__ == "__main__":
    main()
