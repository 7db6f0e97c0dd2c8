"""Deployed definitions: deploy (after the one check pipeline ``validate`` runs too) and the parsed specs.

A deploy stores one new version per process whose bundle changed and nothing
else; a step asks for the parsed specs of its instance's version, which are
parsed once per process and read from the (large) definition row only on a miss.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from . import schedules, store
from .db import utcnow
from .errors import NotFound
from .registry import Registry
from .wiring import caught_messages
from .specs import DefinitionError, SpecCache, bundle_for, check_sources, content_hash

Specs = tuple[Any, dict[str, Any]]  # (process spec, specs of the processes it calls)


@dataclass
class DeployResult:
    process_id: str
    version: int
    created: bool
    definition_id: int


class Definitions:
    """Deploys definitions and hands out their parsed specs; safe to share between threads."""

    def __init__(self, registry: Registry):
        self.registry = registry
        self.specs = SpecCache()
        # definition id → (content hash, process id): the key of its specs in the cache.
        self._keys: dict[int, tuple[str, str]] = {}

    def check(self, sources: dict[str, str], received_elsewhere: Collection[str] = ()) -> Any:
        """The parser of ``sources`` once every check passed; else :class:`DefinitionError` with every problem."""
        parser, report = check_sources(sources, self.registry, received_elsewhere)
        if parser is None:
            raise DefinitionError(report.problems)
        if report.problems:
            raise DefinitionError(sorted(set(report.problems)))
        return parser

    def save(self, conn: Connection, parser: Any, sources: dict[str, str], actor: str,
             reason: str | None = None) -> list[DeployResult]:
        """Store a new version of every checked process whose bundle changed."""
        results = []
        for process_id in parser.get_process_ids():
            bundle = bundle_for(parser, sources, process_id)
            digest = content_hash(bundle)
            latest = store.latest_definition(conn, process_id)
            if latest is not None and latest.content_hash == digest:
                results.append(DeployResult(process_id, latest.version, False, latest.id))
                continue
            spec = parser.get_spec(process_id)
            version = (latest.version + 1) if latest else 1
            now = utcnow()
            definition_id = store.insert_definition(
                conn, process_id=process_id, name=spec.description or process_id, version=version,
                content_hash=digest, sources=bundle, deployed_by=actor, deployed_at=now)
            schedules.register(conn, definition_id, process_id, spec, now)
            store.insert_audit(conn, [{"instance_id": None, "task_id": None, "kind": "definition_deployed",
                                       "actor": actor, "at": now, "details": {
                                           "process_id": process_id, "version": version, "hash": digest,
                                       **({"reason": reason} if reason else {})}}])
            results.append(DeployResult(process_id, version, True, definition_id))
        return results

    def deployed_receivers(self, conn: Connection) -> set[str]:
        """The messages the newest version of some deployed process catches (a send task may address them)."""
        received: set[str] = set()
        for definition_id in store.latest_definition_ids(conn):
            spec, subprocess_specs = self.specs_for(conn, definition_id)
            received |= caught_messages([spec, *subprocess_specs.values()])
        return received

    def latest(self, conn: Connection, process_id: str) -> Any:
        """``(id, version, content_hash)`` of the newest version of a process."""
        definition = store.latest_definition(conn, process_id)
        if definition is None:
            raise NotFound(f"流程「{process_id}」尚未部署")
        self._keys[definition.id] = (definition.content_hash, process_id)
        return definition

    def specs_for(self, conn: Connection, definition_id: int) -> Specs:
        """Parsed specs of a definition version, reading its (large) row only on a cache miss."""
        key = self._keys.get(definition_id)
        if key is not None:
            found = self.specs.peek(*key)
            if found is not None:
                return found
        row = store.definition_sources(conn, definition_id)
        if row is None:
            raise NotFound("流程定义不存在")
        self._keys[row.id] = (row.content_hash, row.process_id)
        return self.specs.get(row.content_hash, row.process_id, row.sources)
