"""Issue #14's must-show, as an operator watches it: two `netsign worker` processes and a web process on
PostgreSQL; /metrics shows the due backlog falling to zero (each timer fired once between the workers),
/readyz is ready while they beat and goes 503 once their heartbeats are stale after they stop.

PostgreSQL only (several worker processes on one SQLite file take turns at its one write lock, which says
nothing about splitting the work): it runs in the PostgreSQL pass of `make test`."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from flask_migrate import upgrade

from engine.db import utcnow
from engine.testing import database_url_from_env, throwaway_database
from web import create_app
from web.config import TestConfig
from web.extensions import db

ROOT = Path(__file__).resolve().parents[2]
BACKLOG = 40
STALE_AFTER = 2.0  # NETSIGN_READY_HEARTBEAT_SECONDS for this test: stale soon after the workers stop

pytestmark = pytest.mark.skipif(not (database_url_from_env() or "").startswith("postgresql"),
                                reason="several worker processes on one database: the PostgreSQL pass")

WAIT_AN_HOUR = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" targetNamespace="http://bpmn.io/schema/bpmn" id="D_ops">
  <bpmn:process id="ops_wait_an_hour" name="等待一小时" isExecutable="true">
    <bpmn:startEvent id="S"/>
    <bpmn:intermediateCatchEvent id="Wait" name="一小时后"><bpmn:timerEventDefinition id="TD_wait">
      <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT1H"</bpmn:timeDuration>
    </bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="E" name="完成"/>
    <bpmn:sequenceFlow id="f1" sourceRef="S" targetRef="Wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Wait" targetRef="E"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
    except OSError:
        return 0, b""


def _samples(text: str, name: str) -> dict[str, float]:
    """{labels: value} of one metric in the Prometheus text format."""
    found = {}
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}(\{{.*\}})? (\S+)", line)
        if match:
            found[match.group(1) or ""] = float(match.group(2))
    return found


def _until(predicate, seconds: float, every: float = 0.2):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(every)
    return predicate()


@pytest.fixture
def due_backlog(tmp_path):
    """A migrated throwaway database with BACKLOG instances whose one-hour timer was due an hour ago."""
    with throwaway_database(database_url_from_env()) as url:
        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, VAR_DIR=str(tmp_path / "var"))
        with app.app_context():
            upgrade()
            engine = app.extensions["netsign_engine"]
            engine.deploy({"ops_wait_an_hour.bpmn": WAIT_AN_HOUR})
            with time_machine.travel(utcnow() - timedelta(hours=2), tick=True):
                for _ in range(BACKLOG):
                    engine.start("ops_wait_an_hour", "ops-test")
            db.session.remove()
            db.engine.dispose()
        yield url


def test_two_workers_drain_the_backlog_and_readyz_goes_unready_when_they_stop(due_backlog, tmp_path):
    port = _free_port()
    env = dict(os.environ, DATABASE_URL=due_backlog, NETSIGN_VAR_DIR=str(tmp_path / "var"),
               NETSIGN_WORKER_INTERVAL="0.3", NETSIGN_READY_HEARTBEAT_SECONDS=str(STALE_AFTER),
               NETSIGN_LOG_FORMAT="json", PYTHONUNBUFFERED="1")
    netsign = [sys.executable, "-m", "web.entry"]
    web = subprocess.Popen([*netsign, "serve", "--port", str(port), "--workers", "0"], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[subprocess.Popen] = []
    try:
        assert _until(lambda: _get(port, "/healthz")[0] == 200, 30), "the web process did not come up"
        metrics = _get(port, "/metrics")[1].decode()
        assert _samples(metrics, "netsign_timers_due") == {"": BACKLOG}
        status, body = _get(port, "/readyz")
        assert status == 503 and json.loads(body)["checks"]["worker"]["error"] == "没有运行过的 worker"

        logs = [tmp_path / f"worker-{n}.log" for n in range(2)]  # files, not pipes: a full pipe would block
        worker_port = _free_port()  # the first worker serves its own metrics (timer lag, step latency)
        for n, log in enumerate(logs):
            with log.open("w") as stderr:
                extra = ["--metrics-port", str(worker_port)] if n == 0 else []
                workers.append(subprocess.Popen([*netsign, "worker", *extra], cwd=ROOT, env=env,
                                                stdout=subprocess.DEVNULL, stderr=stderr))
        seen = []

        def drained():
            seen.append(_samples(_get(port, "/metrics")[1].decode(), "netsign_timers_due").get(""))
            return seen[-1] == 0
        assert _until(drained, 30), f"backlog seen: {seen}"
        # Both workers beat; between them they fired every timer exactly once.
        text, swept = _until(lambda: _both_beat_with_every_timer(port), 10) or ("", {})
        assert sum(v for k, v in swept.items() if 'kind="timers"' in k) == BACKLOG
        assert set(_samples(text, "netsign_worker_stale").values()) == {0.0}
        status, body = _get(port, "/readyz")
        assert status == 200 and json.loads(body)["checks"]["worker"]["fresh"] == 2
        _check_the_workers_own_metrics(worker_port, workers[0].pid, swept)

        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=20)
        assert [worker.returncode for worker in workers] == [0, 0]

        status, body = _until(lambda: (lambda got: got if got[0] == 503 else None)(_get(port, "/readyz")),
                              STALE_AFTER + 10)
        check = json.loads(body)["checks"]["worker"]
        assert status == 503 and check["fresh"] == 0 and [w["stale"] for w in check["workers"]] == [True, True]
        stale = _samples(_get(port, "/metrics")[1].decode(), "netsign_worker_stale")
        assert set(stale.values()) == {1.0}  # stopped workers are shown as stale, not removed

        _check_the_worker_logs(logs)
    finally:
        for process in (*workers, web):
            if process.poll() is None:
                process.kill()
                process.wait()


def _both_beat_with_every_timer(port: int) -> tuple[str, dict[str, float]] | None:
    """/metrics once both workers' heartbeats count the whole backlog (a sweep's beat is written when the
    whole sweep ends, a moment after its last timer), with the per-worker counts."""
    text = _get(port, "/metrics")[1].decode()
    swept = _samples(text, "netsign_worker_heartbeat_swept_total")
    fired = sum(v for k, v in swept.items() if 'kind="timers"' in k)
    return (text, swept) if len(_samples(text, "netsign_worker_stale")) == 2 and fired >= BACKLOG else None


def _check_the_workers_own_metrics(port: int, pid: int, swept: dict[str, float]) -> None:
    """``netsign worker --metrics-port``: the histograms of what this one worker did."""
    own = _get(port, "/metrics")[1].decode()
    [fired] = [int(v) for k, v in swept.items() if 'kind="timers"' in k and f':{pid}"' in k]
    assert _samples(own, "netsign_timer_lag_seconds_count") == {"": fired}
    # Due an hour before the workers started: every lag is over 30 minutes, under a day.
    lag = _samples(own, "netsign_timer_lag_seconds_bucket")
    assert lag['{le="1800.0"}'] == 0 and lag['{le="86400.0"}'] == fired
    assert _samples(own, "netsign_step_duration_seconds_count").get('{kind="timer"}', 0) == fired


def _check_the_worker_logs(logs: list[Path]) -> None:
    """The workers' logs are JSON lines, each with its worker id; the sweeps say what they fired."""
    events = [json.loads(line) for log in logs for line in log.read_text().splitlines() if line.strip()]
    fired = sum(e.get("timers", 0) for e in events if e["event"] == "worker swept")
    assert fired == BACKLOG and all("worker" in e for e in events if e["logger"] == "engine.worker")
    assert {e["event"] for e in events} >= {"worker started", "worker swept", "worker stopped"}
