"""The contract form through HTTP: one row per seller, prefilled from the contract, and money or phone
numbers that break a rule answered with a field message (422), never a 500, with nothing stored."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from handlers.demo import ZHAO_MIN_ID
from handlers.models import Contract
from web.extensions import db

from .conftest import login_as
from .test_portal import CONTRACT, follow_task

JOINT_HOME = {"query_mode": "证书号", "certificate_no": "粤(2022)中山市不动产权第0567890号", "check_code": "915372"}


def contract_form_url(client, certificate=None):
    url = follow_task(client, client.post("/start/online_signing"))
    url = follow_task(client, client.post(url, data={"business_type": "存量房买卖"}))
    url = follow_task(client, client.post(url, data=certificate or {
        "query_mode": "证书号", "certificate_no": "粤(2023)中山市不动产权第0012345号", "check_code": "482916"}))
    return follow_task(client, client.post(url, data={}))  # 签订合同


def stored_contract(app):
    with app.app_context():
        contract = db.session.scalars(sa.select(Contract)).one()
        facts = (contract.price, contract.deposit, [b.name for b in contract.buyers],
                 [(s.name, s.phone) for s in contract.sellers])
        db.session.remove()
    return facts


def test_joint_sellers_each_get_a_prefilled_row_and_their_own_phone(app, client, account_id):
    login_as(client, account_id("王强"))
    url = contract_form_url(client, JOINT_HOME)
    page = client.get(url).data.decode()
    assert 'name="sellers-0-name" value="王强"' in page and 'name="sellers-1-name" value="刘芳"' in page
    assert 'name="sellers-0-phone"' in page and 'name="sellers-1-phone"' in page
    form = dict(CONTRACT, **{"buyers-0-id_number": ZHAO_MIN_ID, "sellers-0-name": "王强", "sellers-0-phone": "13800003333",
                             "sellers-1-name": "刘芳", "sellers-1-phone": "13800003333"})
    response = client.post(url, data=form)
    assert response.status_code == 422
    assert "联系电话与第1位卖方相同：每位卖方、买方须填写本人的联系电话" in response.data.decode()
    assert stored_contract(app)[3] == [("王强", None), ("刘芳", None)]
    follow_task(client, client.post(url, data=dict(form, **{"sellers-1-phone": "13800004444"})))
    assert stored_contract(app)[3] == [("王强", "13800003333"), ("刘芳", "13800004444")]


@pytest.mark.parametrize("field, value, message", [
    ("price", "1e30", "成交价格超出可保存的范围：最多12位整数"),
    ("price", "1234567890123", "成交价格超出可保存的范围"),
    ("price", "NaN", "成交价格应为金额数字（不能是NaN或无穷大）"),
    ("price", "Infinity", "成交价格应为金额数字（不能是NaN或无穷大）"),
    ("price", "-1580000", "成交价格应大于0"),
    ("price", "0", "成交价格应大于0"),
    ("deposit", "1e30", "定金超出可保存的范围"),
    ("deposit", "0", "定金应大于0"),
])
def test_money_out_of_range_is_a_field_message_not_a_500(app, client, account_id, field, value, message):
    login_as(client, account_id("张伟"))
    url = contract_form_url(client)
    response = client.post(url, data=dict(CONTRACT, **{"buyers-0-id_number": ZHAO_MIN_ID, field: value}))
    page = response.data.decode()
    assert response.status_code == 422 and message in page
    assert f'name="{field}" value="{value}"' in page  # what was typed stays for correcting
    assert stored_contract(app)[:3] == (None, None, [])


def test_the_largest_storable_price_round_trips(app, client, account_id):
    login_as(client, account_id("张伟"))
    url = contract_form_url(client)
    follow_task(client, client.post(url, data=dict(CONTRACT, **{"buyers-0-id_number": ZHAO_MIN_ID,
                                                                "price": "999999999999.99"})))
    assert str(stored_contract(app)[0]) == "999999999999.99"


def test_the_api_answers_money_and_people_with_field_errors(app, client, account_id):
    login_as(client, account_id("张伟"))
    url = contract_form_url(client)
    task_id = re.search(r"/task/([^/?]+)", url).group(1)
    body = {"sellers": [{"phone": "13800001111"}], "payment_method": "贷款", "delivery_date": "2027-01-15",
            "tax_bearer": "按国家规定各自承担", "dispute_resolution": "仲裁",
            "buyers": [{"name": "张伟", "id_number": "442000850312123", "phone": "13900005555"}]}
    response = client.post(f"/api/v1/tasks/{task_id}/complete", json=dict(body, price=1e30))
    assert response.status_code == 422
    assert "最多12位整数" in response.get_json()["errors"]["price"][0]
    response = client.post(f"/api/v1/tasks/{task_id}/complete", json=dict(body, price="1580000"))
    assert response.status_code == 422  # 张伟's own 15-digit number: the seller is never a buyer
    assert "卖方不能同时作为买方" in response.get_json()["errors"]["buyers"]["0"]["id_number"][0]
    assert stored_contract(app)[:3] == (None, None, [])
