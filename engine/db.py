"""The one SQLAlchemy declarative base shared by engine and business tables.

Engine tables and the housing tables live in one metadata so that Alembic sees
one schema and a process step can change both in a single transaction.  The
engine never imports business models; they subclass :class:`Base` from outside.
"""
from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Dialect, Engine as SAEngine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend.

    SQLite has no time zones; storing naive UTC and re-attaching UTC on read
    keeps comparisons (``due_at <= now``) correct and identical on both backends.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=False)


@contextmanager
def write_intent() -> Iterator[None]:
    """Transactions begun inside this block will write: on SQLite they take the write lock at BEGIN."""
    token = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(token)


def configure_sqlite(sa_engine: SAEngine) -> None:
    """Make pysqlite behave: WAL, a busy timeout, explicit BEGIN, ``BEGIN IMMEDIATE`` for writers.

    pysqlite's own transaction handling starts transactions lazily, so two
    writers can both read an instance and then fail on upgrade.  A step that
    will write takes the write lock at ``BEGIN IMMEDIATE`` (SQLite's equivalent
    of locking the instance row); readers begin deferred and, in WAL mode,
    never block writers.  Emitting BEGIN ourselves also makes SAVEPOINTs work.
    """
    if sa_engine.dialect.name != "sqlite":
        return

    @event.listens_for(sa_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(sa_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Straight to the driver: this runs once per step, and nothing in SQLAlchemy needs to see it.
        connection.connection.dbapi_connection.execute("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")


def utcnow() -> datetime:
    """The engine's one clock. ``time-machine`` moves it in tests."""
    return datetime.now(timezone.utc)
