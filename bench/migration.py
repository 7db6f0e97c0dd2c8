"""Migration cost: what moving a running instance to a new version costs, against an ordinary step.

Builds ``-n`` (default 200) instances of the test order process waiting at its deadline timer
(``order["deadline"]``), deploys version 2 whose timer is ``add_days(order["deadline"], 1)``, and
measures, side by side in one run on the same database (SQLite file, WAL):

* ``step``     an ordinary step: completing 「填写订单」 on ``n`` other instances (service task, timer started);
* ``dry run``  the dry-run report over the ``n`` waiting instances (reads and diffs each, writes nothing);
* ``migrate``  migrating them, one transaction per instance (snapshot, diff, move, timers recomputed);
* ``revert``   reverting every migration from its snapshot.

    python bench/migration.py [-n 200]

Last line: ``RESULT dry_run_per_step=<x> migrate_per_step=<y> revert_per_step=<z>`` (per-instance time of
each over the per-instance time of a step).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import ProcessEngine  # noqa: E402
from engine.db import Base, utcnow  # noqa: E402
from engine.specs import read_directory  # noqa: E402
from engine.testing import ProcessHarness, create_sa_engine, new_session_factory  # noqa: E402
from tests.engine.conftest import DIAGRAMS, make_registry  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=200)
    count = parser.parse_args().n
    with tempfile.TemporaryDirectory() as folder:
        sa_engine = create_sa_engine(f"sqlite:///{folder}/bench.db")
        Base.metadata.create_all(sa_engine)
        engine = ProcessEngine(new_session_factory(sa_engine), make_registry())
        harness = ProcessHarness(lambda: engine)
        sources = read_directory(DIAGRAMS)
        engine.deploy(sources)
        with harness.clock(utcnow() - timedelta(minutes=5), tick=True):
            waiting = [harness.start("order") for _ in range(count)]
            fresh = [harness.start("order") for _ in range(count)]
        for case in waiting:
            case.complete("填写订单", {"amount": 1})
        harness.session.commit()

        started = time.perf_counter()
        for case in fresh:
            case.complete("填写订单", {"amount": 2})
        step = (time.perf_counter() - started) / count

        changed = sources["order.bpmn"].replace('>order["deadline"]<', '>add_days(order["deadline"], 1)<')
        [target] = [r for r in engine.deploy({**sources, "order.bpmn": changed}) if r.process_id == "order"]
        started = time.perf_counter()
        plans = engine.migration_dry_run("order", target.definition_id)
        dry_run = (time.perf_counter() - started) / len(plans)
        assert len(plans) == 2 * count and all(p.can_move for p in plans), [p.problems for p in plans][:3]

        ids = [case.id for case in waiting]
        due_before = [t.due_at for t in waiting[0].timers()]
        started = time.perf_counter()
        outcomes = engine.migrate(ids, target.definition_id, "bench")
        migrate = (time.perf_counter() - started) / count
        assert all(o.ok for o in outcomes), [o.message for o in outcomes if not o.ok][:3]
        # The timers follow the new expression: one day later.
        assert [t.due_at for t in waiting[0].timers()] == [due + timedelta(days=1) for due in due_before]

        started = time.perf_counter()
        for outcome in outcomes:
            assert outcome.snapshot_id is not None
            engine.revert_migration(outcome.snapshot_id, "bench")
        revert = (time.perf_counter() - started) / count
        sa_engine.dispose()

    for name, seconds in (("step", step), ("dry run", dry_run), ("migrate", migrate), ("revert", revert)):
        print(f"{name:8} {seconds * 1000:7.2f} ms per instance  ({seconds / step:4.1f}x a step)")
    print(f"RESULT dry_run_per_step={dry_run / step:.2f} migrate_per_step={migrate / step:.2f} "
          f"revert_per_step={revert / step:.2f}")


if __name__ == "__main__":
    main()
