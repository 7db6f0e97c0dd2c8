"""Admin lists at two sizes: the first page (with its capped total) of every list the admin pages, the API and
the CLI read, at ``--small`` and ``--large`` instances, side by side in one run.

Rows are written straight into the engine's tables (instances with a 2 KB state, audit events, waiting timers,
incidents) in the proportions of a city's year: these lists read only the tables, never a workflow.  Each list
is read ``--repeat`` times at each size (p50); a ratio is large/small (1.0: the list costs the same at any
size).  The old admin home (a count of every instance per status) is measured beside the capped one.

    python bench/admin_lists.py [--small 1000] [--large 100000] [--repeat 15] [--postgres URL]

Last line: ``RESULT list_ratio_max=<x> home_ratio=<y> old_home_ratio=<z>`` (SQLite; PostgreSQL's line is
printed above it when ``--postgres`` or ``DATABASE_URL`` is set).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from engine.db import Base  # noqa: E402
from engine.models import AuditEvent, Incident, ProcessDefinition, ProcessInstance, Timer  # noqa: E402
from engine.queries import ReadModel  # noqa: E402
from engine.status import InstanceStatus  # noqa: E402
from engine.testing import create_sa_engine, new_session_factory, throwaway_database  # noqa: E402

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
KINDS = ("instance_started", "nodes_completed", "task_completed", "task_completed", "contract_filed")


def build(url: str, count: int) -> None:
    sa_engine = create_sa_engine(url)
    Base.metadata.create_all(sa_engine)
    state = "x" * 2000
    with sa_engine.begin() as conn:
        conn.execute(sa.insert(ProcessDefinition), [{"id": 1, "process_id": "online_signing", "name": "签订买卖合同线上",
                                                     "version": 1, "content_hash": "0" * 64, "sources": {},
                                                     "deployed_at": START, "deployed_by": "init"}])
        for first in range(1, count + 1, 5000):
            ids = range(first, min(first + 5000, count + 1))
            conn.execute(sa.insert(ProcessInstance), [{
                "id": i, "definition_id": 1, "process_id": "online_signing" if i % 4 else "online_cancellation",
                "business_key": f"ZS2026{i:09d}", "status": "completed" if i % 5 < 2 else "running", "state": state,
                "started_by": str(i % 5000), "created_at": START + timedelta(minutes=i),
                "updated_at": START + timedelta(minutes=i), "version": 1} for i in ids])
            conn.execute(sa.insert(AuditEvent), [{
                "instance_id": i, "task_id": None, "kind": kind, "actor": str(i % 5000),
                "at": START + timedelta(minutes=i, seconds=n), "details": {}}
                for i in ids for n, kind in enumerate(KINDS)])
            timers = [{"instance_id": i, "process_id": "online_signing" if i % 4 else "online_cancellation",
                       "task_id": f"t{i}", "bpmn_id": "deadline", "name": "合同逾期未签",
                       "due_at": START + timedelta(days=1, minutes=i), "state": "waiting"} for i in ids if i % 10 == 0]
            incidents = [{"instance_id": i, "process_id": "online_signing" if i % 4 else "online_cancellation",
                          "task_id": f"x{i}", "bpmn_id": "verify", "task_name": "查询房源",
                          "error": "down", "attempts": 1, "status": "open", "created_at": START + timedelta(minutes=i)}
                         for i in ids if i % 200 == 0]
            for table, rows in ((Timer, timers), (Incident, incidents)):
                if rows:
                    conn.execute(sa.insert(table), rows)
    if sa_engine.dialect.name == "postgresql":
        with sa_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    sa_engine.dispose()


LISTS = {
    "instances": lambda q: q.instances(total=True),
    "instances by process": lambda q: q.instances(process_id="online_cancellation", total=True),
    "instances by status": lambda q: q.instances(status="running", total=True),
    "instances by key prefix": lambda q: q.instances(business_key_prefix="ZS20260000004", total=True),
    "timers": lambda q: q.timers(total=True),
    "timers by process": lambda q: q.timers(process_id="online_signing", total=True),
    "incidents": lambda q: q.incidents(total=True),
    "incidents by process": lambda q: q.incidents(process_id="online_signing", statuses=None, total=True),
    "audit": lambda q: q.audit(newest_first=True, total=True),
    "audit by kind": lambda q: q.audit(kinds=["contract_filed"], newest_first=True, total=True),
    "audit by actor": lambda q: q.audit(actor="42", newest_first=True, total=True),
    "audit by day": lambda q: q.audit(at_from=START + timedelta(days=30), at_before=START + timedelta(days=31),
                                      newest_first=True, total=True),
    "admin home": lambda q: (q.instance_counts_capped(list(InstanceStatus)), q.instance_total_estimate()),
    "old admin home (count all)": lambda q: q.instance_counts(),
}


def measure(small_url: str, large_url: str, repeat: int) -> tuple[dict[str, float], dict[str, float]]:
    """p50 ms of every list at both sizes, the two sizes taking turns (a busy machine slows both alike)."""
    sides = []
    for url in (small_url, large_url):
        sa_engine = create_sa_engine(url)
        factory = new_session_factory(sa_engine)
        sides.append((sa_engine, factory, ReadModel(factory)))
    results: tuple[dict[str, float], dict[str, float]] = ({}, {})
    for name, run in LISTS.items():
        times: tuple[list[float], list[float]] = ([], [])
        for turn in range(repeat + 1):
            for side, (_, factory, queries) in enumerate(sides):
                started = time.perf_counter()
                run(queries)
                if turn:  # the first turn warms the caches and compiles the statement
                    times[side].append(time.perf_counter() - started)
                factory().rollback()
        for side in (0, 1):
            results[side][name] = statistics.median(times[side]) * 1000
    for sa_engine, factory, _ in sides:
        factory().close()
        sa_engine.dispose()
    return results


def compare(label: str, small_url: str, large_url: str, small: int, large: int, repeat: int) -> str:
    build(small_url, small)
    build(large_url, large)
    at_small, at_large = measure(small_url, large_url, repeat)
    print(f"\n{label}: p50 ms at {small:,} and {large:,} instances")
    print(f"{'list':30} {'small':>8} {'large':>8} {'ratio':>6}")
    for name in LISTS:
        print(f"{name:30} {at_small[name]:8.2f} {at_large[name]:8.2f} {at_large[name] / at_small[name]:6.2f}")
    ratios = {n: at_large[n] / at_small[n] for n in LISTS}
    listed = max(r for n, r in ratios.items() if not n.startswith(("admin home", "old")))
    return (f"list_ratio_max={listed:.2f} home_ratio={ratios['admin home']:.2f} "
            f"old_home_ratio={ratios['old admin home (count all)']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--postgres", default=os.environ.get("DATABASE_URL", ""))
    args = parser.parse_args()
    if args.postgres.startswith("postgresql"):
        with throwaway_database(args.postgres) as small_url, throwaway_database(args.postgres) as large_url:
            print("RESULT-postgresql " + compare("PostgreSQL", small_url, large_url, args.small, args.large,
                                                 args.repeat))
    with tempfile.TemporaryDirectory() as folder:
        print("RESULT " + compare("SQLite", f"sqlite:///{folder}/small.db", f"sqlite:///{folder}/large.db",
                                  args.small, args.large, args.repeat))


if __name__ == "__main__":
    main()
