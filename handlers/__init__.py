"""The housing business of 存量房买卖合同网签备案: models, forms, service handlers, validation,
adapters to external systems with working sandboxes, printable documents and QR codes.

``register(registry, adapters)`` binds the diagrams' names (docs/process-contract.md) to this code;
``bootstrap.bootstrap`` calls it, and the use cases in ``handlers.usecases`` are what the web calls.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine import Registry

    from .bootstrap import Adapters

LANE_ROLES = {"卖方": "seller", "买方": "buyer", "窗口受理人员": "clerk", "审核人员": "reviewer", "系统": "system"}


def expression_globals() -> dict:
    """Helpers a gateway condition may call, so that a rule's own words (which matter a power of
    attorney must name) are written in the diagram, where an analyst changes them."""
    from .deadlines import beijing_time
    from .validation import poa_names_matter

    return {"poa_names_matter": poa_names_matter, "beijing_time": beijing_time}


def register(registry: "Registry", adapters: "Adapters | None" = None) -> None:
    """Lanes, service handlers (with ``adapters``; the configured sandboxes when None), form schemas, and the
    listener that makes the contract follow an administrator's cancel."""
    from .bootstrap import Settings, build_adapters
    from .forms import FORMS
    from .lifecycle import follow_instance
    from .services import bound_services

    adapters = adapters or build_adapters(Settings())
    for lane, role in LANE_ROLES.items():
        registry.lane(lane, role)
    for operator, handler in bound_services(adapters).items():
        registry.service(operator)(handler)
    for form_key, (schema, hook) in FORMS.items():
        registry.form(form_key, schema, on_submit=hook)
    registry.expression_globals.update(expression_globals())
    registry.on_lifecycle(follow_instance)
