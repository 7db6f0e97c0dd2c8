"""Structure limits `make test` enforces: module and function sizes, the thin engine façade, the engine's imports.

Run from the repository root: ``python tools/check_structure.py``; prints every
breach and exits 1 if there is one.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60
MAX_FACADE_LINES = 250
FACADE = Path("engine/runtime.py")
# Folders that hold no project code of ours (or, for migrations/, generated code).
SKIPPED = {"migrations", "node_modules", "artifacts", "build", "dist"}
FORBIDDEN_IN_ENGINE = ("handlers", "web")


def python_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py")
                  if not any(part in SKIPPED or part.startswith(".") for part in p.relative_to(root).parts))


def _imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def check_file(path: Path, relative: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    problems = []
    if lines > MAX_MODULE_LINES:
        problems.append(f"{relative}: {lines} lines (at most {MAX_MODULE_LINES}): split it by concern")
    if relative == FACADE and lines > MAX_FACADE_LINES:
        problems.append(f"{relative}: {lines} lines (the façade has at most {MAX_FACADE_LINES})")
    tree = ast.parse(text, filename=str(relative))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            length = (node.end_lineno or node.lineno) - start + 1
            if length > MAX_FUNCTION_LINES:
                problems.append(f"{relative}:{node.lineno}: function {node.name} has {length} lines "
                                f"(at most {MAX_FUNCTION_LINES})")
    if relative.parts[0] == "engine":
        for lineno, module in _imported_modules(tree):
            if module.split(".")[0] in FORBIDDEN_IN_ENGINE:
                problems.append(f"{relative}:{lineno}: the engine imports {module}; it must not know "
                                f"{' or '.join(FORBIDDEN_IN_ENGINE)}")
    return problems


def check(root: Path = ROOT) -> list[str]:
    problems = []
    for path in python_files(root):
        problems += check_file(path, path.relative_to(root))
    return problems


def main() -> int:
    problems = check()
    for problem in problems:
        print(problem)
    print(f"structure: {len(problems)} problem(s)" if problems else "structure: ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
