"""``netsign serve`` as an operator runs it: a real process on a free port; SIGTERM and SIGINT stop the web
server and every worker child; a busy port is one line and a non-zero exit."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _env(tmp_path) -> dict:
    env = dict(os.environ, NETSIGN_VAR_DIR=str(tmp_path), NETSIGN_WORKER_INTERVAL="0.5", PYTHONUNBUFFERED="1")
    env.pop("DATABASE_URL", None)  # its own SQLite file: the workers must not sweep the tests' database
    return env


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _wait(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/app.css", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads child processes from /proc (Linux)")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_server_and_every_worker(tmp_path, signum):
    port = _free_port()
    serve = subprocess.Popen([sys.executable, "-m", "web.entry", "serve", "--port", str(port), "--workers", "2"],
                             cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    try:
        assert _wait(lambda: _answers(port) and len(_children(serve.pid)) == 2, 60)
        workers = _children(serve.pid)
        time.sleep(2)  # let the workers get past their start-up, into their sweep loop
        serve.send_signal(signum)
        serve.wait(timeout=30)
        assert not any(_alive(w) for w in workers)
        assert not _answers(port)
        output = serve.stdout.read()
        assert "stopping the web server and 2 worker(s)" in output and "Traceback" not in output
    finally:
        if serve.poll() is None:
            serve.kill()


def test_a_busy_port_is_one_line_and_a_non_zero_exit(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "web.entry", "serve", "--port", str(port), "--workers", "1"],
                              cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    said = [line for line in done.stderr.splitlines() if "已生成本机密钥" not in line]  # first start's notice
    assert len(said) == 1 and "Traceback" not in done.stderr
    assert f"无法监听 127.0.0.1:{port}" in said[0] and "cannot listen" in said[0]
    assert "netsign on" not in done.stdout  # no worker was started
