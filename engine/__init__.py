"""The durable BPMN runtime over SpiffWorkflow. Knows nothing about housing.

Public API: :class:`ProcessEngine` (deploy, start, complete_task, deliver_message,
fire_due_timers, retry_incidents, claim/release/hand_over; the administrator's cancel, suspend, resume,
reset, migration_dry_run, migrate, revert_migration; ``engine.queries``, the
:class:`ReadModel` every page, API and CLI list reads), the status enums, :class:`Registry`
(service handlers, forms, lane roles), the errors in :mod:`engine.errors`, and
the test harness in :mod:`engine.testing` with its pytest plugin :mod:`engine.pytest_plugin`.
"""
from .errors import ClosedByTimer, Conflict, EngineError, FormInvalid, NotAllowed, NotFound
from .queries import BadCursor, Page, ReadModel, Total, capped_count
from .registry import Registry, ServiceContext
from .runtime import ProcessEngine, StepResult
from .specs import DefinitionError, ValidationReport, validate_sources
from .status import UNRESOLVED, IncidentStatus, InboxState, InstanceStatus, TimerState

__all__ = [
    "BadCursor", "ClosedByTimer", "Conflict", "DefinitionError", "EngineError", "FormInvalid", "NotAllowed", "NotFound",
    "Page", "ReadModel", "Total", "capped_count", "IncidentStatus", "InboxState", "InstanceStatus", "TimerState", "UNRESOLVED",
    "ProcessEngine", "Registry", "ServiceContext", "StepResult", "ValidationReport", "validate_sources",
]
