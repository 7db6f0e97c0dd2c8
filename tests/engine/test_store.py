"""The step's prepared statements: SQLAlchemy's SQL and conversions, run on the driver's cursor."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from engine import store
from engine.models import Message


def test_rows_come_back_converted_as_through_sqlalchemy(session_factory):
    session = session_factory()
    conn = session.connection()
    received = datetime(2026, 11, 26, 3, 0, 0, 123456, tzinfo=timezone.utc)
    assert store.insert_message(conn, name="paid", business_key="K1", payload={"金额": "1.00", "n": [1, 2]},
                                idempotency_key="k-1", received_at=received)
    assert store.insert_message(conn, name="paid", business_key="K1", payload={}, idempotency_key="k-2",
                                received_at=received)
    # The same key again: nothing is inserted, nothing fails.
    assert not store.insert_message(conn, name="paid", business_key="K1", payload={"again": True},
                                    idempotency_key="k-2", received_at=received)
    [first, second] = store.pending_messages(conn, "K1", received)
    assert (first.name, first.payload) == ("paid", {"金额": "1.00", "n": [1, 2]})
    assert first.id < second.id
    store.consume_message(conn, first.id, None, received)
    assert [m.id for m in store.pending_messages(conn, "K1", received)] == [second.id]
    session.commit()
    # What the ORM reads back is what the cursor wrote: an aware UTC time, the same JSON.
    row = session.scalar(sa.select(Message).where(Message.idempotency_key == "k-1"))
    assert row.consumed_at == received and row.consumed_at.tzinfo is not None
    assert row.payload == {"金额": "1.00", "n": [1, 2]}
    assert session.scalar(sa.select(Message.payload).where(Message.idempotency_key == "k-2")) == {}
    session.rollback()


def test_a_statement_keeps_its_own_literals_and_refuses_missing_values(session_factory):
    session = session_factory()
    conn = session.connection()
    # LIMIT 1 is a literal the statement carries; nothing deployed: no row.
    assert store.latest_definition(conn, "nothing") is None
    with pytest.raises(KeyError):
        store._PENDING_MESSAGES.rows(conn, {})
    session.rollback()
