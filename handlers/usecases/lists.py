"""The administrator's lists of the whole system: instances, incidents (with bulk retry), timers and the audit
trail (instance events, deploys, password resets, account changes).

Each list is one keyset page of the read model with its filters, a total counted up to a cap, and the
labels (process and people names) of the rows on the page.  Days are Beijing days, as the pages show them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Iterable

from engine import IncidentStatus, Page, Total, UNRESOLVED

from ..bootstrap import Services
from ..deadlines import BEIJING
from ..labels import ADMIN_KINDS, AUDIT_KIND, Labels, labels_for
from ..models import normalize_contract_no
from .errors import Invalid
from .policy import ADMIN_ROLE, Actor

PAGE_SIZE = 50
INCIDENT_FILTERS = {"": UNRESOLVED, "open": (IncidentStatus.OPEN,), "failed": (IncidentStatus.FAILED,),
                    "resolved": (IncidentStatus.RESOLVED,), "all": None}


@dataclass
class AdminList:
    items: list[Any]
    next_cursor: str | None
    total: Total | None
    labels: Labels
    instances: dict[int, Any] = field(default_factory=dict)  # of the rows that belong to one (timers, incidents)


@dataclass
class ListFilter:
    """What an admin list page asks for; every field is optional (empty = everything)."""

    process: str | None = None  # a process id or the name shown for it
    status: str | None = None
    business_key: str | None = None  # a contract number or its beginning
    kind: str | None = None
    actor: str | None = None  # an account id or a person's name
    day_from: date | None = None
    day_to: date | None = None  # inclusive
    after: str | None = None
    limit: int = PAGE_SIZE


def beijing_start(day: date | None, *, next_day: bool = False) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=1 if next_day else 0), time(0), tzinfo=BEIJING)


def _listed(services: Services, page: Page[Any], labels: Labels, *refs_of: str) -> AdminList:
    refs = [getattr(item, name) for item in page.items for name in refs_of]
    # People an event's details name (whose password was reset, whom a task was handed to).
    refs += [item.details.get(key) for item in page.items if isinstance(getattr(item, "details", None), dict)
             for key in ("account_id", "assignee")]
    if refs:
        labels.people.update(labels_for(services, refs).people)
    instances = {}
    if page.items and hasattr(page.items[0], "instance_id"):
        instances = services.queries.instances_by_id(item.instance_id for item in page.items)
    return AdminList(page.items, page.next_cursor, page.total, labels, instances)


def instances(services: Services, actor: Actor, wanted: ListFilter) -> AdminList:
    actor.require(ADMIN_ROLE)
    labels = labels_for(services)
    key = normalize_contract_no(wanted.business_key) or None
    page = services.queries.instances(process_id=labels.process_id_for(wanted.process), status=wanted.status or None,
                                      business_key_prefix=key, after=wanted.after, limit=wanted.limit, total=True)
    return _listed(services, page, labels, "started_by")


def incidents(services: Services, actor: Actor, wanted: ListFilter) -> AdminList:
    actor.require(ADMIN_ROLE)
    if (wanted.status or "") not in INCIDENT_FILTERS:
        raise Invalid("状态：请从列表中选择", {"status": ["请从列表中选择"]})
    labels = labels_for(services)
    page = services.queries.incidents(
        statuses=INCIDENT_FILTERS[wanted.status or ""], process_id=labels.process_id_for(wanted.process),
        created_from=beijing_start(wanted.day_from), created_before=beijing_start(wanted.day_to, next_day=True),
        after=wanted.after, limit=wanted.limit, total=True)
    return _listed(services, page, labels)


def timers(services: Services, actor: Actor, wanted: ListFilter) -> AdminList:
    """Waiting timers, soonest first; the day range is of the due time."""
    actor.require(ADMIN_ROLE)
    labels = labels_for(services)
    page = services.queries.timers(process_id=labels.process_id_for(wanted.process),
                                   due_from=beijing_start(wanted.day_from),
                                   due_before=beijing_start(wanted.day_to, next_day=True),
                                   after=wanted.after, limit=wanted.limit, total=True)
    return _listed(services, page, labels)


def audit(services: Services, actor: Actor, wanted: ListFilter) -> AdminList:
    """The whole trail, newest first."""
    actor.require(ADMIN_ROLE)
    if wanted.kind and wanted.kind not in AUDIT_KIND:
        raise Invalid("事件：请从列表中选择", {"kind": ["请从列表中选择"]})
    labels = labels_for(services)
    page = services.queries.audit(kinds=[wanted.kind] if wanted.kind else None,
                                  actor=_actor_ref(services, wanted.actor),
                                  at_from=beijing_start(wanted.day_from),
                                  at_before=beijing_start(wanted.day_to, next_day=True),
                                  newest_first=True, after=wanted.after, limit=wanted.limit, total=True)
    return _listed(services, page, labels, "actor")


def audit_kinds() -> list[tuple[str, str]]:
    """The audit page's event choices: deploys and account events first, then the events of instances."""
    return [(k, AUDIT_KIND[k]) for k in ADMIN_KINDS] + [(k, v) for k, v in AUDIT_KIND.items() if k not in ADMIN_KINDS]


def _actor_ref(services: Services, typed: str | None) -> str | None:
    """An actor filter as typed: a person's name (as the page shows it), an account id, or a system actor."""
    import sqlalchemy as sa

    from ..labels import ACTORS
    from ..models import Account

    text = (typed or "").strip()
    if not text:
        return None
    for ref, name in ACTORS.items():
        if text == name:
            return ref
    found = services.session.scalars(sa.select(Account.id).where(Account.name == text).limit(2)).all()
    if len(found) == 1:
        return str(found[0])
    return text


def retry_selected(services: Services, actor: Actor, incident_ids: Iterable[int]) -> int:
    """Retry the selected incidents now (only those, only unresolved ones); returns how many were retried."""
    actor.require(ADMIN_ROLE)
    retried = 0
    for incident in services.queries.incidents_by_id(sorted(set(incident_ids))[:500]):
        if incident.status in UNRESOLVED:
            retried += services.engine.retry_incidents(incident_id=incident.id, actor=actor.ref)
    return retried
