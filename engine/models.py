"""The engine's durable tables: definitions, instances, inbox, timers, messages, incidents, audit.

Specs are stored once per definition version; an instance row holds only its
own state.  Inbox, timer and message rows are projections that the engine
rewrites at the end of every step, so lists and sweeps never deserialize a
workflow.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import Base, UTCDateTime, utcnow
from .status import IncidentStatus, InboxState, InstanceStatus, TimerState


class ProcessDefinition(Base):
    """One deployed version of a process, with every file it needs (BPMN + DMN)."""

    __tablename__ = "process_definition"
    __table_args__ = (sa.UniqueConstraint("process_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(sa.String(100), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    version: Mapped[int] = mapped_column(sa.Integer)
    content_hash: Mapped[str] = mapped_column(sa.String(64), index=True)
    # {filename: xml text}; the whole bundle is what the hash covers.
    sources: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deployed_by: Mapped[str] = mapped_column(sa.String(100), default="system")


class ProcessInstance(Base):
    __tablename__ = "process_instance"
    # The retention sweep finds finished instances by their end time.
    __table_args__ = (sa.Index("ix_process_instance_finished", "status", "completed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(sa.ForeignKey("process_definition.id"), index=True)
    process_id: Mapped[str] = mapped_column(sa.String(100), index=True)
    business_key: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    # running | completed | error (an open incident) ; the end event's name is kept in end_event
    status: Mapped[str] = mapped_column(sa.String(20), default=InstanceStatus.RUNNING, index=True)
    end_event: Mapped[str | None] = mapped_column(sa.String(200))
    state: Mapped[str] = mapped_column(sa.Text)
    # Indexed: a citizen's 待办 and task API reach their instances by who started them.
    started_by: Mapped[str] = mapped_column(sa.String(100), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Optimistic concurrency on top of the row lock: a stale writer fails loudly.
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)

    definition: Mapped[ProcessDefinition] = relationship(lazy="select")

    __mapper_args__ = {"version_id_col": version}


class InstanceArchive(Base):
    """What is kept of a finished instance once the retention policy archived it (engine.retention):
    the instance row stays (start, end, outcome), its state and detailed audit rows go, its path stays here."""

    __tablename__ = "instance_archive"

    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("process_instance.id"), primary_key=True)
    archived_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The flow nodes it got past, in order: {"bpmn_id", "name"} each, as the audit trail had them.
    path: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    audit_rows: Mapped[int] = mapped_column(sa.Integer, default=0)  # audit rows purged
    state_chars: Mapped[int] = mapped_column(sa.Integer, default=0)  # length of the state purged


class InboxTask(Base):
    """A READY user task (and, once done, its record): the only table inboxes read."""

    __tablename__ = "inbox_task"
    __table_args__ = (
        sa.Index("ix_inbox_open_role", "state", "role"),
        # A person's open tasks and a contract page's tasks: an instance's READY rows of a lane, not
        # every task record the instance ever had (a loop adds ~34 per round).
        sa.Index("ix_inbox_instance_open", "instance_id", "state", "role"),
        # Only claimed tasks have an assignee: indexing the NULLs would cost every step a page write.
        sa.Index("ix_inbox_task_assignee", "assignee", sqlite_where=sa.text("assignee IS NOT NULL"),
                 postgresql_where=sa.text("assignee IS NOT NULL")),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)  # the Spiff task UUID
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("process_instance.id"))
    process_id: Mapped[str] = mapped_column(sa.String(100))
    business_key: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    bpmn_id: Mapped[str] = mapped_column(sa.String(100))
    name: Mapped[str] = mapped_column(sa.String(200))
    lane: Mapped[str | None] = mapped_column(sa.String(100))
    role: Mapped[str | None] = mapped_column(sa.String(50))
    form_key: Mapped[str] = mapped_column(sa.String(100))
    # READY | COMPLETED | CANCELLED
    state: Mapped[str] = mapped_column(sa.String(20), default=InboxState.READY)
    assignee: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(sa.String(100))


class Timer(Base):
    __tablename__ = "timer"
    __table_args__ = (sa.Index("ix_timer_due", "state", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    bpmn_id: Mapped[str] = mapped_column(sa.String(100))
    name: Mapped[str] = mapped_column(sa.String(200))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # waiting | fired | cancelled
    state: Mapped[str] = mapped_column(sa.String(20), default=TimerState.WAITING)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Message(Base):
    """An inbound event kept until an instance catches it; the key makes redelivery harmless."""

    __tablename__ = "message"
    __table_args__ = (sa.Index("ix_message_pending", "consumed_at", "business_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    business_key: Mapped[str] = mapped_column(sa.String(100))
    idempotency_key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    # Correlation property → value, when the sender named them (else computed from the payload).
    correlations: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    instance_id: Mapped[int | None] = mapped_column(sa.ForeignKey("process_instance.id"))


class Incident(Base):
    __tablename__ = "incident"
    __table_args__ = (sa.Index("ix_incident_retry", "status", "next_retry_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(sa.String(36))
    bpmn_id: Mapped[str] = mapped_column(sa.String(100))
    task_name: Mapped[str] = mapped_column(sa.String(200))
    error: Mapped[str] = mapped_column(sa.Text)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=1)
    # open (will be retried) | failed (retries exhausted; an administrator decides) | resolved
    status: Mapped[str] = mapped_column(sa.String(20), default=IncidentStatus.OPEN)
    next_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(sa.ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(sa.String(36))
    kind: Mapped[str] = mapped_column(sa.String(50))
    actor: Mapped[str] = mapped_column(sa.String(100))
    # Not indexed: the trail is read per instance, in id order; an index on time only cost writes.
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
