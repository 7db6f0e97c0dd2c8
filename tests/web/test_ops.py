"""/healthz, /readyz and /metrics as a load balancer and Prometheus see them; the request id and the log
lines an operator reads (web/ops.py, web/logs.py)."""
from __future__ import annotations

import io
import os
import json
import logging
from datetime import timedelta

import pytest
from flask_migrate import upgrade

from engine.db import utcnow
from engine.testing import database_url_from_env, throwaway_database
from handlers.adapters.esign import sign
from web import create_app
from web.config import Config, ConfigError, TestConfig, load
from web.extensions import db
from web.logs import JsonFormatter, TextFormatter

from .conftest import login_as


@pytest.fixture
def lines():
    """Every log line of the test, formatted as in production (JSON), parsed back."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logging.getLogger().addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logging.getLogger().removeHandler(handler)


@pytest.fixture(scope="module")
def migrated_app():
    """A database set up by the migrations (readiness compares its Alembic revision with the scripts')."""
    with throwaway_database(database_url_from_env()) as url:
        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, READY_HEARTBEAT_SECONDS=60.0)
        with app.app_context():
            upgrade()
        yield app
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_healthz_answers_without_the_database_and_readyz_says_what_is_missing(tmp_path):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none",
                     VAR_DIR=str(tmp_path))
    client = app.test_client()
    alive = client.get("/healthz")
    assert alive.status_code == 200 and alive.get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 503
    checks = ready.get_json()["checks"]
    assert checks["database"]["ok"] is False and checks["database"]["error"]
    assert ready.get_json()["ready"] is False
    scraped = client.get("/metrics")
    assert scraped.status_code == 200 and b"netsign_database_up 0.0" in scraped.data


def test_readyz_goes_ready_with_a_worker_and_unready_when_its_heartbeat_is_stale(migrated_app):
    client = migrated_app.test_client()
    before = client.get("/readyz")
    assert before.status_code == 503
    assert before.get_json()["checks"]["schema"]["ok"] is True
    assert before.get_json()["checks"]["worker"]["error"] == "没有运行过的 worker"
    done = migrated_app.test_cli_runner().invoke(args=["worker", "--once"], catch_exceptions=False)
    assert done.exit_code == 0
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["ready"] is True
    [beat] = ready.get_json()["checks"]["worker"]["workers"]
    assert beat["stale"] is False and beat["sweeps"] == 1 and ":" in beat["id"]
    import time_machine
    with time_machine.travel(utcnow() + timedelta(seconds=61)):
        stale = client.get("/readyz")
        assert stale.status_code == 503
        assert stale.get_json()["checks"]["worker"]["workers"][0]["stale"] is True
        assert "60 秒内" in stale.get_json()["checks"]["worker"]["error"]
        migrated_app.config["READY_HEARTBEAT_SECONDS"] = 300.0  # NETSIGN_READY_HEARTBEAT_SECONDS
        try:
            assert client.get("/readyz").status_code == 200
        finally:
            migrated_app.config["READY_HEARTBEAT_SECONDS"] = 60.0
    metrics = client.get("/metrics").data.decode()
    assert f'netsign_worker_stale{{worker="{beat["id"]}"}} 0.0' in metrics


def test_readyz_is_unready_on_a_schema_behind_the_migrations(migrated_app):
    from flask_migrate import downgrade
    with migrated_app.app_context():
        downgrade(revision="-1")
    try:
        behind = migrated_app.test_client().get("/readyz")
        schema = behind.get_json()["checks"]["schema"]
        assert behind.status_code == 503 and schema["ok"] is False and schema["current"] != schema["head"]
        assert "netsign db upgrade" in schema["error"]
    finally:
        with migrated_app.app_context():
            upgrade()


def test_the_operations_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert set(paths["/readyz"]["get"]["responses"]) == {"200", "503"}
    assert paths["/healthz"]["get"]["security"] == [] and "text/plain" in paths["/metrics"]["get"]["responses"]["200"]["content"]


