"""The ``netsign`` command: set up the database, deploy and validate diagrams, look at
definitions, instances, inbox tasks, timers, incidents and the audit trail (each a page: ``--limit``,
``--after``), run the worker, serve everything.

``netsign --help`` lists the commands; each has ``--help`` of its own.
"""
from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from engine import metrics, worker
from engine.heartbeat import default_worker_id
from engine.specs import DefinitionError, read_directory
from handlers.deadlines import BEIJING
from handlers.labels import labels_for
from handlers.usecases import admin, instances as ops, lists
from handlers.usecases.admin import seed
from handlers.usecases.policy import SYSTEM

from .context import services

log = logging.getLogger(__name__)


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
    report = _engine().validate(_sources_from(paths))  # with the deployed processes, as a deploy checks
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
    found = admin.definitions(services(), SYSTEM)
    names = labels_for(services(), [d.deployed_by for d in found])
    for d in found:
        click.echo(f"{d.process_id:24} v{d.version:<3} {d.name}  {d.content_hash[:12]}  {_beijing(d.deployed_at)}  "
                   f"{names.person(d.deployed_by)}")


def _paging(command):
    """``--limit`` and ``--after`` of every list command (keyset pages, as the API and the admin pages)."""
    command = click.option("--after", help="Cursor printed at the end of the previous page: show the page after it.")(command)
    return click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True,
                        help="Rows per page (1-500).")(command)


def _day(text: str | None):
    return click.DateTime(["%Y-%m-%d"]).convert(text, None, None).date() if text else None


def _footer(page) -> None:
    """How many there are (counted up to 1000) and how to get the next page (nothing for an empty list)."""
    if page.total is not None and page.items:
        click.echo(f"-- {page.total.value}{'+' if page.total.capped else ''} in all", err=True)
    if page.next_cursor:
        click.echo(f"-- more: --after {page.next_cursor}", err=True)


@click.command("instances")
@click.option("--status", type=click.Choice(["running", "completed", "error", "suspended", "cancelled"]),
              help="Only instances in this status.")
@click.option("--process", help="Process id or name (e.g. online_signing or 签订买卖合同线上).")
@click.option("--business-key", help="Contract number, or its beginning.")
@_paging
@with_appcontext
def instances_command(status, process, business_key, limit, after):
    """List process instances, newest first."""
    found = lists.instances(services(), SYSTEM, lists.ListFilter(process=process, status=status,
                                                                 business_key=business_key, after=after, limit=limit))
    for i in found.items:
        click.echo(f"#{i.id:<5} {i.process_id:22} {i.status:9} {i.business_key or '-':18} "
                   f"{i.end_event or '':12} {_beijing(i.updated_at)}")
    _footer(found)


@click.command("tasks")
@click.option("--role", help="Only tasks of this role (seller, buyer, clerk, reviewer).")
@_paging
@with_appcontext
def tasks_command(role, limit, after):
    """List open inbox tasks, oldest first."""
    page = services().queries.open_tasks(roles=[role] if role else None, after=after, limit=limit, total=True)
    for t in page:
        click.echo(f"{t.id}  #{t.instance_id:<5} {t.role or '-':9} {t.name:16} {t.business_key or '-':18} "
                   f"{t.assignee or '-'}  {_beijing(t.created_at)}")
    _footer(page)


@click.command("timers")
@click.option("--process", help="Process id or name.")
@click.option("--due-from", help="Due on or after this day (Beijing, YYYY-MM-DD).")
@click.option("--due-to", help="Due on or before this day (Beijing, YYYY-MM-DD).")
@_paging
@with_appcontext
def timers_command(process, due_from, due_to, limit, after):
    """List waiting timers, soonest first, with their due times in Beijing time; then the timer start
    events of the deployed versions (on the first page)."""
    found = lists.timers(services(), SYSTEM, lists.ListFilter(process=process, day_from=_day(due_from),
                                                              day_to=_day(due_to), after=after, limit=limit))
    for t in found.items:
        click.echo(f"#{t.instance_id:<5} {t.name:16} due {_beijing(t.due_at)}")
    if not after:
        for s in services().queries.schedules():
            if process is None or process in (s.process_id, s.name):
                click.echo(f"start {s.process_id} {s.name:16} due {_beijing(s.due_at)}  started={s.started}")
    _footer(found)


