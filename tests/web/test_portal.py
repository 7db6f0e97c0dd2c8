"""The citizen portal and the sandbox e-sign page through the Flask test client."""
from __future__ import annotations

import re

import sqlalchemy as sa

from handlers.adapters import esign
from handlers.models import ESignSignature
from web.extensions import db

from .conftest import login_as

CERT = {"query_mode": "证书号", "certificate_no": "粤(2023)中山市不动产权第0012345号", "check_code": "482916"}
CONTRACT = {"sellers-0-phone": "13800001111", "buyers-0-name": "赵敏", "buyers-0-id_type": "居民身份证",
            "buyers-0-phone": "13900005555", "price": "1580000", "payment_method": "贷款",
            "delivery_date": "2027-01-15", "tax_bearer": "按国家规定各自承担", "dispute_resolution": "仲裁"}


def follow_task(client, response):
    """Where the app sent us: the next task page's URL."""
    assert response.status_code == 302, response.data[:500]
    return response.headers["Location"]


def everyone_signs(app):
    """Every party of the waiting orders signs on the sandbox 粤信签 page, as on their phones."""
    with app.app_context():
        tokens = [(s.token, s.party.name, s.party.id_number) for s in db.session.scalars(sa.select(ESignSignature))]
        db.session.remove()
    phone = app.test_client()
    for token, name, id_number in tokens:
        phone.post(f"/sandbox/esign/{token}", data={"step": "confirm"})
        phone.post(f"/sandbox/esign/{token}", data={"step": "auth", "name": name, "id_number": id_number})
        phone.post(f"/sandbox/esign/{token}", data={"step": "face"})


def walk_to_signing(client, zhao_id_number):
    url = follow_task(client, client.post("/start/online_signing"))
    url = follow_task(client, client.post(url, data={"business_type": "存量房买卖"}))
    url = follow_task(client, client.post(url, data=CERT))
    url = follow_task(client, client.post(url, data={}))  # 签订合同
    url = follow_task(client, client.post(url, data=dict(CONTRACT, **{"buyers-0-id_number": zhao_id_number})))
    url = follow_task(client, client.post(url, data={"applicant_name": "张伟", "applicant_phone": "13800001111"}))
    url = follow_task(client, client.post(url, data={"rating_level": "非常满意"}))
    url = follow_task(client, client.post(url, data={}))  # 不选择资金监管 (the bank paths: test_fund_supervision_pages)
    url = follow_task(client, client.post(url, data={"acknowledged": "on"}))
    url = follow_task(client, client.post(url, data={"confirmed": "1"}))  # 提交 → 确定
    return follow_task(client, client.post(url, data={}))  # 生成电子合同订单 → contract page


def test_login_page_offers_three_ways_in(client):
    page = client.get("/login").data.decode()
    assert "粤省事登录" in page and "账号密码登录" in page and "法人登录" in page


def test_anonymous_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_password_login_refuses_wrong_password(client):
    response = client.post("/login/password", data={"username": "chankaming", "password": "wrong"},
                           follow_redirects=True)
    assert "账号或密码错误" in response.data.decode()


def test_seller_signs_online_through_the_pages(app, client, account_id):
    from handlers.demo import ZHAO_MIN_ID
    login_as(client, account_id("张伟"))
    contract_url = walk_to_signing(client, ZHAO_MIN_ID)
    page = client.get(contract_url).data.decode()
    assert "已创建订单，待签字" in page and "注销电子合同订单" in page
    qr_page = client.get(contract_url + "?qr=1").data.decode()
    assert qr_page.count("data:image/png;base64,") == 1  # the seller sees only his own code
    with app.app_context():
        tokens = [(s.token, s.party.name, s.party.id_number) for s in db.session.scalars(sa.select(ESignSignature))]
        db.session.remove()
    phone = app.test_client()
    for token, name, id_number in tokens:
        url = f"/sandbox/esign/{token}"
        assert "确定签署" in phone.get(url).data.decode()
        assert "微警认证" in phone.post(url, data={"step": "confirm"}).data.decode()
        wrong = phone.post(url, data={"step": "auth", "name": name, "id_number": "110105194912310021"}).data.decode()
        assert "微警认证失败" in wrong
        assert "人脸识别" in phone.post(url, data={"step": "auth", "name": name, "id_number": id_number}).data.decode()
        assert "签名成功" in phone.post(url, data={"step": "face"}).data.decode()
    page = client.get(contract_url).data.decode()
    assert "订单已经完成签字" in page
    submit = re.search(r'href="(/task/[^"]+)">提交<', page).group(1)
    home_url = follow_task(client, client.post(submit, data={"confirmed": "1"}))
    home = client.get(home_url).data.decode()
    assert "已签约" in home


