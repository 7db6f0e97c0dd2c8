"""用户关联 after unified sign-in, and the window's password reset."""
from __future__ import annotations

import re

import sqlalchemy as sa

from handlers.demo import ZHANG_WEI_ID, resident_id
from handlers.models import Account
from web.extensions import db

from .conftest import login_as

NEW_ID = resident_id("44200019880808123")


def test_new_person_creates_a_netsign_account(app, client):
    response = client.post("/login/yss-new", data={"name": "黄丽", "id_number": NEW_ID})
    assert response.headers["Location"].endswith("/associate")
    page = client.get("/associate").data.decode()
    assert "关联现有账号" in page and "无网签账号，创建个人网签账号" in page
    home = client.post("/associate", data={"action": "create"}, follow_redirects=True).data.decode()
    assert "统一身份认证成功：黄丽" in home and "我的合同" in home
    with app.app_context():
        account = db.session.scalars(sa.select(Account).where(Account.id_number == NEW_ID)).one()
        assert account.unified_id == f"yss-{NEW_ID}"
        db.session.remove()


def test_bad_id_at_scan_is_refused(client):
    response = client.post("/login/yss-new", data={"name": "黄丽", "id_number": NEW_ID[:-1] + "0"},
                           follow_redirects=True)
    assert "身份证号码" in response.data.decode() and "校验位错误" in response.data.decode()


def test_link_existing_account_needs_the_right_password(app, client):
    with app.app_context():
        legacy = Account(login_kind="账号密码", name="黄丽", id_type="居民身份证", id_number=NEW_ID, roles="citizen")
        legacy.set_password("old-pass-1")
        db.session.add(legacy)
        db.session.commit()
        db.session.remove()
    client.post("/login/yss-new", data={"name": "黄丽", "id_number": NEW_ID})
    wrong = client.post("/associate", data={"action": "link", "id_number": NEW_ID, "password": "nope"},
                        follow_redirects=True).data.decode()
    assert "证件号码或密码错误" in wrong
    ok = client.post("/associate", data={"action": "link", "id_number": NEW_ID, "password": "old-pass-1"},
                     follow_redirects=True).data.decode()
    assert "统一身份认证成功：黄丽" in ok


def test_clerk_resets_a_password_after_checking_the_id(app, client, account_id):
    login_as(client, account_id("窗口受理员甲"))
    unchecked = client.post("/inbox/reset-password", data={"id_number": ZHANG_WEI_ID}).data.decode()
    assert "请先核验本人有效身份证件原件" in unchecked
    page = client.post("/inbox/reset-password", data={"id_number": ZHANG_WEI_ID, "id_checked": "on"}).data.decode()
    password = re.search(r'id="new-password">([^<]+)<', page).group(1)
    with app.app_context():
        account = db.session.scalars(sa.select(Account).where(Account.id_number == ZHANG_WEI_ID)).one()
        assert account.check_password(password)
        db.session.remove()
    reviewer = app.test_client()
    login_as(reviewer, account_id("审核员甲"))
    assert reviewer.get("/inbox/reset-password").status_code == 403


def test_legal_person_signs_in_and_verifies_its_home(client):
    from handlers.demo import COMPANY_USCC, DEMO_PASSWORD
    bad = client.post("/login/legal-person", data={"uscc": COMPANY_USCC[:-1] + "8", "password": DEMO_PASSWORD},
                      follow_redirects=True).data.decode()
    assert "统一社会信用代码校验位错误" in bad
    home = client.post("/login/legal-person", data={"uscc": COMPANY_USCC, "password": DEMO_PASSWORD},
                       follow_redirects=True).data.decode()
    assert "统一身份认证成功：中山市示例置业有限公司" in home
    task_url = client.post("/start/online_signing").headers["Location"]
    task_url = client.post(task_url, data={"business_type": "存量房买卖"}).headers["Location"]
    confirm_url = client.post(task_url, data={"query_mode": "证书号", "certificate_no": "粤(2022)中山市不动产权第0777001号",
                                              "check_code": "700118"}).headers["Location"]
    assert "确认房源" in client.get(confirm_url).data.decode()
