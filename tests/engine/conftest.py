"""Fixtures for engine tests: a registry with a tiny generic order process (nothing about housing)."""
from __future__ import annotations

from datetime import timedelta, timezone
from pathlib import Path

import pytest
from marshmallow import Schema, fields, validate

from engine import ProcessEngine, Registry
from engine.specs import read_directory

DIAGRAMS = Path(__file__).parent / "diagrams"


class OrderForm(Schema):
    amount = fields.Integer(required=True, validate=validate.Range(min=1),
                            error_messages={"required": "金额为必填项"})


class Switches:
    """Knobs a test turns to make the service handler fail or observe calls."""

    def __init__(self):
        self.fail = False
        self.calls = 0


@pytest.fixture
def switches():
    return Switches()


@pytest.fixture
def registry(switches):
    return make_registry(switches)


def make_registry(switches: Switches | None = None) -> Registry:
    switches = switches or Switches()
    registry = Registry()
    registry.lane("客户", "customer")
    registry.lane("系统", "system")
    registry.form("order_form", OrderForm)

    @registry.service("process_order")
    def process_order(ctx, amount):
        switches.calls += 1
        from engine.models import AuditEvent
        ctx.session.add(AuditEvent(kind="handler_side_effect", actor="handler", details={"amount": amount}))
        ctx.session.flush()
        if switches.fail:
            raise RuntimeError("下游系统不可用")
        ctx.set_business_key(f"ORDER-{ctx.instance.id}")
        deadline = ctx.now() + timedelta(hours=1)
        return {"amount": amount, "deadline": deadline.astimezone(timezone.utc).isoformat()}

    return registry


@pytest.fixture
def engine_factory(session_factory, registry):
    def make():
        return ProcessEngine(session_factory, registry, backoff=(10, 60))
    engine = make()
    engine.deploy(read_directory(DIAGRAMS))
    return make
