"""The ``netsign`` command: set up the database, deploy and validate diagrams, look at
definitions, instances, inbox tasks, timers and incidents, run the worker, serve everything.

``netsign --help`` lists the commands; each has ``--help`` of its own.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from engine import worker
from engine.db import utcnow
from engine.specs import DefinitionError, read_directory, validate_sources
from handlers.deadlines import BEIJING
from handlers.usecases import admin
from handlers.usecases.admin import seed
from handlers.usecases.policy import SYSTEM

from .context import services


def _engine():
    return services().engine


def _beijing(dt) -> str:
    return dt.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S") if dt else "-"


def _sources_from(paths: tuple[str, ...]) -> dict[str, str]:
    if not paths:
        return read_directory(current_app.config["PROCESSES_DIR"])
    sources: dict[str, str] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            sources.update(read_directory(path))
        else:
            sources[path.name] = path.read_text(encoding="utf-8")
    return sources


@click.command("init")
@click.option("--demo/--no-demo", default=None, help="Seed the demo accounts and registry data (default: NETSIGN_DEMO_DATA).")
@with_appcontext
def init_command(demo):
    """Upgrade the database schema, deploy processes/, and seed demo data."""
    from flask_migrate import upgrade

    upgrade()
    for result in _engine().deploy_directory(current_app.config["PROCESSES_DIR"], actor="init"):
        state = "new version" if result.created else "unchanged"
        click.echo(f"deployed {result.process_id} v{result.version} ({state})")
    if demo is None:
        demo = current_app.config["DEMO_DATA"]
    if demo:
        seed(services())
        click.echo("demo data ready")


@click.command("deploy")
@click.argument("paths", nargs=-1)
@click.option("--actor", default="cli", help="Recorded as the deployer.")
@with_appcontext
def deploy_command(paths, actor):
    """Deploy BPMN/DMN files or folders (default: processes/). Unchanged files make no new version."""
    try:
        results = _engine().deploy(_sources_from(paths), actor=actor)
    except DefinitionError as err:
        for problem in err.problems:
            click.echo(f"✗ {problem}", err=True)
        sys.exit(1)
    for result in results:
        click.echo(f"{result.process_id} v{result.version} {'deployed' if result.created else 'unchanged'}")


@click.command("validate")
@click.argument("paths", nargs=-1)
@with_appcontext
def validate_command(paths):
    """Check diagrams as a deploy would (XSD, DOCTYPE, bindings, expressions) without storing anything."""
    report = validate_sources(_sources_from(paths), services().registry)
    for process_id, name in report.processes.items():
        click.echo(f"process {process_id}「{name}」")
    for problem in report.problems:
        click.echo(f"✗ {problem}")
    click.echo("OK" if report.ok else f"{len(report.problems)} problem(s)")
    sys.exit(0 if report.ok else 1)


@click.command("definitions")
@with_appcontext
def definitions_command():
    """List deployed process definitions and their versions."""
    for d in admin.definitions(services(), SYSTEM):
        click.echo(f"{d.process_id:24} v{d.version:<3} {d.name}  {d.content_hash[:12]}  {_beijing(d.deployed_at)}  {d.deployed_by}")


@click.command("instances")
@click.option("--status", help="running, completed or error")
@click.option("--limit", default=50, show_default=True)
@with_appcontext
def instances_command(status, limit):
    """List process instances, newest first."""
    for i in admin.instances(services(), SYSTEM, status=status, limit=limit):
        click.echo(f"#{i.id:<5} {i.process_id:22} {i.status:9} {i.business_key or '-':18} "
                   f"{i.end_event or '':12} {_beijing(i.updated_at)}")


@click.command("tasks")
@click.option("--role", help="Only tasks of this role (seller, buyer, clerk, reviewer).")
@with_appcontext
def tasks_command(role):
    """List open inbox tasks."""
    for t in services().queries.open_tasks(roles=[role] if role else None, limit=500):
        click.echo(f"{t.id}  #{t.instance_id:<5} {t.role or '-':9} {t.name:16} {t.business_key or '-':18} "
                   f"{t.assignee or '-'}  {_beijing(t.created_at)}")


@click.command("timers")
@with_appcontext
def timers_command():
    """List waiting timers with their due times in Beijing time."""
    for t in admin.timers(services(), SYSTEM, limit=500):
        click.echo(f"#{t.instance_id:<5} {t.name:16} due {_beijing(t.due_at)}")


@click.command("incidents")
@click.option("--retry", "retry_id", type=int, help="Retry this incident now.")
@with_appcontext
def incidents_command(retry_id):
    """List open incidents, or retry one."""
    if retry_id:
        click.echo(f"retried {_engine().retry_incidents(incident_id=retry_id, actor='cli')}")
        return
    for i in admin.incidents(services(), SYSTEM, limit=500):
        click.echo(f"{i.id:<4} #{i.instance_id:<5} {i.status:7} {i.task_name:14} attempts={i.attempts} "
                   f"next={_beijing(i.next_retry_at)}  {i.error[:80]}")


@click.command("retention")
@click.option("--dry-run/--apply", "dry_run", default=True, show_default=True,
              help="--dry-run counts what would be archived; --apply archives it.")
@click.option("--days", type=click.FloatRange(min=0), help="Retention period (default NETSIGN_RETENTION_DAYS).")
@click.option("--batch", default=200, show_default=True, type=click.IntRange(min=1),
              help="Instances per transaction.")
@with_appcontext
def retention_command(dry_run, days, batch):
    """Archive instances finished more than N days ago: their state and detailed audit are removed;
    the instance row (start, end, outcome), its path and the contract records stay."""
    days = days if days is not None else current_app.config.get("RETENTION_DAYS")
    if days is None:
        raise click.UsageError("no retention period: pass --days or set NETSIGN_RETENTION_DAYS")
    report = _engine().archive_finished(days, batch=batch, dry_run=dry_run)
    verb = "would archive" if dry_run else "archived"
    click.echo(f"{verb} {report.instances} instances finished before {_beijing(report.cutoff)}: "
               f"{report.audit_rows} audit rows, {report.state_chars / 1024 / 1024:.1f} MB of state"
               + ("" if dry_run else f", in {report.batches} batches"))


@click.command("worker")
@click.option("--once", is_flag=True, help="Drain what is due (sweep until a sweep finds nothing), then exit.")
@click.option("--limit", type=click.IntRange(min=1), help="With --once: stop after this many timers.")
@click.option("--interval", type=float, help="Seconds to sleep after a sweep that found nothing (default NETSIGN_WORKER_INTERVAL).")
@with_appcontext
def worker_command(once, limit, interval):
    """Fire due timers, deliver kept messages, retry incidents; sweep again at once while work is due.

    Run as many workers as you like: they split the work (FOR UPDATE SKIP LOCKED on PostgreSQL) and
    each timer fires exactly once.
    """
    interval = interval or current_app.config["WORKER_INTERVAL_SECONDS"]
    stop = {"now": False}

    def _stop(*_):
        stop["now"] = True

    def _after_sweep(done: dict[str, int]) -> None:
        if any(done.values()):
            click.echo(f"{_beijing(utcnow())} worker: {done}")
        services().end_session()  # a sweep's reads must not pin a snapshot into the next one

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    started = time.monotonic()
    total = worker.run(_engine(), once=once, interval=interval, limit=limit if once else None,
                       stop=lambda: stop["now"], after_sweep=_after_sweep)
    if once and any(total.values()):
        click.echo(f"{_beijing(utcnow())} worker: drained {total} in {time.monotonic() - started:.2f} s")


def _stop_on_signals() -> None:
    """SIGTERM (a service manager, ``kill``) and SIGINT (Ctrl-C) both end the serve loop the same way,
    so the ``finally`` below always stops the workers; without this SIGTERM would orphan them."""
    def _stop(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)


def _stop_children(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:  # a sweep stuck beyond its budget: do not leave it behind
            child.kill()
            child.wait()


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--workers", "worker_count", default=1, show_default=True, help="Timer worker processes beside the web server.")
@with_appcontext
def serve_command(host, port, worker_count):
    """Serve the web app (waitress) with timer workers beside it, until Ctrl-C or SIGTERM."""
    from waitress.server import create_server

    try:  # bind first: a busy port is one line and a non-zero exit, and no worker was started for nothing
        server = create_server(current_app._get_current_object(), host=host, port=port, threads=8)  # type: ignore[attr-defined]
    except OSError as err:
        click.echo(f"无法监听 {host}:{port}：{err.strerror}（端口可能已被占用，请用 --port 换一个）"
                   f" / cannot listen on {host}:{port}: {err.strerror}", err=True)
        sys.exit(1)
    _stop_on_signals()
    children: list[subprocess.Popen] = []
    try:
        children = [subprocess.Popen([sys.executable, "-m", "web.entry", "worker"]) for _ in range(worker_count)]
        click.echo(f"netsign on http://{host}:{port}/  (workers: {worker_count})")
        server.run()  # returns on SIGTERM/SIGINT: waitress catches the KeyboardInterrupt and closes itself
    except KeyboardInterrupt:  # a signal before the loop started
        pass
    finally:
        click.echo(f"netsign: stopping the web server and {len(children)} worker(s)")
        _stop_children(children)


COMMANDS = [init_command, deploy_command, validate_command, definitions_command, instances_command,
            tasks_command, timers_command, incidents_command, retention_command, worker_command, serve_command]
