"""Scale: the same pages, a step and the timer drain on a database of 1,000 and of N online-signing instances.

Two databases are built side by side (SQLite files in WAL mode, or two throwaway PostgreSQL
databases on ``DATABASE_URL``), each the same way (bench/scale_build.py): the processes
deployed and the demo data seeded, four instances made by a citizen walking the portal
(drafting, waiting for signatures, filed, and one whose signing deadline passed), then
cloned in bulk SQL with fresh identifiers: 40 % filed, 30 % waiting for signatures, 30 %
drafting, and ``--drain`` instances whose deadline passed.  Then, alternating between the
two databases in every round so a busy machine slows both alike:

* pages (the Flask test client, the whole request): citizen 首页, 待办, ``/api/v1/tasks``,
  ``/api/v1/contracts`` (张伟, who has a handful of contracts in both databases), the staff
  inbox (clerk1), the admin home and lists and the admin API lists;
* a step: a citizen's walk from 「选择业务类型」 to the e-contract order (11 steps a walk), each step
  timed inside the engine (its transaction, commit included; not the page around it);
* the timer drain: ``fire_due_timers()`` back to back until the due deadlines are fired;
* in the small database only (it does not depend on size): the re-signing loop, 20 rounds of
  「注销电子合同订单」 → 「修改合同」 → the drafting tasks → a new order on three instances in
  lockstep, the median engine step of the last round against the first.

    python bench/scale.py [--n 100000] [--small 1000] [--rounds 15] [--drain 300]

The last line is ``RESULT page_ratio_max=<x> step_ratio=<y> loop_ratio=<z> drain_per_s=<n>``:
the largest p95(N)/p95(1k) over the pages, p50 step at N over at 1k, the loop's last round over
its first, and timers fired per second at N.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402

from engine.db import Base  # noqa: E402
from engine.testing import create_sa_engine, throwaway_database  # noqa: E402
import scale_build as build  # noqa: E402

PAGES = [  # (label, who, path)
    ("首页", "张伟", "/"), ("待办", "张伟", "/todo"), ("task API", "张伟", "/api/v1/tasks"),
    ("contracts API", "张伟", "/api/v1/contracts"), ("staff inbox", "clerk1", "/inbox/"),
    ("admin home", "admin", "/admin/"), ("admin instances", "admin", "/admin/instances"),
    ("instances API", "admin", "/api/v1/instances"), ("timers API", "admin", "/api/v1/timers"),
    ("incidents API", "admin", "/api/v1/incidents"),
]
TEMPLATE_HOMES = {"expired": 1, "drafting": 2, "ordering": 3, "filed": 4}
FIRST_WALK_HOME, LOOP_HOMES = 10, [5, 6, 7, 8]  # the loop's warm-up, then its three instances
SHARES = {"filed": 0.4, "ordering": 0.3, "drafting": 0.3}


class Site:
    """One database with the app on it, its clients signed in, its measurements."""

    def __init__(self, label: str, url: str, folder: str):
        from web import create_app
        from web.config import TestConfig

        import handlers.models  # noqa: F401  (the housing tables, for create_all)
        self.label = label
        sa_engine = create_sa_engine(url)
        Base.metadata.create_all(sa_engine)
        sa_engine.dispose()
        self.app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, UPLOAD_DIR=f"{folder}/uploads",
                              VAR_DIR=f"{folder}/var", PUBLIC_BASE_URL="http://localhost",
                              ESIGN_CALLBACK_SECRET="scale-bench")
        with self.app.app_context():
            from handlers.usecases import admin
            from web.extensions import db
            services = self.app.extensions["netsign"]
            services.engine.deploy_directory(self.app.config["PROCESSES_DIR"])
            admin.seed(services)
            services.end_session()
            with db.engine.begin() as conn:
                build.add_homes(conn, 1, 60)
            self.db_engine = db.engine
        self.clients = {who: self.client(who) for who in {who for _, who, _ in PAGES}}
        self.walker = build.Walker(self.clients["张伟"])
        self.pages: dict[str, list[float]] = {label: [] for label, _, _ in PAGES}

    def client(self, who: str) -> Any:
        from handlers.models import Account
        with self.db_engine.connect() as conn:
            account_id = conn.execute(sa.select(Account.id).where(
                sa.or_(Account.name == who, Account.username == who))).scalar_one()
        client = self.app.test_client()
        with client.session_transaction() as session:
            session["account_id"] = account_id
        return client

    def contract_no(self, home: int) -> str:
        from handlers.models import Contract, RegistryProperty
        with self.db_engine.connect() as conn:
            return str(conn.execute(sa.select(Contract.contract_no).join(RegistryProperty).where(
                RegistryProperty.certificate_no == build.certificate(home))
                .order_by(Contract.id.desc()).limit(1)).scalar_one())

    def make_templates(self) -> dict[str, int]:
        """The four engine-made instances; their instance ids by kind."""
        w = self.walker
        with travel(datetime.now(timezone.utc) - timedelta(days=2)):
            # Signed in then: a session cookie from the future is no session at all.
            past = build.Walker(self.client("张伟"))
            past.draft_and_order(past.to_drafting(TEMPLATE_HOMES["expired"]))
        w.post(w.to_drafting(TEMPLATE_HOMES["drafting"]), build.CONTRACT_FORM)
        w.draft_and_order(w.to_drafting(TEMPLATE_HOMES["ordering"]))
        filed = w.draft_and_order(w.to_drafting(TEMPLATE_HOMES["filed"]))
        w.sign_all(self.app, self.contract_no(TEMPLATE_HOMES["filed"]))
        w.post(w.task_link(filed, "提交"), {"confirmed": "1"})  # 「提交」 → 「确定」
        from handlers.models import Contract
        with self.db_engine.connect() as conn:
            return {kind: conn.execute(sa.select(Contract.instance_id).where(
                Contract.contract_no == self.contract_no(home))).scalar_one()
                for kind, home in TEMPLATE_HOMES.items()}

    def fill(self, n: int, drain: int) -> float:
        """Clone the templates up to ``n`` instances (and ``drain`` with a passed deadline); seconds taken."""
        started = time.perf_counter()
        ids = self.make_templates()
        with self.db_engine.connect() as conn:
            templates = {kind: build.read_template(conn, kind, instance_id) for kind, instance_id in ids.items()}
        plan = [(templates[kind], int(n * share)) for kind, share in SHARES.items()]
        plan.append((templates["expired"], drain))
        build.clone(self.db_engine, plan, first_number=1)
        return time.perf_counter() - started

    def get(self, label: str, who: str, path: str) -> None:
        started = time.perf_counter()
        response = self.clients[who].get(path)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, f"{path}: {response.status_code}"
        self.pages[label].append(elapsed)

    def walk(self, home: int) -> list[float]:
        """Engine seconds of each step of a walk from 选择业务类型 to the order (the start not counted)."""
        url = self.walker.post("/start/online_signing", {})
        first = len(build.STEP_SECONDS)
        self.walker.draft_and_order(self.walker.to_drafting(home, url))
        return build.STEP_SECONDS[first:]

    def drain(self) -> tuple[int, float]:
        with self.app.app_context():
            services = self.app.extensions["netsign"]
            started = time.perf_counter()
            fired = services.engine.fire_due_timers(limit=None)
            elapsed = time.perf_counter() - started
            services.end_session()
        return fired, fired / elapsed

    def count(self, sql: str) -> int:
        with self.db_engine.connect() as conn:
            return int(conn.execute(sa.text(sql)).scalar() or 0)


@contextlib.contextmanager
def travel(moment: datetime) -> Iterator[None]:
    import time_machine
    with time_machine.travel(moment, tick=True):
        yield


def state_kb(site: Site, contract_no: str) -> float:
    return site.count(f"SELECT length(state) FROM process_instance WHERE business_key = '{contract_no}'") / 1024


def loop(site: Site, rounds: int) -> tuple[list[float], list[float]]:
    """Median engine step seconds of each round of 注销电子合同订单 → 修改合同 → the drafting tasks → a new
    order, over three instances in lockstep; one round on another instance first, so that round 1 is
    not also the first time the process takes these paths (forms, specs, templates loaded)."""
    resign(site, [LOOP_HOMES[0]], 1)
    return resign(site, LOOP_HOMES[1:], rounds)


def resign(site: Site, homes: list[int], rounds: int) -> tuple[list[float], list[float]]:
    """Median step seconds and the first instance's state size (KB) after each round."""
    w = site.walker
    contracts = []
    for home in homes:
        w.draft_and_order(w.to_drafting(home))
        contracts.append(site.contract_no(home))
    medians, sizes = [], []
    for _ in range(rounds):
        first = len(build.STEP_SECONDS)
        for contract_no in contracts:
            todo = w.post(f"/contract/{contract_no}/cancel-order", {})
            url = w.post(w.task_link(todo, "选择修改或删除"), {"after_cancel_action": "修改合同"})
            page = w.draft_and_order(url)
            assert page.endswith(contract_no), page
        medians.append(statistics.median(build.STEP_SECONDS[first:]))
        sizes.append(state_kb(site, contracts[0]))
    return medians, sizes


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def measure(sites: list[Site], rounds: int, walks: int) -> dict[str, list[float]]:
    """Pages, then walks, alternating between the databases; step seconds by site label."""
    for _ in range(rounds):
        for label, who, path in PAGES:
            for site in sites:
                site.get(label, who, path)
    steps: dict[str, list[float]] = {site.label: [] for site in sites}
    for k in range(walks):
        for site in sites:
            steps[site.label] += site.walk(FIRST_WALK_HOME + k)
    return steps


