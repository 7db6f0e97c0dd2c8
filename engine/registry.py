"""Registries that connect diagrams to code.

A diagram names things; the registry says what they mean:

* a service task's ``spiffworkflow:serviceTaskOperator id="X"`` → the handler
  registered with ``@registry.service("X")``;
* a user task's form key (``spiffworkflow:property name="formKey"``, or the
  task's BPMN id when absent) → a marshmallow schema and an optional
  ``on_submit`` hook that stores the validated data in business tables;
* a lane's name → the role whose members may work its tasks;
* an instance lifecycle event (an administrator cancelled an instance) → the
  listeners registered with ``@registry.on_lifecycle``, so the business rows
  follow what happened to the instance outside its diagram.

Business code fills a :class:`Registry` at start-up; the engine only reads it,
so the engine never imports business code.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Callable, Protocol

from marshmallow import Schema


class ServiceContext(Protocol):
    """What a service handler or a form hook is given, besides its parameters.

    ``session``     the SQLAlchemy session of the step's transaction (for a service
                    handler, its first use opens a savepoint that undoes exactly this
                    handler's writes if it fails);
    ``instance``    the instance as the step sees it (``engine.store.InstanceRecord``:
                    read ``id``, ``process_id``, ``business_key``, ``started_by``);
    ``task_data``   a copy of the task's data (read-only by convention);
    ``actor``       who caused the step (an account id, ``"system"``, ``"worker"``);
    ``now()``       the engine clock (aware UTC);
    ``set_business_key(key)``  correlate the instance, e.g. with a contract number;
    ``audit(kind, **details)`` append an audit event to the step;
    ``discard_messages(name)`` drop the messages ``name`` still kept for the business key.
    """

    instance: Any
    task_data: dict[str, Any]
    actor: str

    @property
    def session(self) -> Any: ...

    def now(self) -> datetime: ...
    def set_business_key(self, key: str) -> None: ...
    def audit(self, kind: str, **details: Any) -> None: ...
    def discard_messages(self, name: str) -> int: ...


ServiceHandler = Callable[..., dict[str, Any]]
FormHook = Callable[[ServiceContext, dict[str, Any]], dict[str, Any]]
# ``fn(ctx, event, **details)``: called inside the transaction of the operation, so a listener that fails
# refuses the operation (nothing of it is stored) and the business rows never disagree with the instance.
LifecycleListener = Callable[..., None]

# The lifecycle events the engine tells listeners of (``details``: ``reason``, ``previous_status``).
CANCELLED = "cancelled"  # an administrator ended an unfinished instance (engine.operations.cancel)
LIFECYCLE_EVENTS = frozenset({CANCELLED})


@dataclass
class FormBinding:
    schema: type
    on_submit: FormHook | None = None


class EmptyForm(Schema):
    """The built-in form of a manual or undefined task with no form key: a confirmation, no fields.

    Unknown fields are refused (marshmallow's default), with a message that says why.
    """

    error_messages = {"unknown": "此任务没有表单字段，只需确认办理，请不要提交数据"}


# The form key of a manual or undefined task that names no form of its own.
EMPTY_FORM_KEY = "builtin:empty"


@dataclass
class Registry:
    services: dict[str, ServiceHandler] = field(default_factory=dict)
    forms: dict[str, FormBinding] = field(default_factory=dict)
    lane_roles: dict[str, str] = field(default_factory=dict)
    # Names an expression or script in a diagram may use besides task data.
    expression_globals: dict[str, Any] = field(default_factory=dict)
    lifecycle_listeners: list[LifecycleListener] = field(default_factory=list)

    def service(self, operator: str) -> Callable[[ServiceHandler], ServiceHandler]:
        """Register ``fn(ctx, **params) -> dict`` for a service operator."""

        def decorate(fn: ServiceHandler) -> ServiceHandler:
            if operator in self.services:
                raise ValueError(f"service operator {operator!r} registered twice")
            self.services[operator] = fn
            return fn

        return decorate

    def form(self, form_key: str, schema: type, on_submit: FormHook | None = None) -> None:
        if form_key in self.forms:
            raise ValueError(f"form {form_key!r} registered twice")
        self.forms[form_key] = FormBinding(schema, on_submit)

    def binding(self, form_key: str) -> FormBinding:
        """The form of an inbox task; manual and undefined tasks without a form key get the empty form."""
        if form_key == EMPTY_FORM_KEY and form_key not in self.forms:
            return EMPTY_FORM
        return self.forms[form_key]

    def on_lifecycle(self, fn: LifecycleListener) -> LifecycleListener:
        """Register ``fn(ctx, event, **details)`` for the instance lifecycle events (``LIFECYCLE_EVENTS``);
        ``ctx`` is a :class:`ServiceContext` of the operation's step (its session, instance, audit)."""
        if fn in self.lifecycle_listeners:
            raise ValueError(f"lifecycle listener {fn!r} registered twice")
        self.lifecycle_listeners.append(fn)
        return fn

    def lane(self, lane_name: str, role: str) -> None:
        self.lane_roles[lane_name] = role

    def role_for_lane(self, lane_name: str | None) -> str | None:
        return self.lane_roles.get(lane_name) if lane_name else None


EMPTY_FORM = FormBinding(EmptyForm)


def json_safe(value: Any) -> Any:
    """Turn validated form data into something task data can hold.

    Decimals become strings (never floats: money must not drift), dates ISO strings.
    """
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