def test_metrics_count_inboxes_steps_and_callback_outcomes(app, client, account_id):
    def sample(name: str) -> float:
        for line in client.get("/metrics").data.decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
        return 0.0

    refused = 'netsign_esign_callbacks_total{outcome="refused",reason="signature"}'
    started = 'netsign_step_duration_seconds_count{kind="start"}'
    seller_tasks = 'netsign_inbox_tasks{role="seller"}'
    refused_before, started_before, seller_before = sample(refused), sample(started), sample(seller_tasks)
    seller = app.test_client()
    login_as(seller, account_id("张伟"))
    seller.post("/start/online_signing")
    body = b'{"order_no": "x"}'
    assert client.post("/api/v1/esign/callback", data=body, headers={"X-Signature": sign(body, "wrong")}).status_code == 401
    assert client.post("/api/v1/esign/callback", data=b"[", headers={
        "X-Signature": sign(b"[", "web-test-secret")}).status_code == 400
    assert sample(refused) == refused_before + 1
    assert sample('netsign_esign_callbacks_total{outcome="refused",reason="not_json"}') >= 1
    assert sample(started) == started_before + 1 and sample(seller_tasks) == seller_before + 1
    response = client.get("/metrics")
    assert response.mimetype == "text/plain" and b"netsign_timers_due 0.0" in response.data


def test_every_request_has_an_id_returned_and_logged_with_the_actor(app, client, account_id, lines):
    given = client.get("/healthz", headers={"X-Request-ID": "lb-1234.abc"})
    assert given.headers["X-Request-ID"] == "lb-1234.abc"
    odd = client.get("/healthz", headers={"X-Request-ID": "bad id {with} spaces and <html>" + "x" * 80})
    assert len(odd.headers["X-Request-ID"]) == 32 and " " not in odd.headers["X-Request-ID"]
    login_as(client, account_id("张伟"))
    todo = client.get("/todo")
    [line] = [entry for entry in lines() if entry.get("request_id") == todo.headers["X-Request-ID"]]
    assert line["logger"] == "web.request" and line["path"] == "/todo" and line["status"] == 200
    assert line["actor"] == str(account_id("张伟")) and line["level"] == "info" and line["ts"].endswith("+00:00")


def test_log_lines_carry_the_step_fields_in_json_and_text():
    from engine import logcontext
    record = logging.LogRecord("engine.step", logging.WARNING, __file__, 1, "task %s failed", ("审核",), None)
    record.attempt = 2
    with logcontext.scope(request_id="r-9", business_key="ZS2026000123", instance_id=42, task="审核", actor="7"):
        line = json.loads(JsonFormatter().format(record))
        text = TextFormatter().format(record)
    assert line == {"ts": line["ts"], "level": "warning", "logger": "engine.step", "event": "task 审核 failed",
                    "request_id": "r-9", "business_key": "ZS2026000123", "instance_id": 42, "task": "审核",
                    "actor": "7", "attempt": 2}
    assert "task 审核 failed" in text and "business_key=ZS2026000123" in text and "instance_id=42" in text


def test_log_format_is_json_in_production_and_checked(tmp_path):
    production = {"NETSIGN_ENV": "production", "SECRET_KEY": "k", "ESIGN_CALLBACK_SECRET": "e",
                  "NETSIGN_SANDBOXES": "all", "NETSIGN_VAR_DIR": str(tmp_path)}
    assert load(Config, {}, production)["LOG_FORMAT"] == "json"
    assert load(Config, {}, {"NETSIGN_VAR_DIR": str(tmp_path)})["LOG_FORMAT"] == "text"
    assert load(Config, {}, {**production, "NETSIGN_LOG_FORMAT": "text"})["LOG_FORMAT"] == "text"
    with pytest.raises(ConfigError, match="NETSIGN_LOG_FORMAT"):
        load(Config, {}, {"NETSIGN_VAR_DIR": str(tmp_path), "NETSIGN_LOG_FORMAT": "xml"})


def test_the_worker_command_logs_events_with_its_worker_id(migrated_app, lines):
    done = migrated_app.test_cli_runner().invoke(args=["worker", "--once"], catch_exceptions=False)
    assert done.exit_code == 0 and done.output == ""  # events go to the log, nothing is printed
    events = {entry["event"]: entry for entry in lines() if entry["logger"] == "web.cli"}
    assert set(events) == {"worker started", "worker stopped"}
    stopped = events["worker stopped"]
    assert stopped["worker"] == events["worker started"]["worker"] and stopped["timers"] == 0
    assert stopped["worker"].endswith(f":{os.getpid()}")