def test_bad_input_shows_chinese_errors_and_keeps_values(client, account_id):
    login_as(client, account_id("张伟"))
    url = follow_task(client, client.post("/start/online_signing"))
    url = follow_task(client, client.post(url, data={"business_type": "存量房买卖"}))
    url = follow_task(client, client.post(url, data=CERT))
    url = follow_task(client, client.post(url, data={}))
    response = client.post(url, data=dict(CONTRACT, **{"buyers-0-id_number": "110105194912310021", "price": "abc"}))
    page = response.data.decode()
    assert response.status_code == 422
    assert "证件号码校验位错误" in page and "成交价格" in page
    assert 'value="赵敏"' in page  # nothing typed is lost


def test_someone_elses_contract_and_task_are_invisible(app, client, account_id):
    from handlers.demo import ZHAO_MIN_ID
    login_as(client, account_id("张伟"))
    contract_url = walk_to_signing(client, ZHAO_MIN_ID)
    other = app.test_client()
    login_as(other, account_id("王强"))
    assert other.get(contract_url).status_code == 404
    assert other.get("/api/v1/contracts").get_json() == []
    buyer = app.test_client()
    login_as(buyer, account_id("赵敏"))  # a party sees the contract, but cannot cancel the seller's order
    assert buyer.get(contract_url).status_code == 200
    assert buyer.post(contract_url + "/cancel-order").status_code == 403


def test_callback_with_bad_signature_is_refused(client):
    body = esign.callback_body("YXQ1", 1, "tok", "2026-11-24T10:00:00+08:00")
    response = client.post("/api/v1/esign/callback", data=body, headers={"X-Signature": "00" * 32})
    assert response.status_code == 401 and response.get_json()["message"] == "回调签名无效"


def test_api_task_completion_returns_field_errors(client, account_id):
    login_as(client, account_id("张伟"))
    client.post("/start/online_signing")
    [task] = client.get("/api/v1/tasks").get_json()
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"business_type": "房屋出租"})
    assert response.status_code == 422
    assert "业务类型只能是" in response.get_json()["errors"]["business_type"][0]
    assert client.post("/api/v1/tasks/nope/complete", json={}).status_code == 404
    assert client.get("/api/v1/definitions").status_code == 403


def test_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.") and "/api/v1/esign/callback" in doc["paths"]


def test_swagger_ui_is_served_locally(client):
    page = client.get("/api/v1/docs").data.decode()
    assert "/api/v1/docs/swagger-ui-bundle.js" in page and "http" not in page.split("<body>")[1].split("openapi")[0]
    assert client.get("/api/v1/docs/swagger-ui-bundle.js").status_code == 200
    assert client.get("/api/v1/docs/index.html").status_code == 404


def test_english_is_selectable(client, account_id):
    login_as(client, account_id("张伟"))
    assert "我的合同" in client.get("/").data.decode()
    client.get("/lang/en")
    page = client.get("/").data.decode()
    assert "My contracts" in page and "Sign a sale contract online" in page and "中文" in page
    client.get("/lang/zh")
    assert "我的合同" in client.get("/").data.decode()


def test_todo_and_online_cancellation_from_the_contract_page(app, client, account_id):
    from handlers.demo import ZHAO_MIN_ID
    login_as(client, account_id("张伟"))
    assert "暂无待办业务" in client.get("/todo").data.decode()
    contract_url = walk_to_signing(client, ZHAO_MIN_ID)
    everyone_signs(app)
    todo = client.get("/todo").data.decode()
    submit = re.search(r'href="(/task/[^"]+)">提交<', todo).group(1)
    client.post(submit, data={"confirmed": "1"})
    assert "存量房合同注销线上" in client.get(contract_url).data.decode()
    reason_url = follow_task(client, client.post(contract_url + "/cancel-online"))
    assert "录入注销原因" in client.get(reason_url).data.decode()
    stranger = app.test_client()
    login_as(stranger, account_id("王强"))
    assert stranger.post(contract_url + "/cancel-online").status_code == 404


def test_esign_preview_masks_id_numbers(app, client, account_id):
    from handlers.demo import ZHAO_MIN_ID
    login_as(client, account_id("张伟"))
    walk_to_signing(client, ZHAO_MIN_ID)
    with app.app_context():
        token = db.session.scalars(sa.select(ESignSignature.token)).first()
        db.session.remove()
    page = app.test_client().get(f"/sandbox/esign/{token}").data.decode()
    assert ZHAO_MIN_ID not in page and ZHAO_MIN_ID[:6] + "********" + ZHAO_MIN_ID[-4:] in page
