"""Readiness: can this installation do its work?  The database answers, its schema is the one the code
expects (Alembic's revision is the head of the migrations), and a worker swept recently (a heartbeat
younger than ``stale_after``).  Each check says what it found, so an operator sees why it is not ready."""
from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import heartbeat


@dataclass
class Readiness:
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(check["ok"] for check in self.checks.values())


def check(session_factory: Callable[[], Session], heads: Collection[str], stale_after: float) -> Readiness:
    """``heads``: the revisions the migrations end at (the schema must be at one of them)."""
    found = Readiness()
    session = session_factory()
    try:
        conn = session.connection()
        conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as err:
        session.rollback()
        detail = str(getattr(err, "orig", err) or err).splitlines()[0][:200]
        found.checks["database"] = {"ok": False, "error": detail}
        found.checks["schema"] = {"ok": False, "error": "数据库不可用"}
        found.checks["worker"] = {"ok": False, "error": "数据库不可用"}
        return found
    try:
        found.checks["database"] = {"ok": True}
        found.checks["schema"] = _schema(conn, heads)
        found.checks["worker"] = _worker(conn, stale_after) if found.checks["schema"]["ok"] else {
            "ok": False, "error": "数据库结构不是最新版本"}
    finally:
        session.rollback()
    return found


def _schema(conn: sa.Connection, heads: Collection[str]) -> dict[str, Any]:
    try:
        with conn.begin_nested():  # PostgreSQL: a missing table must not end the transaction
            current = sorted(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
    except sa.exc.SQLAlchemyError:
        return {"ok": False, "current": [], "head": sorted(heads), "error": "数据库尚未初始化（netsign init）"}
    ok = set(current) == set(heads)
    return {"ok": ok, "current": current, "head": sorted(heads),
            **({} if ok else {"error": "数据库结构不是最新版本，请运行 netsign db upgrade"})}


def _worker(conn: sa.Connection, stale_after: float) -> dict[str, Any]:
    beats = heartbeat.read_all(conn)
    fresh = [b for b in beats if not b.stale(stale_after)]
    workers = [{"id": b.worker_id, "last_beat": b.beat_at.isoformat(), "age_seconds": round(b.age, 1),
                "stale": b.stale(stale_after), "sweeps": b.sweeps} for b in beats]
    result: dict[str, Any] = {"ok": bool(fresh), "stale_after_seconds": stale_after, "fresh": len(fresh),
                              "workers": workers}
    if not fresh:
        result["error"] = (f"没有 {stale_after:g} 秒内活动的 worker" if beats else "没有运行过的 worker")
    return result
