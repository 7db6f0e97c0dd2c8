"""Operations: is the installation alive and ready, and what its metrics say (web/ops.py serves them).

The e-sign callback outcomes are counted here (:data:`CALLBACKS`, by :mod:`.esign`); the engine's own
metrics and the database gauges come from :mod:`engine.metrics`.
"""
from __future__ import annotations

from collections.abc import Collection

from prometheus_client import CollectorRegistry, Counter

from engine import metrics, readiness

from ..bootstrap import Services

CALLBACKS = Counter("netsign_esign_callbacks", "粤信签 callbacks by outcome (accepted, refused) and reason",
                    ["outcome", "reason"], registry=None)
# accepted: new | duplicate; refused: signature (401) | order_closed (409) | invalid (400) | not_json (400)
ACCEPTED, REFUSED = "accepted", "refused"


def ready(services: Services, schema_heads: Collection[str], stale_after: float) -> readiness.Readiness:
    """The database answers, its schema is at ``schema_heads``, a worker swept within ``stale_after`` s."""
    try:
        return readiness.check(services.session_factory, schema_heads, stale_after)
    finally:
        services.end_session()


def metrics_registry(services: Services, stale_after: float) -> CollectorRegistry:
    """This application's registry: the engine's metrics, the database gauges and the callback outcomes."""
    return metrics.registry(services.session_factory, stale_after, extra=[CALLBACKS])