@click.command("messages")
@click.option("--expired", is_flag=True, help="List the messages whose time-to-live passed instead.")
@with_appcontext
def messages_command(expired):
    """List kept messages (no instance took them in yet) with when they expire, in Beijing time."""
    for m in services().queries.messages(state="expired" if expired else "kept", limit=500):
        click.echo(f"{m.id:<5} {m.name:24} {m.business_key:18} received {_beijing(m.received_at)}  "
                   f"{'expired' if expired else 'expires'} {_beijing(m.expired_at if expired else m.expires_at)}")


@click.command("incidents")
@click.option("--retry", "retry_id", type=int, help="Retry this incident now.")
@click.option("--status", type=click.Choice(["open", "failed", "resolved", "all"]), help="Default: unresolved.")
@click.option("--process", help="Process id or name.")
@_paging
@with_appcontext
def incidents_command(retry_id, status, process, limit, after):
    """List incidents (unresolved ones unless --status says otherwise), or retry one."""
    if retry_id:
        click.echo(f"retried {_engine().retry_incidents(incident_id=retry_id, actor='cli')}")
        return
    found = lists.incidents(services(), SYSTEM, lists.ListFilter(process=process, status=status, after=after,
                                                                 limit=limit))
    for i in found.items:
        click.echo(f"{i.id:<4} #{i.instance_id:<5} {i.status:8} {i.task_name:14} attempts={i.attempts} "
                   f"next={_beijing(i.next_retry_at)}  {i.error[:80]}")
    _footer(found)


@click.command("audit")
@click.option("--kind", help="Only this event (e.g. definition_deployed, password_reset, task_completed).")
@click.option("--actor", help="Account id, a person's name, or init / worker / cli.")
@click.option("--from", "day_from", help="From this day (Beijing, YYYY-MM-DD).")
@click.option("--to", "day_to", help="To this day, inclusive.")
@_paging
@with_appcontext
def audit_command(kind, actor, day_from, day_to, limit, after):
    """List the audit trail, newest first: instance events, deploys, password resets, account changes."""
    found = lists.audit(services(), SYSTEM, lists.ListFilter(kind=kind, actor=actor, day_from=_day(day_from),
                                                             day_to=_day(day_to), after=after, limit=limit))
    for e in found.items:
        where = f"#{e.instance_id}" if e.instance_id else "-"
        click.echo(f"{_beijing(e.at)}  {e.kind:22} {found.labels.person(e.actor):10} {where:7} "
                   f"{found.labels.audit_kind(e.kind)}")
    _footer(found)


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
@click.option("--metrics-port", type=click.IntRange(min=1, max=65535),
              help="Serve this worker's own Prometheus metrics (step latency, timer lag, swept counts) on this port.")
@click.option("--metrics-host", default="127.0.0.1", show_default=True, help="Address for --metrics-port.")
@with_appcontext
def worker_command(once, limit, interval, metrics_port, metrics_host):
    """Fire due timers, deliver kept messages, retry incidents, deliver outbound events (webhooks, SMS);
    sweep again at once while work is due.

    Run as many workers as you like: they split the work (FOR UPDATE SKIP LOCKED on PostgreSQL), each
    timer fires exactly once and each event goes to each subscriber once. Each keeps a heartbeat row
    (host:pid) that /readyz and /metrics read.
    """
    interval = interval or current_app.config["WORKER_INTERVAL_SECONDS"]
    stop = {"now": False}
    worker_id = default_worker_id()

    def _stop(*_):
        stop["now"] = True

    def _after_sweep(done: dict[str, int]) -> None:
        services().end_session()  # a sweep's reads must not pin a snapshot into the next one

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, metrics_host, registry=metrics.registry())
    log.info("worker started", extra={"worker": worker_id, "once": once, "interval": interval,
                                      "metrics_port": metrics_port})
    started = time.monotonic()
    total = worker.run(_engine(), once=once, interval=interval, limit=limit if once else None,
                       stop=lambda: stop["now"], after_sweep=_after_sweep, worker_id=worker_id)
    log.info("worker stopped", extra={"worker": worker_id, **total,
                                      "seconds": round(time.monotonic() - started, 2)})


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


