"""The housing business of 存量房买卖合同网签备案: models, forms, service handlers, validation,
adapters to external systems with working sandboxes, printable documents and QR codes.

``register(registry)`` binds the diagrams' names (docs/process-contract.md) to this code.
"""
from __future__ import annotations

LANE_ROLES = {"卖方": "seller", "买方": "buyer", "窗口受理人员": "clerk", "审核人员": "reviewer", "系统": "system"}


def register(registry) -> None:
    from .forms import FORMS
    from .services import SERVICES
    from .validation import poa_names_matter

    for lane, role in LANE_ROLES.items():
        registry.lane(lane, role)
    for operator, handler in SERVICES.items():
        registry.service(operator)(handler)
    for form_key, (schema, hook) in FORMS.items():
        registry.form(form_key, schema, on_submit=hook)
    # Helpers a gateway condition may call, so the rule's own words (which matter) stay in the diagram.
    registry.expression_globals["poa_names_matter"] = poa_names_matter
