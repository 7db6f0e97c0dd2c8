"""Task data must keep string keys: the stored state is JSON, and JSON turns ``{1: "a"}`` into ``{"1": "a"}``.

SpiffWorkflow in memory keeps an integer key as it is; after a reload the same
lookup would fail (``by_floor[2]`` finds only ``"2"``).  So deploy refuses a
script whose dict literal has a non-string key, and a script that builds such
a dict any other way fails at that task (an incident naming it), before the
state could be stored differently from what the script made.
"""
from __future__ import annotations

import ast

HINT = "流程数据以 JSON 保存，字典的键只能是字符串；请改用字符串键，例如 {\"1\": ...} 或 str(键)"


def literal_non_string_keys(source: str) -> list[str]:
    """The non-string constant keys of the dict literals in ``source`` (empty when none, or unparsable)."""
    try:
        tree = ast.parse(source.strip(), mode="exec")
    except SyntaxError:
        return []  # the expression check reports syntax errors
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            found += [repr(k.value) for k in node.keys
                      if isinstance(k, ast.Constant) and not isinstance(k.value, str)]
    return found


def non_string_key_path(value, path: str = "") -> str | None:
    """Where in ``value`` a dict has a key that is not a string (``None`` when nowhere)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path}[{key!r}]"
            found = non_string_key_path(item, f"{path}[{key!r}]" if path else key)
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = non_string_key_path(item, f"{path}[{index}]")
            if found:
                return found
    return None
