"""The durable BPMN runtime over SpiffWorkflow. Knows nothing about housing.

Public API: :class:`ProcessEngine` (deploy, start, complete_task, deliver_message,
fire_due_timers, retry_incidents, claim/release/hand_over), :class:`Registry`
(service handlers, forms, lane roles), the errors in :mod:`engine.errors`, and
the test harness in :mod:`engine.testing`.
"""
from .errors import Conflict, EngineError, FormInvalid, NotAllowed, NotFound
from .registry import Registry, ServiceContext
from .runtime import ProcessEngine, StepResult
from .specs import DefinitionError, ValidationReport, validate_sources

__all__ = [
    "Conflict", "DefinitionError", "EngineError", "FormInvalid", "NotAllowed", "NotFound",
    "ProcessEngine", "Registry", "ServiceContext", "StepResult", "ValidationReport", "validate_sources",
]