def report(sites: list[Site], steps: dict[str, list[float]], drains: dict[str, tuple[int, float]],
           looped: tuple[list[float], list[float]]) -> None:
    small, big = sites
    ms = 1000
    print(f"{'page':16} {small.label + ' p50/p95 ms':>18} {big.label + ' p50/p95 ms':>20} {'p95 ratio':>9}")
    ratios = {}
    for label, _, _ in PAGES:
        a, b = small.pages[label], big.pages[label]
        ratios[label] = p(b, 0.95) / p(a, 0.95)
        flag = "  > 1.5" if ratios[label] > 1.5 else ""
        print(f"{label:16} {p(a, .5) * ms:8.1f} /{p(a, .95) * ms:8.1f} {p(b, .5) * ms:10.1f} /{p(b, .95) * ms:8.1f}"
              f" {ratios[label]:9.2f}{flag}")
    step = {label: statistics.median(values) for label, values in steps.items()}
    print(f"{'a step':16} {step[small.label] * ms:8.1f} (p50) {step[big.label] * ms:12.1f} (p50) "
          f"{step[big.label] / step[small.label]:9.2f}")
    for site in sites:
        fired, rate = drains[site.label]
        print(f"timer drain at {site.label}: {fired} deadlines fired, {rate:.1f}/s")
    loop_means, sizes = looped
    print(f"re-signing loop: round 1 {loop_means[0] * ms:.1f} ms an engine step (median, state {sizes[0]:.0f} KB), "
          f"round {len(loop_means)} {loop_means[-1] * ms:.1f} ms (state {sizes[-1]:.0f} KB)")
    slow = [label for label, r in ratios.items() if r > 1.5]
    print("pages over 1.5x: " + (", ".join(slow) if slow else "none"))
    print(f"RESULT page_ratio_max={max(ratios.values()):.2f} step_ratio={step[big.label] / step[small.label]:.2f} "
          f"loop_ratio={loop_means[-1] / loop_means[0]:.2f} drain_per_s={drains[big.label][1]:.1f}")


