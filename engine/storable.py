"""Task data must come back from the stored JSON state as the script left it.

SpiffWorkflow in memory keeps whatever a script makes; the engine stores the
state as JSON after every step, and JSON turns ``{1: "a"}`` into ``{"1": "a"}``,
a tuple or set into a list, and cannot hold a ``date`` at all.  After a reload
``by_floor[2]`` would fail, or the step would fail to store with nothing kept.
So deploy refuses a script whose dict literal has a non-string key, and a
script that makes any such value another way fails at its task (an incident
naming the task and the variable), before the state could differ from what the
script made.
"""
from __future__ import annotations

import ast
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

KEYS_HINT = "流程数据以 JSON 保存，字典的键只能是字符串；请改用字符串键，例如 {\"1\": ...} 或 str(键)"
# Besides JSON's own types, what the state serializer restores as it was (see engine.serialization).
_LEAVES = (str, int, float, bool, type(None), Decimal, datetime, timedelta, UUID)


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


def unstorable(value: Any, path: str = "") -> str | None:
    """Where and why ``value`` would not come back from the stored state as it is (None: it would)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path}[{key!r}] 使用了非字符串键；{KEYS_HINT}"
            found = unstorable(item, f"{path}[{key!r}]" if path else key)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = unstorable(item, f"{path}[{index}]")
            if found:
                return found
    elif isinstance(value, (tuple, set, frozenset)):
        return f"{path} 是{type(value).__name__}，保存后会变成列表；请改用列表（list）"
    elif not isinstance(value, _LEAVES):
        return f"{path} 的类型 {type(value).__name__} 无法保存在流程数据中；请改存字符串（如 isoformat()）或数字"
    return None
