"""The OpenAPI document of /api/v1, generated from the views themselves.

Each API view carries an :class:`Operation` (``@documented``) naming the marshmallow schemas it
really uses: its response schema (dumping) and its query schema (parsing ``request.args``). The
document walks the app's URL map (apispec with its Flask and marshmallow plugins), so a view
cannot exist undocumented and a parameter cannot drift from the code that reads it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec_webframeworks.flask import FlaskPlugin
from flask import Flask
from werkzeug.routing import IntegerConverter

from . import api_schemas as schemas

ERROR_TEXT = {"400": "请求有误", "401": "未登录或签名无效", "403": "没有权限", "404": "不存在或无权查看",
              "409": "任务已由其他人处理或认领", "422": "输入有误（errors 列出每个字段）"}
NEXT_CURSOR = {"X-Next-Cursor": {"description": "下一页的游标（next_cursor），作为 after 传回；最后一页没有该响应头",
                                 "schema": {"type": "string"}},
               "X-Total-Count": {"description": "符合条件的总条数，按索引计数，最多数到 1000",
                                 "schema": {"type": "integer"}},
               "X-Total-Capped": {"description": "为 true 时表示总数超过 X-Total-Count（显示为「1000+」）",
                                  "schema": {"type": "string"}}}


@dataclass(frozen=True)
class Operation:
    summary: str
    tag: str
    response: type | None = None  # the marshmallow schema the view dumps with
    many: bool = False
    query: type | None = None  # the marshmallow schema the view loads request.args with
    body: type | None = None
    errors: tuple[str, ...] = ()
    security: str | None = "session"  # None: open; "esign": the callback's HMAC header
    paged: bool = False
    description: str = ""
    # More answers than the errors above: (status, description, schema of its JSON body or None).
    also: tuple[tuple[str, str, type | None], ...] = ()
    text: bool = False  # the 200 answer is text/plain (the Prometheus exposition format), not JSON


def documented(**kwargs: Any) -> Callable:
    operation = Operation(**kwargs)

    def attach(view: Callable) -> Callable:
        view.openapi = operation  # type: ignore[attr-defined]
        return view

    return attach


def _operation(op: Operation, path_params: list[dict]) -> dict:
    ok: dict = {"description": "OK"}
    if op.text:
        ok["content"] = {"text/plain": {"schema": {"type": "string"}}}
    elif op.response is not None:
        ok["content"] = {"application/json": {
            "schema": {"type": "array", "items": op.response} if op.many else op.response}}
    if op.paged:
        ok["headers"] = NEXT_CURSOR
    responses: dict = {"200": ok}
    for code in op.errors:
        responses[code] = {"description": ERROR_TEXT[code],
                           "content": {"application/json": {"schema": schemas.ErrorOut}}}
    for code, text, schema in op.also:
        responses[code] = {"description": text, **({"content": {"application/json": {"schema": schema}}}
                                                   if schema is not None else {})}
    operation: dict = {"summary": op.summary, "tags": [op.tag], "responses": responses,
                       "parameters": list(path_params)}
    if op.description:
        operation["description"] = op.description
    if op.query is not None:
        operation["parameters"].append({"in": "query", "schema": op.query})
    if op.body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": op.body}}}
    if op.security == "esign":
        operation["security"] = [{"esignSignature": []}]
    elif op.security:
        operation["security"] = [{op.security: []}]
    else:
        operation["security"] = []
    return operation


def _path_params(rule) -> list[dict]:
    params = []
    for name, converter in rule._converters.items():
        kind = "integer" if isinstance(converter, IntegerConverter) else "string"
        params.append({"name": name, "in": "path", "required": True, "schema": {"type": kind}})
    return params


# The JSON API and the operations endpoints (/healthz, /readyz, /metrics) are in the document.
PREFIXES = ("api.", "ops.")


def build(app: Flask, prefix: str | tuple[str, ...] = PREFIXES) -> dict:
    spec = APISpec(title="中山市存量房买卖合同网签备案 API", version="1.0", openapi_version="3.0.3",
                   plugins=[FlaskPlugin(), MarshmallowPlugin()],
                   info={"description": "登录后的会话 Cookie（session）用于鉴权；粤信签回调以 X-Signature（HMAC-SHA256）鉴权。"
                                        "列表按游标分页：after / limit，下一页游标见响应头 X-Next-Cursor。"})
    spec.components.security_scheme("session", {"type": "apiKey", "in": "cookie", "name": "session"})
    spec.components.security_scheme("esignSignature", {"type": "apiKey", "in": "header", "name": "X-Signature",
                                                       "description": "请求体的 HMAC-SHA256（十六进制）"})
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions[rule.endpoint]
        op = getattr(view, "openapi", None)
        if not rule.endpoint.startswith(prefix) or op is None:
            continue
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        spec.path(view=view, app=app, operations={m.lower(): _operation(op, _path_params(rule)) for m in methods})
    return spec.to_dict()


def undocumented(app: Flask, prefix: str | tuple[str, ...] = PREFIXES, allowed: tuple[str, ...] = ()) -> list[str]:
    """API endpoints without an Operation (a test keeps this empty)."""
    return [r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith(prefix)
            and r.endpoint not in allowed and not hasattr(app.view_functions[r.endpoint], "openapi")]
