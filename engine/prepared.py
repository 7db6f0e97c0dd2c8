"""How the step path talks to the database: a Core statement compiled once per dialect and run on the
driver's cursor, with SQLAlchemy's own bind and result processors (see :mod:`engine.store` for why)."""
from __future__ import annotations

from collections import namedtuple
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect


def _dbapi(conn: Connection) -> Any:
    """The driver's connection under a SQLAlchemy one (always there while a transaction is open)."""
    return conn.connection.dbapi_connection


_REQUIRED = object()
# (SQL, positional?, [(name, bind processor, literal)], (row type, result processors) or None)
_Compiled = tuple[str, bool, list[Any], Any]


def _converted(values: dict[str, Any], name: str, processor: Any, literal: Any) -> Any:
    value = values[name] if name in values or literal is _REQUIRED else literal
    return processor(value) if processor else value


class Prepared:
    """A Core statement compiled once per dialect (and per set of inserted columns), run on the cursor."""

    def __init__(self, statement: Any):
        self.statement = statement
        self._compiled: dict[tuple[Any, ...], _Compiled] = {}

    def _compile(self, dialect: Dialect, column_keys: tuple[str, ...] | None) -> _Compiled:
        key = (type(dialect), dialect.paramstyle, column_keys)
        found = self._compiled.get(key)
        if found is not None:
            return found
        statement = self.statement
        if column_keys is not None:
            statement = statement.inline()  # executemany inserts: no RETURNING of generated keys
        compiled = statement.compile(dialect=dialect, column_keys=list(column_keys) if column_keys else None)
        names = list(compiled.positiontup) if dialect.positional else list(compiled.binds)
        # (name, converter, value of a literal the statement carries itself, e.g. LIMIT 1)
        processors = [(name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect),
                       _REQUIRED if compiled.binds[name].required else compiled.binds[name].effective_value)
                      for name in names]
        result = None
        if getattr(statement, "selected_columns", None) is not None and not column_keys:
            columns = list(statement.selected_columns)
            row_type = namedtuple("Row", [c.key for c in columns])  # type: ignore[misc]  # built per statement
            result = (row_type, [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns])
        found = self._compiled[key] = (compiled.string, dialect.positional, processors, result)
        return found

    @staticmethod
    def _params(positional: bool, processors: list[Any], values: dict[str, Any]) -> Any:
        # This runs for every value of every statement: one comprehension when every value is given,
        # the statement's own literals (e.g. LIMIT 1) filled in only when one is not.
        try:
            if positional:
                return tuple([p(values[n]) if p else values[n] for n, p, _ in processors])
            return {n: p(values[n]) if p else values[n] for n, p, _ in processors}
        except KeyError:
            if positional:
                return tuple([_converted(values, n, p, literal) for n, p, literal in processors])
            return {n: _converted(values, n, p, literal) for n, p, literal in processors}

    def _cursor(self, conn: Connection, values: dict[str, Any] | None) -> Any:
        sql, positional, processors, _ = self._compile(conn.dialect, None)
        cursor = _dbapi(conn).cursor()
        cursor.execute(sql, self._params(positional, processors, values or {}))
        return cursor

    def execute(self, conn: Connection, values: dict[str, Any] | None = None) -> int:
        """Run with one set of values; the number of rows it changed (not inside :func:`batch`)."""
        cursor = self._cursor(conn, values)
        count: int = cursor.rowcount
        cursor.close()
        return count

    def start(self, conn: Connection, values: dict[str, Any] | None = None) -> Any:
        """Run with one set of values; the cursor, whose ``rowcount`` is known after :func:`batch`."""
        return self._cursor(conn, values)

    def executemany(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        """Insert or update many rows; every row must have the same keys."""
        sql, positional, processors, _ = self._compile(
            conn.dialect, tuple(rows[0]) if isinstance(self.statement, sa.Insert) else None)
        cursor = _dbapi(conn).cursor()
        cursor.executemany(sql, [self._params(positional, processors, row) for row in rows])
        cursor.close()

    def rows(self, conn: Connection, values: dict[str, Any] | None = None) -> list[Any]:
        """The selected rows, converted as SQLAlchemy would, as named tuples."""
        cursor = self._cursor(conn, values)
        fetched = cursor.fetchall()
        cursor.close()
        result = self._compile(conn.dialect, None)[3]
        assert result is not None, "rows() of a statement that selects nothing"
        row_type, converters = result
        return [row_type(*(c(v) if c else v for c, v in zip(converters, row))) for row in fetched]

    def first(self, conn: Connection, values: dict[str, Any] | None = None) -> Any:
        found = self.rows(conn, values)
        return found[0] if found else None
