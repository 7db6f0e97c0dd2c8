"""The throughput benchmark still runs the online-signing happy path to 「已签约」 on both databases."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from engine.testing import database_url_from_env

ROOT = Path(__file__).resolve().parent.parent


def test_benchmark_walks_the_happy_path_and_prints_its_result_line():
    command = [sys.executable, str(ROOT / "bench" / "engine_throughput.py"), "-n", "2", "--rounds", "1"]
    url = database_url_from_env()
    on_postgres = bool(url and url.startswith("postgresql"))  # only in the PostgreSQL run of the suite
    command += ["--postgres", url if on_postgres else ""]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    match = re.fullmatch(r"RESULT sqlite_ratio=(\d+\.\d{3}) postgres_ratio=(\d+\.\d{3}|skipped)", last)
    assert match, last
    assert float(match.group(1)) > 0
    assert (match.group(2) != "skipped") == on_postgres


def test_admin_lists_benchmark_runs_and_prints_its_result_line():
    command = [sys.executable, str(ROOT / "bench" / "admin_lists.py"), "--small", "50", "--large", "400",
               "--repeat", "1", "--postgres", ""]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "audit by kind" in done.stdout and "old admin home (count all)" in done.stdout
    last = done.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"RESULT list_ratio_max=\d+\.\d\d home_ratio=\d+\.\d\d old_home_ratio=\d+\.\d\d", last), last
