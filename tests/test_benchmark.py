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


def test_migration_benchmark_migrates_and_reverts_and_prints_its_result_line():
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "migration.py"), "-n", "3"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"RESULT dry_run_per_step=\d+\.\d\d migrate_per_step=\d+\.\d\d revert_per_step=\d+\.\d\d",
                        last), last


def test_scale_benchmark_builds_both_databases_and_prints_its_result_line():
    """bench/scale.py with a tiny N: the clones are instances the engine steps (the drain fires the passed
    deadlines of cloned instances and deletes their contracts, which the script checks), every page
    answers 200, and the last line carries the four numbers.  On PostgreSQL when DATABASE_URL says so."""
    command = [sys.executable, str(ROOT / "bench" / "scale.py"), "--n", "60", "--small", "20", "--rounds", "2",
               "--walks", "1", "--drain", "3", "--loop-rounds", "2"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert re.fullmatch(r"built 20: 2[0-9] instances, \d+ audit rows in \d+ s", lines[0]), lines[0]
    assert any(line.startswith("timer drain at 60: 4 deadlines fired") for line in lines), done.stdout
    match = re.fullmatch(r"RESULT page_ratio_max=(\d+\.\d\d) step_ratio=(\d+\.\d\d) loop_ratio=(\d+\.\d\d) "
                         r"drain_per_s=(\d+\.\d)", lines[-1])
    assert match, lines[-1]
    assert all(float(value) > 0 for value in match.groups())


def test_admin_lists_benchmark_runs_and_prints_its_result_line():
    command = [sys.executable, str(ROOT / "bench" / "admin_lists.py"), "--small", "50", "--large", "400",
               "--repeat", "1", "--postgres", ""]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "audit by kind" in done.stdout and "old admin home (count all)" in done.stdout
    last = done.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"RESULT list_ratio_max=\d+\.\d\d home_ratio=\d+\.\d\d old_home_ratio=\d+\.\d\d", last), last
