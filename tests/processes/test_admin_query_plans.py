"""The administrator's lists (instances, incidents, timers, the whole audit trail, the admin home) reach their
rows through indexes, with every filter the pages and the API offer (issue #14): a filtered list never reads a
whole table, and no list sorts a whole table to show its first page.

The statements the use cases run are captured and explained by the database (SQLite ``EXPLAIN QUERY PLAN``,
PostgreSQL ``EXPLAIN`` with sequential scans priced out), as in test_citizen_query_plans.py.
"""
from __future__ import annotations

from datetime import date

import pytest

from handlers.usecases import admin, lists
from handlers.usecases.policy import SYSTEM

from .test_citizen_query_plans import _captured, _full_scans

ADMIN_TABLES = ("process_instance", "audit_event", "timer", "incident", "inbox_task", "account")

FILTERED = {
    "instances by process name": (lists.instances, lists.ListFilter(process="签订买卖合同线上")),
    "instances by status": (lists.instances, lists.ListFilter(status="error")),
    "instances by contract number prefix": (lists.instances, lists.ListFilter(business_key="ZS2026")),
    "incidents unresolved": (lists.incidents, lists.ListFilter()),
    "incidents by process": (lists.incidents, lists.ListFilter(process="online_signing", status="all")),
    "incidents by day": (lists.incidents, lists.ListFilter(status="all", day_from=date(2026, 1, 1),
                                                          day_to=date(2026, 12, 31))),
    "timers waiting": (lists.timers, lists.ListFilter()),
    "timers by process and due day": (lists.timers, lists.ListFilter(process="online_signing",
                                                                     day_from=date(2026, 1, 1))),
    "audit by kind": (lists.audit, lists.ListFilter(kind="definition_deployed")),
    "audit by person": (lists.audit, lists.ListFilter(actor="系统初始化")),
    "audit by day": (lists.audit, lists.ListFilter(day_from=date(2026, 1, 1), day_to=date(2026, 12, 31))),
}


def _plan_lines(conn, statement, parameters) -> list[str]:
    if conn.dialect.name == "sqlite":
        return [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
    conn.exec_driver_sql("SET enable_seqscan = off")
    return [row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters)]


@pytest.mark.parametrize("case", sorted(FILTERED))
def test_filtered_admin_lists_use_indexes(services, case):
    use_case, wanted = FILTERED[case]
    statements = _captured(services, lambda: use_case(services, SYSTEM, wanted))
    assert statements
    with services.session.get_bind().connect() as conn:
        scans = {s: _full_scans(conn, s, p, ADMIN_TABLES) for s, p in statements}
    assert {s: found for s, found in scans.items() if found} == {}


@pytest.mark.parametrize("use_case", [lists.instances, lists.incidents, lists.timers, lists.audit],
                         ids=lambda f: f.__name__)
def test_unfiltered_admin_lists_read_in_key_order(services, use_case):
    """The first page of a whole list walks an index in the list's order and stops: no sort of the table."""
    statements = _captured(services, lambda: use_case(services, SYSTEM, lists.ListFilter(status="all")
                                                      if use_case is lists.incidents else lists.ListFilter()))
    with services.session.get_bind().connect() as conn:
        for statement, parameters in statements:
            if "ORDER BY" not in statement or "LIMIT" not in statement:
                continue
            plan = _plan_lines(conn, statement, parameters)
            sorted_whole = [line for line in plan if "TEMP B-TREE FOR ORDER BY" in line
                            or line.strip().startswith("->  Sort") or line.startswith("Sort")]
            assert sorted_whole == [], (statement, plan)


def test_admin_home_counts_no_more_than_its_cap(services):
    """The admin home counts instances per status up to 1000 on an index and estimates the total."""
    statements = _captured(services, lambda: admin.overview(services, SYSTEM))
    with services.session.get_bind().connect() as conn:
        scans = {s: _full_scans(conn, s, p, ADMIN_TABLES) for s, p in statements}
    assert {s: found for s, found in scans.items() if found} == {}
    counted = [s for s, _ in statements if "count(" in s.lower() and "process_instance" in s]
    assert counted and all("LIMIT" in s for s in counted)


def test_the_staff_inbox_page_reads_through_indexes(services):
    """What the staff inbox asks besides its tasks — the staff's names, colleagues to hand over to, the
    processes' names — reaches its rows by index: a city's hundred thousand citizen accounts are never read."""
    from handlers.labels import labels_for
    from handlers.usecases import accounts, tasks
    from handlers.usecases.policy import Actor

    clerk = Actor(1, "窗口受理员甲", "CLERK1", frozenset({"clerk"}))

    def page():
        tasks.staff_inbox(services, clerk, tasks.InboxFilter())
        accounts.staff_names(services)
        accounts.colleagues(services, clerk, ("clerk",))
        labels_for(services, ["1"])

    statements = _captured(services, page)
    assert statements
    with services.session.get_bind().connect() as conn:
        # The open tasks of the clerk's lanes are what this page lists: reading them by that index is right.
        scans = {s: [line for line in _full_scans(conn, s, p, ADMIN_TABLES) if "ix_inbox_open_role" not in line]
                 for s, p in statements}
    assert {s: found for s, found in scans.items() if found} == {}
