"""SQL of moving instances between definition versions (engine/migration.py): which instances may move,
the versions, and the snapshots that let an administrator put an instance back."""
from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .models import InstanceSnapshot, ProcessDefinition, ProcessInstance

_definition = cast(sa.Table, ProcessDefinition.__table__)
_instance = cast(sa.Table, ProcessInstance.__table__)
_snapshot = cast(sa.Table, InstanceSnapshot.__table__)



def set_instance_definition(conn: Connection, instance_id: int, definition_id: int) -> None:
    """Which definition version an instance runs on (a migration, or its revert); the step writes the state."""
    conn.execute(sa.update(_instance).where(_instance.c.id == instance_id).values(definition_id=definition_id))


def insert_snapshot(conn: Connection, **values: Any) -> int:
    key = conn.execute(sa.insert(_snapshot), values).inserted_primary_key
    assert key is not None
    return int(key[0])


def lock_snapshot(conn: Connection, snapshot_id: int) -> Any:
    return conn.execute(sa.select(_snapshot).where(_snapshot.c.id == snapshot_id).with_for_update()).first()


def mark_snapshot_reverted(conn: Connection, snapshot_id: int, actor: str, now: datetime) -> None:
    conn.execute(sa.update(_snapshot).where(_snapshot.c.id == snapshot_id)
                 .values(reverted_at=now, reverted_by=actor))


def unfinished_instances(conn: Connection, process_id: str, statuses: Collection[str]) -> list[Any]:
    """``(id, definition_id, business_key, status)`` of a process's instances in ``statuses``, oldest first."""
    return list(conn.execute(
        sa.select(_instance.c.id, _instance.c.definition_id, _instance.c.business_key, _instance.c.status)
        .where(_instance.c.process_id == process_id, _instance.c.status.in_(list(statuses)))
        .order_by(_instance.c.id)).all())


def definition_row(conn: Connection, definition_id: int) -> Any:
    """``(id, process_id, version)`` of a definition version, or None."""
    return conn.execute(sa.select(_definition.c.id, _definition.c.process_id, _definition.c.version)
                        .where(_definition.c.id == definition_id)).first()
