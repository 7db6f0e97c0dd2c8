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


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # attempts exhausted; an administrator may retry
