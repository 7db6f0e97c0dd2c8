"""The outbox seen from outside: the sandbox receiver checks signatures and keeps each event once, the
worker's webhook reaches it signed, the administrator sees events and deliveries and retries a failed one,
and the sandbox SMS page lists what was sent per phone."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from engine.outbound import Event, WebhookSubscriber, signed_headers
from web.extensions import db

from .conftest import login_as, ready_app

HOOK_SECRET = "hook-secret"
WEBHOOKS = [{"name": "sandbox", "url": "http://localhost/sandbox/webhook", "secret": HOOK_SECRET},
            {"name": "bank", "url": "http://bank.invalid/hook", "secret": "bank-secret", "events": ["contract_filed"]}]


@pytest.fixture
def app(sa_engine, database_url, tmp_path):
    app = ready_app(sa_engine, database_url, tmp_path, WEBHOOKS=WEBHOOKS)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _signed(event_id="evt-1", secret=HOOK_SECRET, now=None):
    event = Event(event_id, "contract_filed", "ZS2026112400001", None, {"contract_no": "ZS2026112400001"},
                  datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc))
    body = event.body()
    return body, signed_headers(secret, event, body, now or datetime.now(timezone.utc))


def test_the_sandbox_receiver_refuses_a_bad_signature_and_keeps_each_event_once(client):
    body, headers = _signed()
    forged = {**headers, "X-Netsign-Signature": "sha256=" + "0" * 64}
    answer = client.post("/sandbox/webhook", data=body, headers=forged)
    assert answer.status_code == 403 and "签名无效" in answer.get_json()["message"]
    stale_body, stale = _signed(now=datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert client.post("/sandbox/webhook", data=stale_body, headers=stale).status_code == 403
    assert "暂未收到事件" in client.get("/sandbox/webhook").get_data(as_text=True)
    assert client.post("/sandbox/webhook", data=body, headers=headers).get_json() == {
        "received": True, "duplicate": False}
    assert client.post("/sandbox/webhook", data=body, headers=headers).get_json()["duplicate"] is True
    page = client.get("/sandbox/webhook").get_data(as_text=True)
    assert page.count('class="receipt"') == 1 and "evt-1" in page


def _route_to(client, calls):
    """The worker's HTTP, answered by this app (the sandbox receiver) or a bank that is down."""
    def post(url, data, headers, timeout):
        calls.append(url)
        if url.startswith("http://localhost/"):
            answer = client.post(url[len("http://localhost"):], data=data, headers=headers)
            return type("Response", (), {"status_code": answer.status_code})()
        return type("Response", (), {"status_code": 500})()
    return post


def test_the_worker_delivers_signed_events_and_the_administrator_retries_a_failed_one(app, client, account_id):
    calls: list[str] = []
    with app.app_context():
        services = app.extensions["netsign"]
        for subscriber in services.engine.outbound.subscribers:
            if isinstance(subscriber, WebhookSubscriber):
                subscriber.post = _route_to(client, calls)
        with services.unit_of_work() as session:
            services.engine.emit(session, "contract_filed", {"contract_no": "ZS2026112400007"},
                                 business_key="ZS2026112400007")
            services.engine.emit(session, "contract_deleted", {"contract_no": "ZS2026112400008"},
                                 business_key="ZS2026112400008")
        services.end_session()
        # sandbox: both; bank: filed only (its events); the SMS outbox: filed (no such contract: no text)
        assert services.engine.deliver_events() == 4
        services.end_session()
    page = client.get("/sandbox/webhook").get_data(as_text=True)
    assert page.count('class="receipt"') == 2 and "ZS2026112400007" in page
    login_as(client, account_id("系统管理员"))
    events = client.get("/admin/events").get_data(as_text=True)
    assert events.count('class="event"') == 2
    assert "sandbox：已投递" in events and "bank：待投递" in events and "HTTP 500" in events
    filtered = client.get("/admin/events?business_key=ZS2026112400008").get_data(as_text=True)
    assert filtered.count('class="event"') == 1 and "bank：" not in filtered
    with app.app_context():
        from engine.models import OutboundDelivery
        bank = db.session.query(OutboundDelivery).filter_by(subscriber="bank").one()
        db.session.remove()
    answer = client.post(f"/admin/deliveries/{bank.id}/retry", follow_redirects=True)
    assert "已安排重新投递" in answer.get_data(as_text=True)
    with app.app_context():
        services = app.extensions["netsign"]
        assert services.engine.deliver_events() == 1  # due at once again
        services.end_session()
    assert calls.count("http://bank.invalid/hook") == 2


