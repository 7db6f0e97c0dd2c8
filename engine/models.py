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
    # The admin lists filter by process or status, newest (highest id) first: one index each, in that order;
    # the retention sweep finds finished instances by their end time.
    __table_args__ = (sa.Index("ix_instance_process_id", "process_id", "id"),
                      sa.Index("ix_instance_status_id", "status", "id"),
                      sa.Index("ix_process_instance_finished", "status", "completed_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(sa.ForeignKey("process_definition.id"), index=True)
    process_id: Mapped[str] = mapped_column(sa.String(100))
    business_key: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    # running | completed | error (an open incident) ; the end event's name is kept in end_event
    status: Mapped[str] = mapped_column(sa.String(20), default=InstanceStatus.RUNNING)
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
        # The 「已逾期」 filter: only tasks with a due date are indexed.
        sa.Index("ix_inbox_task_due", "state", "due_at", sqlite_where=sa.text("due_at IS NOT NULL"),
                 postgresql_where=sa.text("due_at IS NOT NULL")),
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
    # From the diagram (spiffworkflow property ``dueIn``: an ISO duration or an expression); None: no due date.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Timer(Base):
    __tablename__ = "timer"
    # The worker's sweep (due ones first) and the admin list (by due time, then id): one index in that order;
    # the admin list of one process's timers, the same order within the process.
    __table_args__ = (sa.Index("ix_timer_due", "state", "due_at", "id"),
                      sa.Index("ix_timer_process_due", "process_id", "state", "due_at", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    # The instance's process, copied: listing a process's timers must not look up every instance.
    process_id: Mapped[str | None] = mapped_column(sa.String(100))
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
    # Kept until then at most (time-to-live); the worker's sweep expires it (consumed by nobody, expired_at set).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A message thrown by a send task or throw event of this instance (never delivered back to it).
    sender_instance_id: Mapped[int | None] = mapped_column(sa.Integer)


class ProcessSchedule(Base):
    """A timer start event of a deployed version: when it next starts an instance (exactly once each)."""

    __tablename__ = "process_schedule"
    __table_args__ = (sa.Index("ix_process_schedule_due", "state", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(sa.ForeignKey("process_definition.id"), index=True)
    process_id: Mapped[str] = mapped_column(sa.String(100))
    bpmn_id: Mapped[str] = mapped_column(sa.String(100))
    name: Mapped[str] = mapped_column(sa.String(200))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Repetitions left after the one due (-1: unbounded); None for a date or duration (one start).
    cycles_left: Mapped[int | None] = mapped_column(sa.Integer)
    interval_seconds: Mapped[float | None] = mapped_column(sa.Float)
    # waiting | done (no repetition left) | replaced (a newer version of the process was deployed)
    state: Mapped[str] = mapped_column(sa.String(20), default="waiting")
    started: Mapped[int] = mapped_column(sa.Integer, default=0)


class Incident(Base):
    __tablename__ = "incident"
    __table_args__ = (sa.Index("ix_incident_retry", "status", "next_retry_at"),
                      sa.Index("ix_incident_created", "created_at"),
                      sa.Index("ix_incident_process", "process_id", "created_at", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(sa.String(36))
    # The instance's process, copied on insert: the admin list of one process's incidents is one index.
    process_id: Mapped[str | None] = mapped_column(sa.String(100))
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
    # The whole trail (admin 审计记录) is read by kind or by actor, in id order; time ranges become id ranges.
    __table_args__ = (sa.Index("ix_audit_kind_id", "kind", "id"), sa.Index("ix_audit_actor_id", "actor", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(sa.ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(sa.String(36))
    kind: Mapped[str] = mapped_column(sa.String(50))
    actor: Mapped[str] = mapped_column(sa.String(100))
    # Not indexed: the trail is read per instance, in id order; an index on time only cost writes.
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


class DefinitionDraft(Base):
    """An analyst's unfinished change to one BPMN/DMN file: saved from the editor, deployed or discarded
    later. One draft per file name: analysts share it, and the row says who saved it last."""

    __tablename__ = "definition_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    file_name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    xml: Mapped[str] = mapped_column(sa.Text)
    saved_by: Mapped[str] = mapped_column(sa.String(100))
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
class InstanceSnapshot(Base):
    """An instance as it was before an administrator moved it (a migration to another definition version):
    enough to put it back exactly (``revert``)."""

    __tablename__ = "instance_snapshot"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("process_instance.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # migration
    definition_id: Mapped[int] = mapped_column(sa.ForeignKey("process_definition.id"))
    to_definition_id: Mapped[int | None] = mapped_column(sa.ForeignKey("process_definition.id"))
    status: Mapped[str] = mapped_column(sa.String(20))
    state: Mapped[str] = mapped_column(sa.Text)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    taken_by: Mapped[str] = mapped_column(sa.String(100))
    reverted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reverted_by: Mapped[str | None] = mapped_column(sa.String(100))


class WorkerHeartbeat(Base):
    """One row per worker process (``host:pid``), written after every sweep; readiness and metrics read it.
    A row whose beat is old is shown as stale; it is deleted only once it is much older (engine.heartbeat)."""

    __tablename__ = "worker_heartbeat"

    id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sweeps: Mapped[int] = mapped_column(sa.Integer, default=0)
    timers: Mapped[int] = mapped_column(sa.Integer, default=0)
    messages: Mapped[int] = mapped_column(sa.Integer, default=0)
    retries: Mapped[int] = mapped_column(sa.Integer, default=0)


class OutboundEvent(Base):
    """A business event written by a step in its own transaction (the transactional outbox)."""

    __tablename__ = "outbound_event"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)  # uuid4: the idempotency key
    kind: Mapped[str] = mapped_column(sa.String(50))
    business_key: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    instance_id: Mapped[int | None] = mapped_column(sa.Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class OutboundDelivery(Base):
    """One event for one subscriber: delivered once, retried with backoff until then."""

    __tablename__ = "outbound_delivery"
    __table_args__ = (sa.UniqueConstraint("event_id", "subscriber"),
                      sa.Index("ix_outbound_delivery_due", "status", "next_attempt_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.ForeignKey("outbound_event.id"))
    subscriber: Mapped[str] = mapped_column(sa.String(100))
    # pending | delivered | failed (attempts exhausted; an administrator may retry)
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
