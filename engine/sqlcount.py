"""Count what a piece of work says to the database, at the driver, so that a new round trip shows.

The step path runs its statements on the driver's cursor (:mod:`engine.prepared`), past
SQLAlchemy's execution events, and PostgreSQL sees a pipeline of statements as one round
trip; so the counting happens below SQLAlchemy:

* SQLite: every statement the library runs (its trace callback), BEGIN and COMMIT
  included; an ``executemany`` counts once per row, as SQLite runs it once per row;
* PostgreSQL: every round trip (libpq's protocol trace: a ``Query``, or a ``Sync`` after
  statements, from the client), BEGIN and COMMIT included; a pipeline counts once.

    with count_round_trips(sa_engine) as counted:
        engine.complete_task(...)
    counted.total          # complete once the block has ended (libpq writes its trace buffered)

Only connections checked out of the pool inside the block are counted (a step checks
its connection out when it begins), so no transaction may be open when it starts.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa


class RoundTrips:
    """What was counted: ``total`` (read it after the block), on SQLite also the statements' text."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.total = 0

    def _on_sqlite(self, statement: str) -> None:
        self.total += 1
        self.statements.append(statement)


def _client_round_trips(path: str) -> int:
    """Round trips in a libpq trace: a ``Query`` message, or a ``Sync`` ending messages that ran a statement.

    Left out: psycopg's own statement preparation (a ``Parse`` and ``Sync`` of their own, the fifth
    time a statement runs on a connection) and its ``DEALLOCATE ALL`` after a ROLLBACK: they depend on
    the connection's history, not on the work counted.
    """
    count = 0
    executed = False
    with open(path, encoding="utf-8", errors="replace") as trace:
        for line in trace:
            # libpq: [timestamp]\tF|B\tlength\tmessage\t...  (F: sent by the client)
            fields = line.rstrip().split("\t")
            if "F" not in fields[:2]:
                continue
            message = fields[fields.index("F") + 2] if len(fields) > fields.index("F") + 2 else ""
            if message == "Execute":
                executed = True
            elif message == "Sync":
                count += executed
                executed = False
            elif message == "Query" and "DEALLOCATE" not in line:
                count += 1
    return count


@contextmanager
def count_round_trips(sa_engine: sa.Engine) -> Iterator[RoundTrips]:
    counted = RoundTrips()
    on_sqlite = sa_engine.dialect.name == "sqlite"
    traced: list[tuple[Any, int, str]] = []  # (driver connection, trace file, its path): one each

    def on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if on_sqlite:
            dbapi_connection.set_trace_callback(counted._on_sqlite)
            traced.append((dbapi_connection, -1, ""))
        elif not any(c is dbapi_connection for c, _, _ in traced):
            handle, path = tempfile.mkstemp(prefix="round-trips-", suffix=".trace")
            dbapi_connection.pgconn.trace(handle)
            traced.append((dbapi_connection, handle, path))

    sa.event.listen(sa_engine, "checkout", on_checkout)
    try:
        yield counted
    finally:
        sa.event.remove(sa_engine, "checkout", on_checkout)
        for dbapi_connection, handle, path in traced:
            if on_sqlite:
                dbapi_connection.set_trace_callback(None)
                continue
            if not dbapi_connection.closed:
                dbapi_connection.pgconn.untrace()  # flushes libpq's buffer into the file
            counted.total += _client_round_trips(path)
            os.close(handle)
            os.unlink(path)
