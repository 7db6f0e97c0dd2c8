"""One mapping from the errors of use cases, the engine, the domain and HTTP to a status and a Chinese
message: JSON ``{"message", "errors"}`` under /api/, an error page in the site's layout elsewhere."""
from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask_babel import gettext
from werkzeug.exceptions import HTTPException, InternalServerError

from engine import BadCursor, EngineError, FormInvalid
from handlers.i18n import N_
from handlers.models import DomainError
from handlers.usecases import UseCaseError

HANDLED = (UseCaseError, EngineError, DomainError, BadCursor)

# What a person reads for each status when nobody said anything more precise (Werkzeug's defaults are
# English developer text). The English catalog translates these.
MESSAGES = {
    400: N_("请求无效，请检查填写的内容后重试"),
    401: N_("请先登录"),
    403: N_("您无权访问此页面"),
    404: N_("页面不存在或已被删除"),
    405: N_("不支持此请求方式"),
    409: N_("操作冲突：该业务已被他人处理，请刷新后重试"),
    413: N_("提交的内容过大，请缩小文件后重试"),
    415: N_("不支持的内容类型"),
    422: N_("提交的内容有误，请修改后重试"),
    429: N_("尝试次数过多，请稍后再试"),
    500: N_("系统内部错误，请稍后再试；如问题持续，请联系管理员"),
}


def describe(err: Exception) -> tuple[int, str, dict]:
    """(HTTP status, message for people, field errors) of any error a use case may raise."""
    if isinstance(err, FormInvalid):
        return err.status, err.message, err.errors
    if isinstance(err, (UseCaseError, EngineError)):
        return err.status, err.message, getattr(err, "errors", None) or {}
    if isinstance(err, HTTPException):
        code = err.code or 500
        # abort(code) without a description carries Werkzeug's English text: say it in Chinese instead.
        said = err.description if err.description != type(err).description else ""
        return code, said or MESSAGES.get(code, MESSAGES[500 if code >= 500 else 400]), {}
    return 400, str(err), {}


def _wants_json() -> bool:
    # The API, and the admin pages' own JSON calls (the editor posts JSON and reads the answer in script).
    return request.path.startswith("/api/") or request.is_json


def answer(err: Exception):
    status, message, errors = describe(err)
    headers = dict(err.get_headers()) if isinstance(err, HTTPException) else {}
    headers.pop("Content-Type", None)
    if _wants_json():
        body: dict = {"message": gettext(message) if message in MESSAGES.values() else message}
        if errors:
            body["errors"] = errors
        return body, status, headers
    return render_template("error.html", status=status, message=message), status, headers


def init_app(app: Flask) -> None:
    for kind in HANDLED:
        app.register_error_handler(kind, answer)
    app.register_error_handler(HTTPException, answer)

    @app.errorhandler(InternalServerError)
    def server_error(err: InternalServerError):
        # Reached only for a bug: say so in the layout; the traceback goes to the log, not to the person.
        current_app.logger.error("unhandled error on %s: %s", request.path, err.original_exception or err)
        return answer(InternalServerError())
