"""Error pages in the site's layout, in Chinese and in English; JSON under /api/."""
from __future__ import annotations

import pytest

from .conftest import login_as, ready_app

SITE = "中山市存量房买卖合同网签备案系统"


@pytest.fixture
def app(sa_engine, database_url, tmp_path):
    app = ready_app(sa_engine, database_url, tmp_path, PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom():  # a bug, as a person meets it
        raise RuntimeError("secret detail")

    @app.get("/conflict")
    def conflict():
        from flask import abort
        abort(409)

    return app


@pytest.mark.parametrize("path, status, chinese, english", [
    ("/no-such-page", 404, "页面不存在或已被删除", "This page does not exist"),
    ("/boom", 500, "系统内部错误", "Internal error"),
    ("/conflict", 409, "操作冲突", "Conflict: someone else"),
    ("/admin/", 403, "您无权访问此页面", "You may not open this page"),
])
def test_error_pages_in_the_layout_in_both_languages(client, account_id, path, status, chinese, english):
    login_as(client, account_id("张伟"))
    response = client.get(path)
    page = response.data.decode()
    assert response.status_code == status
    assert SITE in page and chinese in page and "返回首页" in page and "secret detail" not in page
    assert "Werkzeug" not in page and "<title>" in page
    client.get("/lang/en")
    english_page = client.get(path).data.decode()
    assert english in english_page and "Back to the home page" in english_page and 'lang="en"' in english_page


def test_errors_under_api_are_json(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404 and response.get_json() == {"message": "页面不存在或已被删除"}
    response = client.get("/api/v1/contracts")
    assert response.status_code == 401 and response.get_json() == {"message": "请先登录"}


def test_a_wrong_method_says_so_in_chinese(client):
    response = client.get("/login/password")
    assert response.status_code == 405 and "不支持此请求方式" in response.data.decode()
    assert "POST" in response.headers["Allow"]
