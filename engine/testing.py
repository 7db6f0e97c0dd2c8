"""Process test harness: drive a process by task names, messages and the clock; check the path.

Used by the pytest fixtures in :mod:`engine.pytest_plugin` and usable on its own::

    harness = ProcessHarness(engine_factory)
    case = harness.start("online_signing", actor="42")
    case.complete("选择业务类型", {"business_type": "存量房买卖"})
    assert case.current_tasks() == ["查询房源"]
    with harness.clock("2026-11-25T00:00:00+08:00"):
        harness.fire_timers()
    assert case.end_event == "合同已自动删除"

``restart()`` throws away every in-memory object (engine, caches, session) and
continues from the database alone, the way a crashed and restarted server would.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from .coverage import CoverageCollector
from .db import Base, configure_sqlite
from .models import InboxTask, Incident, ProcessInstance, Timer
from .queries import MAX_LIMIT
from .errors import NotFound
from .runtime import ProcessEngine, StepResult


def create_sa_engine(url: str, **kwargs: Any) -> sa.Engine:
    sa_engine = sa.create_engine(url, **kwargs)
    configure_sqlite(sa_engine)
    return sa_engine


def new_session_factory(sa_engine: sa.Engine) -> scoped_session[Session]:
    return scoped_session(sessionmaker(bind=sa_engine, expire_on_commit=False))


@contextmanager
def throwaway_database(base_url: str | None = None, copy_of: str | None = None) -> Iterator[str]:
    """Yield the URL of an empty database (or of a copy of ``copy_of``) that is dropped afterwards.

    ``base_url`` (e.g. ``DATABASE_URL``) chooses the server: a PostgreSQL URL
    gets a fresh database on that server (a copy: ``CREATE DATABASE … TEMPLATE``);
    anything else a temporary SQLite file (a copy: the file copied).
    """
    if base_url and base_url.startswith("postgresql"):
        url = sa.engine.make_url(base_url)
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        name = f"netsign_test_{uuid.uuid4().hex[:12]}"
        template = f' TEMPLATE "{sa.engine.make_url(copy_of).database}"' if copy_of else ""
        admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"{template}')
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()
    else:
        with tempfile.TemporaryDirectory(prefix="netsign-test-") as folder:
            path = Path(folder) / "test.db"
            if copy_of:
                shutil.copyfile(str(sa.engine.make_url(copy_of).database), path)
            yield f"sqlite:///{path}"


def truncate_all(sa_engine: sa.Engine, metadata: sa.MetaData = Base.metadata) -> None:
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    with sa_engine.begin() as conn:
        if sa_engine.dialect.name == "postgresql":
            conn.exec_driver_sql("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
        else:
            for table in tables:
                conn.exec_driver_sql(f'DELETE FROM "{table}"')


class Case:
    """One process instance as a test sees it."""

    def __init__(self, harness: "ProcessHarness", instance_id: int):
        self.harness = harness
        self.id = instance_id
        harness.cases.append(self)

    def _instance(self) -> ProcessInstance:
        self.harness.session.expire_all()
        instance = self.harness.engine.queries.instance(self.id)
        assert instance is not None
        return instance

    @property
    def status(self) -> str:
        return self._instance().status

    @property
    def end_event(self) -> str | None:
        return self._instance().end_event

    @property
    def business_key(self) -> str | None:
        return self._instance().business_key

    def open_tasks(self) -> list[InboxTask]:
        self.harness.session.expire_all()
        return list(self.harness.engine.queries.open_tasks(instance_id=self.id, limit=MAX_LIMIT))

    def current_tasks(self) -> list[str]:
        return sorted(t.name for t in self.open_tasks())

    def task(self, name: str) -> InboxTask:
        matches = [t for t in self.open_tasks() if t.name == name]
        if not matches:
            raise AssertionError(f"no open task {name!r}; open: {self.current_tasks()}")
        return matches[0]

    def complete(self, name: str, data: dict[str, Any] | None = None, actor: str | None = None,
                 roles: Iterable[str] | None = None) -> StepResult:
        task = self.task(name)
        result = self.harness.engine.complete_task(task.id, data or {}, actor or self.harness.actor, roles=roles)
        self.harness.after_step()
        return result

    def send(self, message: str, payload: dict[str, Any] | None = None, key: str | None = None,
             idempotency_key: str | None = None, correlations: dict[str, Any] | None = None) -> bool:
        delivered = self.harness.engine.deliver_message(
            message, cast(str, key or self.business_key), payload or {}, idempotency_key or uuid.uuid4().hex,
            correlations=correlations)
        self.harness.after_step()
        return delivered

    def path(self) -> list[str]:
        """Names of the flow nodes the instance got past, in order."""
        self.harness.session.expire_all()
        return [str(node.get("name") or node.get("bpmn_id"))
                for node in self.harness.engine.queries.completed_nodes(self.id)]

    def timers(self) -> list[Timer]:
        self.harness.session.expire_all()
        page = self.harness.engine.queries.timers(state=None, instance_id=self.id, limit=MAX_LIMIT)
        return sorted(page, key=lambda timer: timer.id)

    def incidents(self) -> list[Incident]:
        self.harness.session.expire_all()
        return list(self.harness.engine.queries.incidents(statuses=None, instance_id=self.id, limit=MAX_LIMIT))

    def data(self) -> dict[str, Any]:
        """Task data of the most recently changed task (the instance's current data)."""
        workflow = self.harness.engine.load_workflow(self.id)
        last = max(workflow.get_tasks(), key=lambda t: t.last_state_change)
        return dict(last.data)


class ProcessHarness:
    """Start processes and move them along through the engine's public API only."""

    # Harnesses created since the last coverage collection (see ``collect_coverage``).
    live: list["ProcessHarness"] = []

    def __init__(self, engine_factory: Callable[[], ProcessEngine], *, actor: str = "tester",
                 restart_each_step: bool = False):
        self.engine_factory = engine_factory
        self.engine = engine_factory()
        self.actor = actor
        self.restart_each_step = restart_each_step
        self.cases: list[Case] = []
        ProcessHarness.live.append(self)

    @property
    def session(self) -> Session:
        return self.engine.session_factory()

    def restart(self) -> None:
        """Drop every in-memory object and carry on from the database alone."""
        old = self.engine.session_factory
        if hasattr(old, "remove"):
            old.remove()
        self.engine = self.engine_factory()

    def after_step(self) -> None:
        if self.restart_each_step:
            self.restart()

    def start(self, process_id: str, actor: str | None = None, data: dict[str, Any] | None = None,
              business_key: str | None = None) -> Case:
        result = self.engine.start(process_id, actor or self.actor, data, business_key)
        self.after_step()
        return Case(self, result.instance_id)

    def collect_coverage(self, collector: CoverageCollector) -> None:
        """Add the paths of every instance this harness started to ``collector``."""
        for case in self.cases:
            instance = self.engine.queries.instance(case.id)
            if instance is None:
                continue
            try:
                workflow = self.engine.load_workflow(case.id)
            except NotFound:  # archived by the retention policy: its state is gone
                continue
            definition = self.engine.queries.definition(instance.definition_id)
            assert definition is not None
            collector.add_workflow(workflow, definition.sources.keys())
        self.session.rollback()

    @classmethod
    def collect_all(cls, collector: CoverageCollector) -> None:
        for harness in cls.live:
            harness.collect_coverage(collector)
        cls.live.clear()

    def fire_timers(self) -> int:
        fired = self.engine.fire_due_timers()
        self.after_step()
        return fired

    def retry_incidents(self, **kwargs: Any) -> int:
        retried = self.engine.retry_incidents(**kwargs)
        self.after_step()
        return retried

    @staticmethod
    @contextmanager
    def clock(moment: str | datetime, tick: bool = True) -> Iterator[Any]:
        """Travel to ``moment`` (an aware ISO string or datetime) for the block."""
        import time_machine

        if isinstance(moment, str):
            moment = datetime.fromisoformat(moment)
        with time_machine.travel(moment, tick=tick) as traveller:
            yield traveller


def database_url_from_env() -> str | None:
    return os.environ.get("DATABASE_URL") or None
