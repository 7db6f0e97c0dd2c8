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
    [task_line] = run(cli_app, "tasks").output.splitlines()
    assert task_line.startswith(started.ready_tasks[0]["id"]) and "选择业务类型" in task_line and "seller" in task_line
    assert run(cli_app, "tasks", "--role", "clerk").output == ""
    [instance_line] = run(cli_app, "instances", "--status", "running").output.splitlines()
    assert instance_line.startswith(f"#{started.instance_id}") and "online_signing" in instance_line
    assert run(cli_app, "instances", "--status", "completed").output == ""
    assert run(cli_app, "timers").output == "" and run(cli_app, "incidents").output == ""
    assert run(cli_app, "incidents", "--retry", "999").output == "retried 0\n"


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
