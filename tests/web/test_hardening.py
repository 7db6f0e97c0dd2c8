"""The web refuses what it must: local redirects only, sign-in lockout, hand-over only to a colleague who
can do the task, a request size limit, and odd input answered 4xx with a Chinese message, never 500."""
from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from engine.models import InboxTask
from handlers.adapters.esign import sign
from handlers.demo import DEMO_PASSWORD, ZHANG_WEI_ID
from web.extensions import db

from .conftest import login_as, ready_app


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "\\\\evil", "/\\evil",
                                    "javascript:alert(1)", "http:evil.example", " //evil.example"])
def test_sign_in_never_sends_people_off_site(client, target):
    response = client.post("/login/yss", query_string={"next": target}, data={"unified_id": "yss-zhangwei"})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\")) and "evil" not in location


def test_sign_in_keeps_a_local_next(client):
    response = client.post("/login/yss", query_string={"next": "/todo"}, data={"unified_id": "yss-zhangwei"})
    assert response.headers["Location"] == "/todo"


def test_language_switch_ignores_a_foreign_referrer(client):
    response = client.get("/lang/en", headers={"Referer": "//evil.example/x"})
    assert "evil" not in response.headers["Location"]


def _admin_login(client, password):
    return client.post("/login/password", data={"username": "admin", "password": password})


def test_thirty_wrong_passwords_lock_the_account_even_for_the_right_one(client):
    answers = [_admin_login(client, f"guess-{n}").status_code for n in range(30)]
    assert answers[:5] == [302] * 5 and set(answers[5:]) == {429}
    locked = _admin_login(client, DEMO_PASSWORD)
    assert locked.status_code == 429
    page = locked.data.decode()
    assert "登录失败次数过多" in page and "北京时间）后再试" in page and "中山市存量房买卖合同网签备案系统" in page
    assert int(locked.headers["Retry-After"]) > 0
    assert client.get("/admin/").status_code == 302  # still not signed in


def test_one_address_trying_many_accounts_is_locked_out(client):
    for n in range(30):  # four wrong tries each for eight accounts: under the per-account limit
        client.post("/login/password", data={"username": f"user{n // 4}", "password": "nope"})
    assert client.post("/login/password", data={"username": "clerk1", "password": DEMO_PASSWORD}).status_code == 429


def test_behind_a_trusted_proxy_each_visitor_has_their_own_lockout(sa_engine, database_url, tmp_path):
    client = ready_app(sa_engine, database_url, tmp_path, TRUSTED_PROXIES=1).test_client()
    for n in range(30):
        client.post("/login/password", data={"username": f"user{n // 4}", "password": "nope"},
                    headers={"X-Forwarded-For": "203.0.113.7"})
    other = {"X-Forwarded-For": "203.0.113.8"}
    assert client.post("/login/password", data={"username": "clerk1", "password": DEMO_PASSWORD},
                       headers=other).status_code == 302


def test_right_passwords_do_not_count(client):
    for _ in range(8):
        assert _admin_login(client, DEMO_PASSWORD).status_code == 302
    assert _admin_login(client, "wrong").status_code == 302  # a refusal, not a lockout


def _open_task(client):
    task_url = client.post("/inbox/start-offline-cancellation").headers["Location"]
    task_id = task_url.rstrip("/").split("/")[-1]
    client.post(f"/inbox/{task_id}/claim", data={"action": "claim"})
    return task_id


@pytest.mark.parametrize("who", ["9999", "张伟", "审核员甲", "", "x", "99999999999999999999"])
def test_hand_over_only_to_a_staff_account_holding_the_role(app, client, account_id, who):
    clerk = account_id("窗口受理员甲")
    login_as(client, clerk)
    task_id = _open_task(client)
    to = str(account_id(who)) if who in ("张伟", "审核员甲") else who
    response = client.post(f"/inbox/{task_id}/claim", data={"action": "handover", "to": to})
    assert response.status_code == 422
    assert "只能转交给持有该任务角色的工作人员" in response.data.decode()
    with app.app_context():
        assert db.session.get(InboxTask, task_id).assignee == str(clerk)
        db.session.remove()


def test_a_request_over_the_limit_is_refused_before_its_body_is_read(sa_engine, database_url, tmp_path):
    app = ready_app(sa_engine, database_url, tmp_path, MAX_CONTENT_LENGTH=1024)
    client = app.test_client()

    class Untouchable(io.BytesIO):
        def read(self, *args):
            raise AssertionError("the body was read")

        readline = read

    for path in ("/login/password", "/api/v1/esign/callback"):
        response = client.post(path, input_stream=Untouchable(), content_type="application/x-www-form-urlencoded",
                               environ_overrides={"CONTENT_LENGTH": str(50 * 1024 * 1024)})
        assert response.status_code == 413
        text = response.get_json()["message"] if path.startswith("/api/") else response.data.decode()
        assert "提交的内容过大" in text


@pytest.mark.parametrize("body", [b"[1, 2]", b'"order"', b"3", b"null", b"{}", b"not json"])
def test_a_validly_signed_callback_with_an_odd_body_is_refused(client, body):
    response = client.post("/api/v1/esign/callback", data=body, content_type="application/json",
                           headers={"X-Signature": sign(body, "web-test-secret")})
    assert 400 <= response.status_code < 500
    assert any("\u4e00" <= ch <= "\u9fff" for ch in response.get_json()["message"])


@pytest.mark.parametrize("query", ["to=9999-12-31", "from=0001-01-01", "to=2026-13-01", "from=yesterday"])
def test_inbox_days_out_of_range_are_refused_naming_the_field(client, account_id, query):
    login_as(client, account_id("窗口受理员甲"))
    response = client.get(f"/inbox/?{query}")
    assert response.status_code == 422
    assert "到达日期" in response.data.decode()


def test_admin_numbers_and_cursors_beyond_range(client, account_id):
    login_as(client, account_id("系统管理员"))
    huge = 10**20
    assert client.get(f"/admin/instances/{huge}").status_code == 404
    assert client.post(f"/admin/incidents/{huge}/retry").status_code == 404
    assert client.post(f"/api/v1/incidents/{huge}/retry").get_json()["message"] == "页面不存在或已被删除"
    assert client.get(f"/admin/instances?page={huge}").status_code == 200
    for cursor in (str(huge), "zzz", "-1"):
        assert client.get(f"/admin/instances?after={cursor}").status_code == 400
        assert client.get(f"/api/v1/instances?after={cursor}").status_code == 400


def test_simulated_scan_of_someone_who_has_an_account(app, client):
    client.post("/login/yss-new", data={"name": "张伟", "id_number": ZHANG_WEI_ID})
    response = client.post("/associate", data={"action": "create"})
    assert response.status_code == 400
    assert "该证件号码已有网签账号" in response.data.decode()
    with app.app_context():
        from handlers.models import Account
        assert db.session.scalar(sa.select(sa.func.count()).where(Account.id_number == ZHANG_WEI_ID)) == 1
        db.session.remove()
