"""Operations endpoints for load balancers, orchestrators and Prometheus: ``/healthz`` (the process is
alive; no database), ``/readyz`` (database reachable, schema at the migrations' head, a worker's
heartbeat fresh: 200 or 503 with each check) and ``/metrics`` (Prometheus text format)."""
from __future__ import annotations

from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from flask import Blueprint, Response, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from handlers.usecases import ops

from . import api_schemas as out
from .context import services
from .openapi import documented

bp = Blueprint("ops", __name__)


def _schema_heads() -> frozenset[str]:
    """The revisions the migrations end at, read once per application."""
    heads = current_app.extensions.get("netsign_schema_heads")
    if heads is None:
        config = AlembicConfig()
        config.set_main_option("script_location", current_app.extensions["migrate"].directory)
        heads = frozenset(ScriptDirectory.from_config(config).get_heads())
        current_app.extensions["netsign_schema_heads"] = heads
    return heads


def _registry():
    registry = current_app.extensions.get("netsign_metrics")
    if registry is None:
        registry = ops.metrics_registry(services(), current_app.config["READY_HEARTBEAT_SECONDS"])
        current_app.extensions["netsign_metrics"] = registry
    return registry


@bp.get("/healthz")
@documented(summary="存活检查：进程在运行（不访问数据库）", tag="operations", response=out.HealthOut, security=None)
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
@documented(summary="就绪检查：数据库可连接、数据库结构为最新、worker 心跳新鲜", tag="operations",
            response=out.ReadyOut, security=None,
            description="worker 的最后一次心跳超过 NETSIGN_READY_HEARTBEAT_SECONDS（默认 60 秒）即为过期；"
                        "没有新鲜心跳的 worker 时未就绪。",
            also=(("503", "未就绪：checks 中 ok 为 false 的项说明原因", out.ReadyOut),))
def readyz():
    found = ops.ready(services(), _schema_heads(), current_app.config["READY_HEARTBEAT_SECONDS"])
    response = jsonify(out.ReadyOut().dump({"ready": found.ready, "checks": found.checks}))
    response.status_code = 200 if found.ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/metrics")
@documented(summary="Prometheus 指标（文本格式）", tag="operations", security=None, text=True,
            description="步骤耗时、定时器延迟、到期定时器积压、未解决事件、各角色待办数、worker 心跳、"
                        "粤信签回调结果；数据库中的数值在抓取时计算。")
def metrics():
    body = generate_latest(_registry())
    services().end_session()
    return Response(body, mimetype=CONTENT_TYPE_LATEST.split(";")[0], headers={"Cache-Control": "no-store"})
