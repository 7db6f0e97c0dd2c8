"""The administrator's lists of the whole system (issue #14 item 5, issue #12 item 7): instances, incidents with
bulk retry, timers and the whole audit trail; in the guide's words (names of processes, tasks and people,
statuses and events as words), each a page by key whose 「下一页」 keeps the filters and is gone on the last page."""
from __future__ import annotations

import io
import re
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
import time_machine

from engine.models import Incident, ProcessInstance
from handlers.demo import ZHANG_WEI_ID
from web.extensions import db

from .conftest import login_as
from .test_portal import CERT, follow_task

ROOT = Path(__file__).resolve().parents[2]
SELLERS = ("张伟", "王强", "刘芳")


def _start(app, account_id, name):
    seller = app.test_client()
    login_as(seller, account_id(name))
    return seller, follow_task(seller, seller.post("/start/online_signing"))


def _admin(app, account_id):
    admin = app.test_client()
    login_as(admin, account_id("系统管理员"))
    return admin


def _next_link(page: str) -> str | None:
    found = re.search(r'<a href="([^"]+)">下一页</a>', page)
    return found.group(1).replace("&amp;", "&") if found else None


def test_admin_pages_speak_the_guides_words(app, account_id):
    _start(app, account_id, "张伟")
    admin = _admin(app, account_id)
    listed = admin.get("/admin/instances").data.decode()
    assert "<td>签订买卖合同线上</td>" in listed and "<td>办理中</td>" in listed and "<td>张伟</td>" in listed
    assert ">online_signing<" not in listed and ">running<" not in listed
    home = admin.get("/admin/").data.decode()
    assert "<td>系统</td>" in home and "办理中</a> 1" in home and "（估计值）" in home
    with app.app_context():
        instance_id = db.session.scalars(sa.select(ProcessInstance.id)).one()
        db.session.remove()
    page = admin.get(f"/admin/instances/{instance_id}").data.decode()
    assert "<td>业务发起</td><td>张伟</td>" in page and "instance_started" not in page
    assert "<td>选择业务类型</td><td>卖方</td><td>待办理</td>" in page
    english = _admin(app, account_id)
    english.get("/lang/en")
    listed = english.get("/admin/instances").data.decode()
    assert "<td>Sign a sale contract online</td>" in listed and "<td>In progress</td>" in listed


def test_list_pages_keep_their_filters_and_end(app, account_id):
    for name in SELLERS:
        _start(app, account_id, name)
    admin = _admin(app, account_id)
    first = admin.get("/admin/instances?process=签订买卖合同线上&status=running&limit=2").data.decode()
    assert first.count('href="/admin/instances/') == 2 and "共 3 条" in first
    link = _next_link(first)
    assert link and "status=running" in link and "limit=2" in link and "process=" in link
    last = admin.get(link).data.decode()
    assert last.count('href="/admin/instances/') == 1 and _next_link(last) is None and "第一页" in last
    assert 'selected>办理中' in last.replace('"running" ', "")
    # A filter that matches nothing shows no 下一页 either.
    empty = admin.get("/admin/instances?process=签订买卖合同线下").data.decode()
    assert "没有符合条件的实例" in empty and _next_link(empty) is None
    # The audit trail, newest first, by kind and by person (as the page shows the name).
    audit = admin.get("/admin/audit?kind=instance_started&actor=王强").data.decode()
    assert audit.count("<td>业务发起</td><td>王强</td>") == 1 and "张伟" not in audit
    pages, link = 0, "/admin/audit?kind=instance_started&limit=1"
    while link:
        page = admin.get(link).data.decode()
        assert page.count("<td>业务发起</td>") == 1
        pages, link = pages + 1, _next_link(page)
        assert link is None or "kind=instance_started" in link
    assert pages == 3
    assert admin.get("/admin/audit?from=2026-13-01").status_code == 422


def _break_registry(app):
    registry = app.extensions["netsign_registry"]
    original = registry.services["verify_property"]

    def registry_down(ctx, **params):
        raise RuntimeError("不动产登记系统暂时不可用")

    registry.services["verify_property"] = registry_down
    return lambda: registry.services.__setitem__("verify_property", original)


def test_bulk_retry_retries_only_the_selected_and_only_for_admins(app, account_id):
    restore = _break_registry(app)
    for name in SELLERS[:2]:
        seller, url = _start(app, account_id, name)
        seller.post(url, data={"business_type": "存量房买卖"})
        query_url = re.search(r'href="(/task/[^"]+)"', seller.get("/todo").data.decode()).group(1)
        seller.post(query_url, data=CERT)
    restore()
    with app.app_context():
        chosen, other = db.session.scalars(sa.select(Incident.id).order_by(Incident.id)).all()
        db.session.remove()
    admin = _admin(app, account_id)
    page = admin.get("/admin/incidents?process=签订买卖合同线上").data.decode()
    assert f'name="incident" value="{chosen}"' in page and f'name="incident" value="{other}"' in page
    assert "不动产登记系统暂时不可用" in page and "<td>签订买卖合同线上</td>" in page and "共 2 条" in page
    clerk = app.test_client()
    login_as(clerk, account_id("窗口受理员甲"))
    assert clerk.post("/admin/incidents/retry", data={"incident": [str(chosen), str(other)]}).status_code == 403
    answer = admin.post("/admin/incidents/retry", data={"incident": [str(chosen)]}, follow_redirects=True)
    assert "已重试 1 个异常事件" in answer.data.decode()
    with app.app_context():
        statuses = dict(db.session.execute(sa.select(Incident.id, Incident.status)).all())
        db.session.remove()
    assert statuses == {chosen: "resolved", other: "open"}
    open_page = admin.get("/admin/incidents").data.decode()
    assert f'value="{other}"' in open_page and f'value="{chosen}"' not in open_page
    resolved = admin.get("/admin/incidents?status=resolved").data.decode()
    assert "<td>已解决</td>" in resolved and f"<td>{chosen}</td>" in resolved


