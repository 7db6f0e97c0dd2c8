"""What a citizen sees of a cancellation: 「注销中」 on 首页 and the contract page, no second start."""
from __future__ import annotations

import re

import sqlalchemy as sa

from handlers.models import ESignSignature
from web.extensions import db

from .conftest import login_as
from .test_portal import follow_task, walk_to_signing


def sign_on_the_phone(app, order_prefix=None):
    with app.app_context():
        tokens = [(s.token, s.party.name, s.party.id_number) for s in db.session.scalars(
            sa.select(ESignSignature).where(ESignSignature.status == "待签字"))]
        db.session.remove()
    phone = app.test_client()
    for token, name, id_number in tokens:
        url = f"/sandbox/esign/{token}"
        phone.post(url, data={"step": "confirm"})
        phone.post(url, data={"step": "auth", "name": name, "id_number": id_number})
        assert "签名成功" in phone.post(url, data={"step": "face"}).data.decode()


def filed_through_the_pages(app, client):
    from handlers.demo import ZHAO_MIN_ID
    contract_url = walk_to_signing(client, ZHAO_MIN_ID)
    sign_on_the_phone(app)
    submit = re.search(r'href="(/task/[^"]+)">提交<', client.get(contract_url).data.decode()).group(1)
    follow_task(client, client.post(submit, data={"confirmed": "1"}))
    return contract_url


def test_a_running_cancellation_shows_and_blocks_another(app, client, account_id):
    login_as(client, account_id("张伟"))
    contract_url = filed_through_the_pages(app, client)
    assert "存量房合同注销线上" in client.get(contract_url).data.decode()
    follow_task(client, client.post(contract_url + "/cancel-online"))  # → 录入注销原因
    page = client.get(contract_url).data.decode()
    assert re.search(r'id="contract-status">注销中<', page)
    assert "存量房合同注销线上" not in page and "正在办理注销" in page
    home = client.get("/").data.decode()
    assert "注销中" in home
    # A stale page posts again: refused with a message, nothing started.
    again = client.post(contract_url + "/cancel-online", follow_redirects=True).data.decode()
    assert "同一时间只能办理一项注销申请" in again
    todo = client.get("/todo").data.decode()
    assert todo.count("录入注销原因") == 1


def test_todo_shows_the_home_and_withdraws_an_abandoned_application(client, account_id):
    from .test_portal import CERT
    login_as(client, account_id("张伟"))
    url = follow_task(client, client.post("/start/online_signing"))
    url = follow_task(client, client.post(url, data={"business_type": "存量房买卖"}))
    follow_task(client, client.post(url, data=CERT))  # → 确认房源, then abandoned
    todo = client.get("/todo").data.decode()
    assert "确认房源" in todo and "翠景花园" in todo and "撤回申请" in todo
    assert "SQ-" not in client.get("/").data.decode()  # an application's key is not a contract number
    task_id = re.search(r'action="/task/([^/"]+)/withdraw"', todo).group(1)
    done = client.post(f"/task/{task_id}/withdraw", follow_redirects=True).data.decode()
    assert "申请已撤回" in done and "暂无待办业务" in done