@click.group("instance")
def instance_group():
    """Administrator operations on one process instance (each one transaction, audited as "cli")."""


@instance_group.command("cancel")
@click.argument("instance_id", type=int)
@click.option("--reason", required=True, help="Why (recorded in the audit).")
@with_appcontext
def instance_cancel(instance_id, reason):
    """End an instance: its open tasks and waiting timers are cancelled, its unfiled contract is deleted and a
    cancellation's hold on a filed contract is let go."""
    click.echo(f"#{instance_id} {ops.cancel(services(), SYSTEM, instance_id, reason)}")


@instance_group.command("suspend")
@click.argument("instance_id", type=int)
@click.option("--reason", default="", help="Why (recorded in the audit).")
@with_appcontext
def instance_suspend(instance_id, reason):
    """Hold an instance: timers wait, messages are kept, tasks cannot be completed."""
    ops.suspend(services(), SYSTEM, instance_id, reason)
    click.echo(f"#{instance_id} suspended")


@instance_group.command("resume")
@click.argument("instance_id", type=int)
@with_appcontext
def instance_resume(instance_id):
    """Let a suspended instance go on; timers due meanwhile fire now, once."""
    click.echo(f"#{instance_id} {ops.resume(services(), SYSTEM, instance_id)}")


@instance_group.command("reset")
@click.argument("instance_id", type=int)
@click.argument("task_id", required=False)
@click.option("--reason", default="")
@with_appcontext
def instance_reset(instance_id, task_id, reason):
    """Go back to a completed task (without TASK_ID: list the tasks it can go back to)."""
    if not task_id:
        for point in ops.reset_points(services(), SYSTEM, instance_id):
            click.echo(f"{point['task_id']}  {point['bpmn_id']:28} {point['name']}")
        return
    open_now = ops.reset(services(), SYSTEM, instance_id, task_id, reason)
    click.echo(f"#{instance_id} reset; open: {'、'.join(open_now) or '-'}")


@click.command("migrate")
@click.argument("process_id")
@click.option("--to", "to_definition_id", type=int, help="Target definition id (default: the newest version).")
@click.option("--dry-run", is_flag=True, help="Only report what would happen (changes nothing).")
@click.option("--instance", "instance_ids", type=int, multiple=True, help="Only these instances (repeatable).")
@click.option("--prefix", help="Only instances whose business key starts with this.")
@click.option("--revert", "snapshot_id", type=int, help="Put back the instance of this pre-migration snapshot.")
@with_appcontext
def migrate_command(process_id, to_definition_id, dry_run, instance_ids, prefix, snapshot_id):
    """Move running instances of PROCESS_ID to another version: --dry-run first, then migrate, --revert N."""
    if snapshot_id:
        click.echo(f"#{ops.revert(services(), SYSTEM, snapshot_id)} reverted (snapshot {snapshot_id})")
        return
    if dry_run:
        report = ops.migration_report(services(), SYSTEM, process_id, to_definition_id)
        for plan in report.plans:
            moves = ", ".join(f"{m.name}:{m.from_id}->{m.to_id or 'REMOVED'}" for m in plan.moves)
            verdict = "can move" if plan.can_move else "CANNOT: " + "; ".join(plan.problems)
            click.echo(f"#{plan.instance_id:<5} {plan.business_key or '-':18} v{plan.from_version}->v{plan.to_version}"
                       f"  {verdict}  [{moves}]  reset: {', '.join(plan.reset) or '-'}")
        click.echo(f"{len(report.movable)} of {len(report.plans)} can move to v{report.target.version}")
        return
    outcomes = ops.migrate(services(), SYSTEM, process_id, to_definition_id,
                           instance_ids=list(instance_ids) or None, business_key_prefix=prefix)
    for outcome in outcomes:
        snapshot = f" (snapshot {outcome.snapshot_id})" if outcome.snapshot_id else ""
        click.echo(f"#{outcome.instance_id:<5} {'ok' if outcome.ok else 'FAILED'}  {outcome.message}{snapshot}")
    if not all(o.ok for o in outcomes):
        sys.exit(1)


COMMANDS = [init_command, deploy_command, validate_command, definitions_command, instances_command,
            tasks_command, timers_command, messages_command, incidents_command, audit_command, retention_command,
            worker_command, serve_command, instance_group, migrate_command]
