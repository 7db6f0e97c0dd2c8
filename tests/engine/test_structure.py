"""The structure limits of tools/check_structure.py: the repository keeps them, and each breach is caught."""
from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("check_structure", ROOT / "tools" / "check_structure.py")
check_structure = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_structure)


def test_the_repository_keeps_the_limits():
    assert check_structure.check(ROOT) == []


def test_each_kind_of_breach_is_reported(tmp_path):
    (tmp_path / "engine").mkdir()
    (tmp_path / "migrations").mkdir()
    long_body = "".join(f"    x{i} = {i}\n" for i in range(60))
    (tmp_path / "engine" / "long.py").write_text(f"def long():\n{long_body}", encoding="utf-8")
    (tmp_path / "engine" / "runtime.py").write_text("x = 1\n" * 251, encoding="utf-8")
    (tmp_path / "engine" / "upward.py").write_text("from web.app import create_app\nimport handlers\n",
                                                   encoding="utf-8")
    (tmp_path / "big.py").write_text("x = 1\n" * 451, encoding="utf-8")
    (tmp_path / "migrations" / "generated.py").write_text("x = 1\n" * 900, encoding="utf-8")

    problems = "\n".join(check_structure.check(tmp_path))

    assert "engine/long.py:1: function long has 61 lines" in problems
    assert "engine/runtime.py: 251 lines (the façade has at most 250)" in problems
    assert "engine/upward.py:1: the engine imports web.app" in problems
    assert "engine/upward.py:2: the engine imports handlers" in problems
    assert "big.py: 451 lines" in problems
    assert "migrations" not in problems
