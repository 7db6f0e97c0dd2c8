"""The values of the engine's status columns, as enums.

They are ``StrEnum``s: a member *is* its string, so rows written before the
enums existed, SQL filters and JSON output all keep the same values.
"""
from __future__ import annotations

from enum import StrEnum


class InstanceStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    ERROR = "error"  # running, with an open incident
    SUSPENDED = "suspended"  # held by an administrator: no timer fires, no message is taken in, no task completes
    CANCELLED = "cancelled"  # ended by an administrator, with a reason (audited)


class InboxState(StrEnum):
    READY = "READY"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class TimerState(StrEnum):
    WAITING = "waiting"
    FIRED = "fired"
    CANCELLED = "cancelled"


class IncidentStatus(StrEnum):
    OPEN = "open"  # will be retried
    FAILED = "failed"  # retries exhausted; an administrator decides
    RESOLVED = "resolved"


UNRESOLVED = (IncidentStatus.OPEN, IncidentStatus.FAILED)
# Instances that steps, sweeps and messages may move on.
LIVE = (InstanceStatus.RUNNING, InstanceStatus.ERROR)
# Instances that have not ended (administrator operations and migrations apply to them).
UNFINISHED = (InstanceStatus.RUNNING, InstanceStatus.ERROR, InstanceStatus.SUSPENDED)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # attempts exhausted; an administrator may retry
