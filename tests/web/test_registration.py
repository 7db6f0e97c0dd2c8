"""「立即注册」 on the sandbox unified identity platform (guide 1.1): 港澳台 and foreign people with 账号密码,
units as 法人; then 用户关联 creates or links the netsign account, and the new sign-in works from then on."""
from __future__ import annotations

import sqlalchemy as sa

from handlers.demo import WONG_HK_PERMIT, ZHANG_WEI_ID
from handlers.models import Account, PlatformAccount
from handlers.validation import USCC_CHARS, USCC_WEIGHTS
from web.extensions import db

HK_PERSON = {"id_type": "港澳居民来往内地通行证", "id_number": WONG_HK_PERMIT, "name": "黄丽华",
             "phone": "85261112222", "username": "wonglaiwa", "password": "Harbour2026", "password_again": "Harbour2026"}


def uscc(first17: str) -> str:
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS))
    return first17 + USCC_CHARS[(31 - total % 31) % 31]


UNIT = {"unit_name": "中山市新示例物业有限公司", "uscc": uscc("91442000MA4X7Y8Q1"), "representative": "林志强",
        "representative_id_type": "居民身份证", "representative_id": ZHANG_WEI_ID,
        "phone": "0760-88881234", "password": "Unit2026ok", "password_again": "Unit2026ok"}


def count(app, model) -> int:
    with app.app_context():
        n = db.session.scalar(sa.select(sa.func.count()).select_from(model))
        db.session.remove()
        return n


def test_the_login_page_offers_registration_and_the_guides_help(client):
    page = client.get("/login").get_data(as_text=True)
    assert page.count("立即注册") == 2 and "/register/person" in page and "/register/legal-person" in page
    assert "简体字" in page and "0760-89817433" in page and "0760-88363077" in page
    assert "除火炬开发区、民众街道外" in page


def test_every_problem_of_the_form_is_named_at_once_and_nothing_is_stored(app, client):
    bad = {**HK_PERSON, "name": "陳家明", "id_number": "12345", "phone": "", "password_again": "Other2026"}
    response = client.post("/register/person", data=bad)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "须为简体字" in page and "应写作「陈家明」" in page
    assert "证件号码应为H或M加8位数字" in page
    assert "两次输入的密码不一致" in page
    assert page.count("手机号码为必填项") == 1 and "手机号码格式不正确" not in page
    assert 'value="Other2026"' not in page and 'value="Harbour2026"' not in page  # passwords never echoed
    assert count(app, PlatformAccount) == 0


def test_a_hong_kong_owner_registers_creates_an_account_and_signs_in_again(app, client):
    response = client.post("/register/person", data=HK_PERSON)
    assert response.status_code == 302 and response.headers["Location"].endswith("/associate")
    page = client.get("/associate").get_data(as_text=True)
    assert "黄丽华" in page and "H8*****21" in page and "H87654321" not in page
    response = client.post("/associate", data={"action": "create"})
    assert response.status_code == 302
    assert "黄丽华" in client.get("/").get_data(as_text=True)
    with app.app_context():
        account = db.session.scalars(sa.select(Account).where(Account.id_number == "H87654321")).one()
        assert (account.login_kind, account.id_type, account.username) == ("账号密码", "港澳居民来往内地通行证", "wonglaiwa")
        db.session.remove()
    client.post("/logout")
    response = client.post("/login/password", data={"username": "wonglaiwa", "password": "Harbour2026"})
    assert response.status_code == 302 and "/associate" not in response.headers["Location"]
    assert "黄丽华" in client.get("/").get_data(as_text=True)


def test_a_taken_account_name_or_document_is_refused_on_its_field(app, client):
    client.post("/register/person", data=HK_PERSON)
    again = client.post("/register/person", data={**HK_PERSON, "id_number": "H11112222"})
    assert again.status_code == 422 and "该账号已被注册" in again.get_data(as_text=True)
    same_id = client.post("/register/person", data={**HK_PERSON, "username": "another1"})
    assert same_id.status_code == 422 and "该证件已注册" in same_id.get_data(as_text=True)
    assert count(app, PlatformAccount) == 1


def test_registering_links_an_existing_netsign_account(app, client):
    """黄丽华 has a netsign account from before the unified platform: creating a second one is refused
    (「关联现有账号」 is named), linking with that account's password works, and the new sign-in reaches it."""
    with app.app_context():
        old = Account(login_kind="账号密码", name="黄丽华", id_type="港澳居民来往内地通行证", id_number="H87654321",
                      roles="citizen")
        old.set_password("OldPass2019")
        db.session.add(old)
        db.session.commit()
        db.session.remove()
    client.post("/register/person", data=HK_PERSON)
    refused = client.post("/associate", data={"action": "create"})
    assert refused.status_code >= 400 and "关联现有账号" in refused.get_data(as_text=True)
    wrong = client.post("/associate", data={"action": "link", "id_number": "H87654321", "password": "nope"})
    assert wrong.status_code >= 400 and "重置密码" in wrong.get_data(as_text=True)
    linked = client.post("/associate", data={"action": "link", "id_number": "H87654321", "password": "OldPass2019"})
    assert linked.status_code == 302
    client.post("/logout")
    client.post("/login/password", data={"username": "wonglaiwa", "password": "Harbour2026"})
    assert "黄丽华" in client.get("/").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Account).where(
            Account.id_number == "H87654321")) == 1
        db.session.remove()


def test_a_unit_registers_as_legal_person_and_signs_in_with_its_code(app, client):
    bad = client.post("/register/legal-person", data={**UNIT, "uscc": UNIT["uscc"][:-1] + "0"})
    assert bad.status_code == 422 and "统一社会信用代码校验位错误" in bad.get_data(as_text=True)
    response = client.post("/register/legal-person", data=UNIT)
    assert response.status_code == 302 and response.headers["Location"].endswith("/associate")
    client.post("/associate", data={"action": "create"})
    client.post("/logout")
    response = client.post("/login/legal-person", data={"uscc": UNIT["uscc"], "password": "Unit2026ok"})
    assert response.status_code == 302
    assert "中山市新示例物业有限公司" in client.get("/").get_data(as_text=True)
    with app.app_context():
        account = db.session.scalars(sa.select(Account).where(Account.id_number == UNIT["uscc"])).one()
        assert (account.login_kind, account.id_type) == ("法人", "统一社会信用代码")
        platform = db.session.scalars(sa.select(PlatformAccount)).one()
        assert (platform.legal_representative, platform.legal_representative_id) == ("林志强", ZHANG_WEI_ID)
        db.session.remove()