def size_label(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="instances in the large database (default 100000)")
    parser.add_argument("--small", type=int, default=1000, help="instances in the small one (default 1000)")
    parser.add_argument("--rounds", type=int, default=15, help="requests per page and database (default 15)")
    parser.add_argument("--walks", type=int, default=3, help="walks of 11 steps per database (default 3)")
    parser.add_argument("--drain", type=int, default=300, help="instances with a passed deadline (default 300)")
    parser.add_argument("--loop-rounds", type=int, default=20, help="rounds of the re-signing loop (default 20)")
    args = parser.parse_args()
    started = time.perf_counter()
    build.time_engine_steps()
    url = os.environ.get("DATABASE_URL")
    with tempfile.TemporaryDirectory(prefix="scale-") as folder, \
            (throwaway_database(url) if url else contextlib.nullcontext()) as small_url, \
            (throwaway_database(url) if url else contextlib.nullcontext()) as big_url:
        sites = []
        for n, db_url in ((args.small, small_url), (args.n, big_url)):
            label = size_label(n)
            os.makedirs(f"{folder}/{label}", exist_ok=True)
            site = Site(label, db_url or f"sqlite:///{folder}/{label}/scale.db", f"{folder}/{label}")
            seconds = site.fill(n, args.drain)
            print(f"built {label}: {site.count('SELECT count(*) FROM process_instance')} instances, "
                  f"{site.count('SELECT count(*) FROM audit_event')} audit rows in {seconds:.0f} s", flush=True)
            sites.append(site)
        steps = measure(sites, args.rounds, args.walks)
        drains = {site.label: site.drain() for site in sites}
        for site in sites:
            deleted = site.count("SELECT count(*) FROM contract WHERE status = '已删除'")
            assert deleted >= args.drain, f"{site.label}: {deleted} contracts deleted by {args.drain} deadlines"
        looped = loop(sites[0], args.loop_rounds)
        print(f"{'sqlite' if not url else 'postgresql'}, {size_label(args.small)} against {size_label(args.n)} "
              f"instances; {args.rounds} requests per page; load average {os.getloadavg()[0]:.1f}; "
              f"{time.perf_counter() - started:.0f} s in all")
        report(sites, steps, drains, looped)
        for site in sites:
            site.db_engine.dispose()


if __name__ == "__main__":
    main()
