"""The citizen's lists (首页, 待办, the task API) reach their rows through indexes: their cost follows what
the person has, not how many instances and contracts the city has (issue #14).

Every statement the use cases run is captured and explained by the database itself (SQLite
``EXPLAIN QUERY PLAN``, PostgreSQL ``EXPLAIN``); none may read a whole table of instances, contracts,
parties or inbox rows.
"""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from handlers.usecases import citizen
from handlers.usecases.errors import NotFound

from .flows import contract_form
from .test_usecases import actor, complete, online_to_order

BIG_TABLES = ("process_instance", "contract", "contract_party", "inbox_task", "esign_order", "timer")


def _captured(services, run):
    statements = []
    bind = services.session.get_bind()

    def keep(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    sa.event.listen(bind, "before_cursor_execute", keep)
    try:
        run()
    finally:
        sa.event.remove(bind, "before_cursor_execute", keep)
    return statements


def _full_scans(conn, statement, parameters, big_tables=BIG_TABLES, state_alone_is_a_scan=False) -> list[str]:
    """The plan's lines that read a big table whole (or every open task of the citizen lanes)."""
    tables = "|".join(big_tables)
    if conn.dialect.name == "sqlite":
        plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
        found = [line for line in plan if re.match(rf"SCAN ({tables})\b", line)
                 # an index searched by a state alone is every row in that state: every waiting timer (a
                 # citizen's page must not; an admin list reads a state's index in key order up to its limit)
                 or state_alone_is_a_scan and re.match(rf"SEARCH ({tables}) USING (COVERING )?INDEX \w+ \((state|status)=\?\)", line)]
    else:
        # An empty test table is cheaper to read whole: forbid that, so that the plan shows whether an
        # index can serve the query at all (without one, PostgreSQL still scans, at a prohibitive cost).
        conn.exec_driver_sql("SET enable_seqscan = off")
        plan = [row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters)]
        found = [line for line in plan if re.search(rf"Seq Scan on ({tables})\b", line)]
        for i, line in enumerate(plan):  # an index read from end to end, with no condition on it
            if re.search(rf"Index (Only )?Scan( Backward)? using \w+ on ({tables})\b", line):
                details = []
                for later in plan[i + 1:]:
                    if "->" in later:
                        break
                    details.append(later)
                if not any("Index Cond" in d for d in details):
                    found.append(line)
        # PostgreSQL picks between the person's instances and the lane's open tasks by its statistics
        # (on these near-empty tables the lane looks cheaper; at 100,000 instances it is not).
        return found
    # SQLite plans without statistics, the same at any size: every open task of the citizen lanes in
    # the city is no way to find one person's.
    return found + [line for line in plan if "ix_inbox_open_role" in line]


@pytest.mark.parametrize("name", ["张伟", "赵敏"])
def test_citizen_lists_use_indexes_not_full_scans(services, name):
    person = actor(services, name)
    # A contract 张伟 drafts and 赵敏 buys: its deadline timers wait, and the lists look them up.
    seller = actor(services, "张伟")
    online_to_order(services, seller)
    complete(services, seller, "填写买卖合同", contract_form())
    citizen.start_flow(services, person, "online_signing")

    def pages():
        assert citizen.home(services, person).deadlines
        citizen.my_tasks(services, person, limit=50)
        page = citizen.my_contracts_page(services, person, limit=20, total=True)
        assert citizen.contract_deadlines(services, page.items)
        # A person with several contracts: SQLite plans ``IN (?)`` as ``= ?``, and a longer list differently.
        keys = {t.business_key for t in citizen.my_tasks(services, person, limit=50)} | {c.contract_no for c in page}
        assert len(keys) > 1 and services.queries.deadlines(keys, citizen.DELETION_TIMERS)
        with pytest.raises(NotFound):
            citizen.contract_page(services, person, "ZS0000000000")

    statements = _captured(services, pages)
    for table in ("process_instance", "contract_party", "timer"):
        assert any(f"FROM {table}" in s for s, _ in statements), table
    with services.session.get_bind().connect() as conn:
        scans = {s: _full_scans(conn, s, p, state_alone_is_a_scan=True) for s, p in statements}
    assert {s: found for s, found in scans.items() if found} == {}


def test_a_page_of_contracts_costs_the_same_statements_for_one_contract_or_many(services):
    """The list's lines show each contract's home and parties: loaded for the page at once, not per line."""
    seller = actor(services, "张伟")

    def statements_for_the_page() -> int:
        def page():
            for contract in citizen.my_contracts_page(services, seller, limit=20, total=True):
                assert contract.home.location and contract.active_parties
        services.session.expire_all()
        return len(_captured(services, page))

    counts = []
    for _ in range(3):
        online_to_order(services, seller)
        complete(services, seller, "填写买卖合同", contract_form())
        counts.append(statements_for_the_page())
        for contract in citizen.my_contracts(services, seller):  # one live contract per home
            contract.status = "已删除"
        services.session.commit()
    assert len(citizen.my_contracts(services, seller)) == 3
    assert counts == [counts[0]] * 3, counts
