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