def test_audit_shows_deploys_password_resets_and_account_changes(app, account_id):
    _start(app, account_id, "张伟")  # instance events on the same page as events of no instance
    clerk = app.test_client()
    login_as(clerk, account_id("窗口受理员甲"))
    clerk.post("/inbox/reset-password", data={"id_number": ZHANG_WEI_ID, "id_checked": "on"})
    newcomer = app.test_client()
    from .test_accounts import NEW_ID
    newcomer.post("/login/yss-new", data={"name": "黄丽", "id_number": NEW_ID})
    newcomer.post("/associate", data={"action": "create"})
    admin = _admin(app, account_id)
    reset = admin.get("/admin/audit?kind=password_reset").data.decode()
    assert "<td>重置密码</td><td>窗口受理员甲</td>" in reset and "张伟" in reset
    created = admin.get("/admin/audit?kind=account_created").data.decode()
    assert "<td>创建网签账号</td><td>黄丽</td>" in created
    deployed = admin.get("/admin/audit?kind=definition_deployed").data.decode()
    assert "<td>部署流程</td><td>系统</td>" in deployed and "签订买卖合同线上 v1" in deployed
    everything = admin.get("/admin/audit").data.decode()
    assert "重置密码" in everything and "创建网签账号" in everything and "业务发起" in everything
    assert "password_reset" not in everything.split(
        "<table>")[1]


def test_timers_page_lists_waiting_timers_by_process_and_due_day(app, account_id):
    with time_machine.travel(datetime.fromisoformat("2026-11-23T10:00:00+08:00"), tick=False):
        seller, url = _start(app, account_id, "张伟")
        url = follow_task(seller, seller.post(url, data={"business_type": "存量房买卖"}))
        url = follow_task(seller, seller.post(url, data=CERT))
        follow_task(seller, seller.post(url, data={}))  # 确认房源: the contract exists, its deadline waits
    admin = _admin(app, account_id)
    page = admin.get("/admin/timers").data.decode()
    assert "<td>合同逾期未签</td><td>签订买卖合同线上</td>" in page and "<td>等待中</td>" in page
    due = re.search(r"<td>合同逾期未签</td>.*?<td>(2026-11-\d\d \d\d:\d\d)", page, re.S).group(1)
    day = due[:10]
    assert "合同逾期未签" in admin.get(f"/admin/timers?process=签订买卖合同线上&from={day}&to={day}").data.decode()
    before = admin.get("/admin/timers?to=2026-11-22").data.decode()
    assert "合同逾期未签" not in before and "没有符合条件的定时器" in before
    assert "合同逾期未签" not in admin.get("/admin/timers?process=签订买卖合同线下").data.decode()
    assert admin.get("/admin/timers?to=31-12-2026").status_code == 422


def test_a_renamed_upload_is_refused_in_chinese_with_a_hint(app, account_id):
    admin = _admin(app, account_id)
    xml = (ROOT / "processes" / "online_signing.bpmn").read_bytes()
    response = admin.post("/admin/deploy", data={"files": (io.BytesIO(xml), "online_signing_v2.bpmn")},
                          content_type="multipart/form-data")
    page = response.data.decode()
    assert response.status_code == 422
    assert "流程标识重复：online_signing" in page and "online_signing.bpmn" in page and "原来的文件名" in page
    assert "Duplicate process ID" not in page


def test_api_lists_add_labels_and_a_capped_total(app, account_id):
    for name in SELLERS:
        _start(app, account_id, name)
    admin = _admin(app, account_id)
    listed = admin.get("/api/v1/instances?limit=2&process_id=签订买卖合同线上")
    assert listed.headers["X-Total-Count"] == "3" and "X-Total-Capped" not in listed.headers
    first = listed.get_json()[0]
    assert first["status"] == "running" and first["status_label"] == "办理中"
    assert first["process_id"] == "online_signing" and first["process_label"] == "签订买卖合同线上"
    assert first["started_by_label"] == "刘芳"
    audit = admin.get("/api/v1/audit?kind=definition_deployed&limit=1")
    [event] = audit.get_json()
    assert event["kind_label"] == "部署流程" and event["actor"] == "system" and event["actor_label"] == "系统"
    assert audit.headers["X-Next-Cursor"] and int(audit.headers["X-Total-Count"]) > 1
    assert admin.get("/api/v1/audit?kind=no_such_kind").status_code == 422
    assert admin.get("/api/v1/incidents?status=all").get_json() == []
    assert admin.get("/api/v1/timers?from=2026-01-01").status_code == 200