def test_the_sandbox_sms_page_lists_messages_per_phone(app, client):
    from handlers.models import SmsMessage

    with app.app_context():
        services = app.extensions["netsign"]
        with services.unit_of_work() as session:
            services.adapters.sms.send(session, "13800001111", "【中山市存量房网签】合同ZS1已签约", "e-1")
            services.adapters.sms.send(session, "13800001111", "【中山市存量房网签】合同ZS1已签约", "e-1")  # again
            services.adapters.sms.send(session, "13900005555", "【中山市存量房网签】合同ZS1已签约", "e-1")
        assert db.session.query(SmsMessage).count() == 2
        services.end_session()
    page = client.get("/sandbox/sms").get_data(as_text=True)
    assert page.count('class="card sms-phone"') == 2 and "13900005555" in page
    one = client.get("/sandbox/sms?phone=13900005555").get_data(as_text=True)
    assert one.count('class="card sms-phone"') == 1 and "13800001111" not in one.split("<h1>")[1]


def test_webhook_settings_are_checked_at_start(tmp_path):
    from web.config import Config, ConfigError, load

    with pytest.raises(ConfigError, match="name、url 和 secret"):
        load(Config, {"VAR_DIR": str(tmp_path)}, environ={"NETSIGN_WEBHOOKS": json.dumps([{"name": "x"}])})
    with pytest.raises(ConfigError, match="无效"):
        load(Config, {"VAR_DIR": str(tmp_path)}, environ={"NETSIGN_WEBHOOKS": "not json"})
    config = load(Config, {"VAR_DIR": str(tmp_path)}, environ={"NETSIGN_WEBHOOKS": json.dumps(WEBHOOKS)})
    assert [h["name"] for h in config["WEBHOOKS"]] == ["sandbox", "bank"]


def test_moving_the_clock_to_the_evening_before_the_deletion_puts_the_reminder_in_the_sandbox_outbox(
        app, client, account_id):
    import sqlalchemy as sa
    import time_machine

    from engine.worker import run
    from handlers.models import Contract

    from .test_portal import CERT, follow_task

    login_as(client, account_id("张伟"))
    url = follow_task(client, client.post("/start/online_signing"))
    url = follow_task(client, client.post(url, data={"business_type": "存量房买卖"}))
    url = follow_task(client, client.post(url, data=CERT))
    follow_task(client, client.post(url, data={}))  # 签订合同: the contract exists, its deadline is set
    with app.app_context():
        contract = db.session.scalars(sa.select(Contract)).one()
        no, deadline = contract.contract_no, contract.deletion_deadline
        db.session.remove()
    assert "暂无短信" in client.get("/sandbox/sms").get_data(as_text=True)
    with time_machine.travel(deadline - timedelta(hours=4), tick=False), app.app_context():
        services = app.extensions["netsign"]
        done = run(services.engine, once=True)  # the worker: fires the reminder, then delivers the SMS
        services.end_session()
    assert done["timers"] == 1 and done["events"] == 1
    page = client.get("/sandbox/sms?phone=13800001111").get_data(as_text=True)
    assert f"合同{no}尚未完成电子签名或备案" in page and "自动删除该合同" in page
