"""Render a user task's form from its marshmallow schema, and read the posted form back into data.

The schema is the one the engine validates with, so the page, the API and the
validation can never disagree about which fields exist.  Nested lists (the
buyers) post as ``buyers-0-name``; checkboxes post "on".
"""
from __future__ import annotations

from dataclasses import dataclass, field

from marshmallow import fields as mf
from marshmallow.utils import missing

from .i18n import current_language, translate_message


@dataclass
class FieldView:
    name: str
    label: str
    kind: str  # text | textarea | number | date | select | checkbox | rows | uploads
    required: bool
    value: object = None
    choices: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    rows: list = field(default_factory=list)  # for kind == "rows": list of list[FieldView]
    row_template: list = field(default_factory=list)
    readonly: bool = False  # preset by the system (e.g. the signed-in owner's name), shown but not changed


def _kind(f: mf.Field) -> str:
    if f.metadata.get("widget"):
        return f.metadata["widget"]
    if f.metadata.get("choices"):
        return "select"
    if isinstance(f, mf.Boolean):
        return "checkbox"
    if isinstance(f, (mf.Decimal, mf.Integer, mf.Float)):
        return "number"
    if isinstance(f, mf.Date):
        return "date"
    if isinstance(f, mf.List):
        return "rows"
    if isinstance(f, mf.String) and any((getattr(v, "max", 0) or 0) > 300 for v in f.validators):
        return "textarea"
    return "text"


def describe(schema_cls, values: dict | None = None, errors: dict | None = None, prefix: str = "") -> list[FieldView]:
    values, errors = values or {}, errors or {}
    views = []
    for name, f in schema_cls().fields.items():
        kind = _kind(f)
        value = values.get(name)
        if value is None and f.load_default is not missing and not callable(f.load_default):
            value = f.load_default  # e.g. 证件类型 starts at 居民身份证
        view = FieldView(prefix + name, f.metadata.get("label", name), kind, f.required, value,
                         f.metadata.get("choices", []), messages(errors.get(name)))
        if kind == "rows":
            nested = f.inner.nested
            rows = values.get(name) or [{}]
            found = errors.get(name)
            row_errors: dict = found if isinstance(found, dict) else {}
            view.errors = messages(found) if isinstance(found, list) else []
            view.rows = [describe(nested, row, row_errors.get(i, {}), f"{name}-{i}-") for i, row in enumerate(rows)]
            view.row_template = describe(nested, {}, {}, f"{name}-__i__-")
        views.append(view)
    return views


def messages(value) -> list:
    """The field's messages as the reader's language shows them (the handlers build them in Chinese from
    marked templates; web.i18n.translate_message finds the template back). Chinese pages: unchanged."""
    if value is None:
        return []
    if isinstance(value, dict):
        colon, semicolon = ("：", "；") if current_language() == "zh" else (": ", "; ")
        return [f"{translate_message(k)}{colon}{semicolon.join(messages(v))}" for k, v in value.items()]
    return [translate_message(str(v)) for v in value] if isinstance(value, list) else [translate_message(str(value))]


def parse(schema_cls, form, prefix: str = "") -> dict:
    """Posted form → the dict the schema loads.

    An empty optional field becomes None when the schema allows it, and is left
    out otherwise, so the schema's default applies; an empty required field is left
    out, so its message is 「…为必填项」, never 「格式不正确」.
    """
    data: dict = {}
    for name, f in schema_cls().fields.items():
        key, kind = prefix + name, _kind(f)
        if kind == "rows":
            indices = sorted({int(k.split("-")[1]) for k in form
                              if k.startswith(f"{key}-") and k.split("-")[1].isdigit()})
            data[name] = [parse(f.inner.nested, form, f"{key}-{i}-") for i in indices]
        elif kind == "checkbox":
            data[name] = form.get(key) in ("on", "true", "1")
        elif kind == "uploads":
            continue  # filled by the view from stored uploads
        else:
            value = form.get(key, "").strip()
            if value != "":
                data[name] = value
            elif f.allow_none and not f.required:
                data[name] = None
    return data
