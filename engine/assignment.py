"""Who works an open task: claim, release, hand over, and the four-eyes rule.

Assignment changes only the inbox row (no workflow step): the row is locked,
the actor's roles and the current assignee are checked, and an audit event is
written in the same transaction.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from . import store
from .db import utcnow
from .errors import Conflict, NotAllowed, NotFound
from .status import InboxState

if TYPE_CHECKING:
    from .step import Steps


def check_four_eyes(conn: Connection, task_spec: Any, row: Any, actor: str) -> None:
    """``spiffworkflow:property name="notCompletedBy" value="<bpmn id>"``: a different person must act.

    The diagram names the earlier task (e.g. the window's acceptance); whoever
    completed it in this instance may not complete this one.
    """
    props = (getattr(task_spec, "extensions", None) or {}).get("properties") or {}
    earlier = props.get("notCompletedBy")
    if not earlier:
        return
    if store.completed_by_actor(conn, row.instance_id, earlier.split(","), actor):
        raise NotAllowed(f"四眼原则：您办理过本业务的前一环节，不能再办理「{row.name}」，请由其他人员办理")


def assign(steps: Steps, task_id: str, assignee: str | None, actor: str, roles: Iterable[str], kind: str) -> None:
    """Set (``task_claimed``, ``task_handed_over``) or clear (``task_released``) a task's assignee."""
    with steps.transaction() as session:
        conn = session.connection()
        row = store.lock_inbox_row(conn, str(task_id))
        if row is None or row.state != InboxState.READY:
            raise NotFound("任务不存在或已处理")
        if row.role not in set(roles):
            raise NotAllowed(f"您没有办理「{row.name}」的权限")
        if kind == "task_claimed" and row.assignee not in (None, actor):
            raise Conflict(f"任务「{row.name}」已由其他人员认领")
        if kind != "task_claimed" and row.assignee not in (None, actor):
            raise NotAllowed("只能释放或转交自己认领的任务")
        store.set_assignee(conn, row.id, assignee)
        if kind == "task_handed_over" and assignee:
            # The person it was handed to is told (an SMS subscriber, say), after commit.
            steps.outbound.emit(conn, "task_handed_over", {"task_id": row.id, "name": row.name, "assignee": assignee,
                                                           "process_id": row.process_id, "by": actor},
                                business_key=row.business_key, instance_id=row.instance_id)
        store.insert_audit(conn, [{"instance_id": row.instance_id, "task_id": row.id, "kind": kind,
                                   "actor": actor, "at": utcnow(), "details": {"assignee": assignee}}])
