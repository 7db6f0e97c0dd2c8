"""The netsign command as an operator uses it: init, list, validate, deploy, worker."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.testing import database_url_from_env, throwaway_database
from web import create_app
from web.config import TestConfig
from web.extensions import db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cli_app():
    with throwaway_database(database_url_from_env()) as url:
        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def run(app, *args):
    result = app.test_cli_runner().invoke(args=list(args), catch_exceptions=False)
    return result


def test_init_lists_and_worker(cli_app):
    result = run(cli_app, "init", "--demo")
    assert result.exit_code == 0, result.output
    assert "deployed online_signing v1 (new version)" in result.output and "demo data ready" in result.output
    again = run(cli_app, "init", "--demo")
    assert "deployed online_signing v1 (unchanged)" in again.output
    definitions = run(cli_app, "definitions").output
    assert "online_signing" in definitions and "签订买卖合同线上" in definitions
    assert run(cli_app, "tasks").output == "" and run(cli_app, "instances").output == ""
    worker = run(cli_app, "worker", "--once")
    assert worker.exit_code == 0 and worker.output == ""  # nothing due: a quiet sweep
    with cli_app.app_context():
        started = cli_app.extensions["netsign"].engine.start("online_signing", "7")
        db.session.remove()
    [task_line] = run(cli_app, "tasks").stdout.splitlines()
    assert task_line.startswith(started.ready_tasks[0]["id"]) and "选择业务类型" in task_line and "seller" in task_line
    assert run(cli_app, "tasks", "--role", "clerk").output == ""
    [instance_line] = run(cli_app, "instances", "--status", "running").stdout.splitlines()
    assert instance_line.startswith(f"#{started.instance_id}") and "online_signing" in instance_line
    assert run(cli_app, "instances", "--status", "completed").output == ""
    assert run(cli_app, "timers").output == "" and run(cli_app, "incidents").output == ""
    assert run(cli_app, "incidents", "--retry", "999").output == "retried 0\n"
    assert run(cli_app, "messages").output == ""
    with cli_app.app_context():
        cli_app.extensions["netsign"].engine.deliver_message("esign_party_signed", "ZS-NOBODY", {}, "cli-kept-1")
        db.session.remove()
    [kept] = run(cli_app, "messages").output.splitlines()
    assert "esign_party_signed" in kept and "ZS-NOBODY" in kept and "expires" in kept
    assert run(cli_app, "messages", "--expired").output == ""


def test_list_commands_page_with_limit_and_after(cli_app):
    run(cli_app, "init", "--demo")
    before = [line.split()[0] for line in run(cli_app, "instances", "--limit", "500").stdout.splitlines()]
    with cli_app.app_context():
        started = [cli_app.extensions["netsign"].engine.start("online_signing", "7").instance_id for _ in range(3)]
        db.session.remove()
    first = run(cli_app, "instances", "--process", "签订买卖合同线上", "--limit", "2")
    lines = first.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [f"#{i}" for i in sorted(started, reverse=True)[:2]]
    assert f"{len(before) + 3} in all" in first.stderr
    cursor = first.stderr.split("--after ")[1].split()[0]
    rest = run(cli_app, "instances", "--process", "online_signing", "--limit", "2", "--after", cursor)
    assert [line.split()[0] for line in rest.stdout.splitlines()] == [f"#{min(started)}", *before]
    assert len(before) <= 1  # the module's first test started one: the second page is the last
    assert "--after" not in rest.stderr  # the last page says nothing about a next one
    audit = run(cli_app, "audit", "--kind", "definition_deployed", "--actor", "系统初始化", "--limit", "1")
    assert "definition_deployed" in audit.stdout and "系统初始化" in audit.stdout and "--after" in audit.stderr
    assert run(cli_app, "tasks", "--limit", "0").exit_code == 2


def test_validate_reports_problems_with_element_names(cli_app, tmp_path):
    bad = (ROOT / "processes" / "online_signing.bpmn").read_text(encoding="utf-8").replace(
        'serviceTaskOperator id="file_contract"', 'serviceTaskOperator id="file_contract_v2"')
    path = tmp_path / "online_signing.bpmn"
    path.write_text(bad, encoding="utf-8")
    result = run(cli_app, "validate", str(path), str(ROOT / "processes" / "contract_drafting.bpmn"),
                 str(ROOT / "processes" / "property_verification.bpmn"))
    assert result.exit_code == 1
    assert "「备案合同」" in result.output and "file_contract_v2" in result.output
    assert result.output.strip().endswith("problem(s)")
    ok = run(cli_app, "validate")
    assert ok.exit_code == 0 and ok.output.strip().endswith("OK")
    assert "process online_signing「签订买卖合同线上」" in ok.output


def test_deploy_says_what_it_did(cli_app, tmp_path):
    run(cli_app, "init", "--no-demo")
    again = run(cli_app, "deploy")
    assert again.exit_code == 0 and "online_signing v1 unchanged" in again.output
    renamed = (ROOT / "processes" / "contract_drafting.bpmn").read_text(encoding="utf-8").replace(
        'name="确认注意事项"', 'name="阅读并确认注意事项"')
    (tmp_path / "contract_drafting.bpmn").write_text(renamed, encoding="utf-8")
    changed = run(cli_app, "deploy", str(tmp_path / "contract_drafting.bpmn"), "--actor", "tester")
    assert changed.exit_code == 0 and "contract_drafting v2 deployed" in changed.output


def test_instance_operations_and_migration_from_the_command_line(cli_app, tmp_path):
    run(cli_app, "init", "--no-demo")
    with cli_app.app_context():
        started = cli_app.extensions["netsign"].engine.start("online_signing", "7")
        db.session.remove()
    number = str(started.instance_id)
    assert run(cli_app, "instance", "suspend", number, "--reason", "核查").output == f"#{number} suspended\n"
    assert f"#{started.instance_id}" in run(cli_app, "instances", "--status", "suspended").output
    assert run(cli_app, "instance", "resume", number).output == f"#{number} running\n"
    text = (ROOT / "processes" / "online_signing.bpmn").read_text(encoding="utf-8").replace(
        '>end_of_next_natural_day(contract["created_at"])</bpmn:timeDate>',
        '>end_of_natural_day(contract["created_at"], days=2)</bpmn:timeDate>')
    for path in (ROOT / "processes").iterdir():
        if path.suffix in (".bpmn", ".dmn"):
            (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "online_signing.bpmn").write_text(text, encoding="utf-8")
    assert "online_signing v2 deployed" in run(cli_app, "deploy", str(tmp_path)).output
    report = run(cli_app, "migrate", "online_signing", "--dry-run").output
    assert f"#{number}" in report and "v1->v2  can move" in report and "选择业务类型" in report
    moved = run(cli_app, "migrate", "online_signing", "--instance", number)
    assert moved.exit_code == 0 and "ok  已从版本 1 迁移到版本 2" in moved.output, moved.output
    snapshot = moved.output.split("(snapshot ")[1].split(")")[0]
    assert f"#{number} reverted" in run(cli_app, "migrate", "online_signing", "--revert", snapshot).output
    cancelled = run(cli_app, "instance", "cancel", number, "--reason", "测试")
    assert cancelled.output == f"#{number} cancelled\n"
    again = run(cli_app, "migrate", "online_signing", "--instance", number)
    assert again.exit_code == 1 and "FAILED" in again.output and "已取消" in again.output


def test_retention_dry_run_then_apply(cli_app):
    assert run(cli_app, "init").exit_code == 0
    refused = cli_app.test_cli_runner().invoke(args=["retention"])
    assert refused.exit_code == 2 and "NETSIGN_RETENTION_DAYS" in refused.output
    with cli_app.app_context():
        engine = cli_app.extensions["netsign"].engine
        refused_case = engine.start("online_signing", "7")
        engine.complete_task(refused_case.ready_tasks[0]["id"], {"business_type": "房屋赠与"}, "7")
        db.session.remove()
    dry = run(cli_app, "retention", "--days", "0")
    assert dry.exit_code == 0 and dry.output.startswith("would archive 1 instances finished before ")
    applied = run(cli_app, "retention", "--days", "0", "--apply", "--batch", "1")
    assert applied.output.startswith("archived 1 instances") and "in 1 batches" in applied.output
    assert run(cli_app, "retention", "--days", "0").output.startswith("would archive 0 instances")
    [line] = [line for line in run(cli_app, "instances", "--status", "completed").output.splitlines()
              if line.startswith(f"#{refused_case.instance_id}")]
    assert "不予受理" in line  # the row and its outcome stay
