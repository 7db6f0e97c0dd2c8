"""Worker drain rate: how fast a backlog of due timers is fired, by the worker against sweeping back to back.

Builds ``-n`` (default 2,000) instances of a small order process whose one-hour
deadline passed two hours ago, through the engine's own API, then drains them:

* ``sweeps``   ``fire_due_timers()`` called back to back in one process until it fires nothing: the ceiling;
* ``worker``   one worker process running the worker's loop (``engine.worker.run``, what ``netsign worker``
  runs) with its 5-second interval: it must not sleep while timers are due;
* ``2 workers`` (PostgreSQL) two ``--once`` worker processes started together: they split the backlog,
  and each timer must fire exactly once.

The rate is timers per second between the first and the last firing (audit times), so process start-up
is not counted on either side.  The backlog is built once per database, on SQLite (a file, WAL) and on
PostgreSQL (a throwaway database on ``--postgres``, default ``DATABASE_URL``; ``--postgres ''`` skips it),
and every run drains a fresh copy of it; sweeps and worker alternate for ``--rounds`` rounds (medians).

    python bench/worker_drain.py [-n 2000] [--rounds 2] [--postgres URL]

Last line: ``RESULT sqlite_ratio=<x> postgres_ratio=<y> two_workers_duplicates=<d>`` where a ratio is
sweeps/worker (1.0: the worker drains as fast as sweeping back to back; the target is ≤ 1.2).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from engine import ProcessEngine, worker  # noqa: E402
from engine.db import Base, utcnow  # noqa: E402
from engine.models import AuditEvent  # noqa: E402
from engine.specs import read_directory  # noqa: E402
from engine.testing import ProcessHarness, create_sa_engine, new_session_factory, throwaway_database  # noqa: E402
from tests.engine.conftest import DIAGRAMS, make_registry  # noqa: E402


def _engine(url: str) -> ProcessEngine:
    return ProcessEngine(new_session_factory(create_sa_engine(url)), make_registry())


def build_backlog(url: str, count: int) -> None:
    """``count`` order instances waiting on a timer that was due an hour ago."""
    sa_engine = create_sa_engine(url)
    Base.metadata.create_all(sa_engine)
    harness = ProcessHarness(lambda: ProcessEngine(new_session_factory(sa_engine), make_registry()))
    harness.engine.deploy(read_directory(DIAGRAMS))
    with harness.clock(utcnow() - timedelta(hours=2), tick=True):
        for _ in range(count):
            harness.start("order").complete("填写订单", {"amount": 1})
    harness.session.commit()
    harness.engine.session_factory.remove()
    ProcessHarness.live.clear()
    if sa_engine.dialect.name == "sqlite":
        with sa_engine.connect() as conn:  # everything into the file, so that a copy of it has it all
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    sa_engine.dispose()


def fired(url: str) -> tuple[int, float, int]:
    """Timers fired, timers per second between the first and the last firing, and instances fired twice."""
    sa_engine = create_sa_engine(url)
    with sa_engine.connect() as conn:
        rows = conn.execute(sa.select(AuditEvent.instance_id, AuditEvent.at)
                            .where(AuditEvent.kind == "timer_fired")).all()
    sa_engine.dispose()
    times = sorted(at for _, at in rows)
    rate = (len(times) - 1) / max((times[-1] - times[0]).total_seconds(), 1e-9) if len(times) > 1 else 0.0
    duplicates = sum(n - 1 for n in Counter(i for i, _ in rows).values() if n > 1)
    return len(rows), rate, duplicates


def _processes(url: str, count: int, how: str) -> None:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", url, "--how", how]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for proc in [subprocess.Popen(command, cwd=ROOT, env=env) for _ in range(count)]:
        proc.wait(timeout=1800)


def _as_worker(url: str, how: str) -> None:
    """One process: ``sweeps`` calls ``fire_due_timers()`` back to back until it fires nothing;
    ``worker`` is the long-running loop with its 5-second interval, stopped at its first idle sweep
    (so that the run ends when the backlog is gone); ``once`` is ``netsign worker --once``."""
    if how == "sweeps":
        engine = _engine(url)
        while engine.fire_due_timers():
            pass
        return
    once = how == "once"
    idle = {"seen": False}

    def after_sweep(done: dict[str, int]) -> None:
        idle["seen"] = not any(done.values())

    worker.run(_engine(url), once=once, interval=5.0, stop=lambda: idle["seen"] and not once,
               after_sweep=after_sweep)


def drain(template: str, how: str) -> tuple[int, float, int]:
    # Each side in a process of its own, started the same way: only the loop differs.
    # A fresh copy of the built backlog for each side (PostgreSQL: CREATE DATABASE … TEMPLATE).
    with throwaway_database(template, copy_of=template) as url:
        _processes(url, 2 if how == "2 workers" else 1, "once" if how == "2 workers" else how)
        return fired(url)


def run(base_url: str | None, count: int, rounds: int) -> dict[str, list[tuple[int, float, int]]]:
    """Build the backlog once, then drain copies of it: sweeps and worker alternately, ``rounds`` times."""
    kinds = ["sweeps", "worker"] + (["2 workers"] if (base_url or "").startswith("postgresql") else [])
    results: dict[str, list[tuple[int, float, int]]] = {kind: [] for kind in kinds}
    with throwaway_database(base_url) as template:
        build_backlog(template, count)
        for i in range(rounds):
            # SQLite has one writer at a time: a second worker there only waits for the lock.
            for kind in (kinds if i % 2 == 0 else [kinds[1], kinds[0]] + kinds[2:]):
                if kind != "2 workers" or i == 0:
                    results[kind].append(drain(template, kind))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2, help="sweeps/worker pairs per database (alternating order)")
    parser.add_argument("--postgres", default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # run as one worker process on this URL
    parser.add_argument("--how", default="worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _as_worker(args.worker, args.how)
        return
    ratios, duplicates = {}, "skipped"
    for database, base in [("sqlite", None), ("postgres", args.postgres or None)]:
        if database == "postgres" and not base:
            ratios[database] = "skipped"
            continue
        results = run(base, args.n, args.rounds)
        for kind, runs in results.items():
            for n, rate, dups in runs:
                assert n == args.n, f"{database} {kind}: {n} of {args.n} fired"
            rates = [rate for _, rate, _ in runs]
            print(f"{database:8} {kind:10} {statistics.median(rates):8.1f} timers/s (median; runs: "
                  f"{', '.join(f'{r:.1f}' for r in rates)})  duplicates={sum(d for _, _, d in runs)}")
        ratios[database] = f"{statistics.median(r for _, r, _ in results['sweeps']) / statistics.median(r for _, r, _ in results['worker']):.2f}"
        if "2 workers" in results:
            duplicates = str(sum(d for _, _, d in results["2 workers"]))
    print(f"RESULT sqlite_ratio={ratios['sqlite']} postgres_ratio={ratios['postgres']} "
          f"two_workers_duplicates={duplicates}")


if __name__ == "__main__":
    main()
