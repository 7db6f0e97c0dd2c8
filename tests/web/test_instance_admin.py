"""The administrator's instance operations and migrations, in the admin pages and the API; the deadline a
citizen reads is the diagram's timer, so a migrated contract shows its new deadline."""
from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import time_machine

from .conftest import login_as
from .test_portal import CERT, follow_task

ROOT = Path(__file__).resolve().parents[2]
TIMER = '>end_of_next_natural_day(contract["created_at"])</bpmn:timeDate>'


def deploy_two_natural_days(app) -> int:
    sources = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "processes").iterdir()
               if p.suffix in (".bpmn", ".dmn")}
    sources["online_signing.bpmn"] = sources["online_signing.bpmn"].replace(
        TIMER, '>end_of_natural_day(contract["created_at"], days=2)</bpmn:timeDate>')
    with app.app_context():
        services = app.extensions["netsign"]
        [result] = [r for r in services.engine.deploy(sources, actor="analyst") if r.process_id == "online_signing"]
        services.end_session()
    return result.definition_id


def contract_created(client) -> str:
    url = follow_task(client, client.post("/start/online_signing"))
    url = follow_task(client, client.post(url, data={"business_type": "存量房买卖"}))
    url = follow_task(client, client.post(url, data=CERT))
    follow_task(client, client.post(url, data={}))  # 确认房源: the contract and its deletion timer
    [contract] = client.get("/api/v1/contracts").get_json()
    return contract["contract_no"]


def test_migrating_a_contract_moves_the_deadline_it_shows(app, client, account_id):
    admin = app.test_client()
    with time_machine.travel(datetime.fromisoformat("2026-11-23T10:00:00+08:00"), tick=False):
        login_as(admin, account_id("系统管理员"))
        login_as(client, account_id("张伟"))
        contract_no = contract_created(client)
        assert "2026-11-25 00:00" in client.get(f"/contract/{contract_no}").data.decode()
        target = deploy_two_natural_days(app)

        report = admin.get("/admin/migrations/online_signing").data.decode()
        assert contract_no in report and "v1 → v2" in report and "合同逾期未签" in report
        [plan] = admin.get("/api/v1/definitions/online_signing/migration").get_json()
        assert plan["can_move"] and plan["business_key"] == contract_no
        done = admin.post("/admin/migrations/online_signing",
                          data={"to": str(target), "instance_ids": [str(plan["instance_id"])]},
                          follow_redirects=True).data.decode()
        assert "已从版本 1 迁移到版本 2" in done

        assert "2026-11-26 00:00" in client.get(f"/contract/{contract_no}").data.decode()
        assert "2026-11-26 00:00" in client.get("/").data.decode()
        [contract] = client.get("/api/v1/contracts").get_json()
        assert contract["deletion_deadline"] == "2026-11-26T00:00:00+08:00"  # the same moment, in Beijing time

        [snapshot] = admin.get(f"/api/v1/instances/{plan['instance_id']}/snapshots").get_json()
        page = admin.get(f"/admin/instances/{plan['instance_id']}").data.decode()
        assert "迁移前快照" in page and "可还原" in page
        admin.post(f"/admin/snapshots/{snapshot['id']}/revert")
        assert "2026-11-25 00:00" in client.get(f"/contract/{contract_no}").data.decode()


def test_suspend_resume_and_cancel_through_the_api(app, client, account_id):
    admin = app.test_client()
    with time_machine.travel(datetime.fromisoformat("2026-11-23T10:00:00+08:00"), tick=False):
        login_as(admin, account_id("系统管理员"))
        login_as(client, account_id("张伟"))
        contract_no = contract_created(client)
        [task] = client.get("/api/v1/tasks").get_json()
        instance_id = task["instance_id"]
        assert admin.post(f"/api/v1/instances/{instance_id}/suspend", json={"reason": "核查"}).get_json() == {
            "instance_id": instance_id, "status": "suspended"}
        assert "已被管理员暂停办理" in client.get(f"/contract/{contract_no}").data.decode()
        refused = client.post(f"/api/v1/tasks/{task['id']}/complete", json={})
        assert refused.status_code == 409 and "已被管理员暂停" in refused.get_json()["message"]
        page = admin.get(f"/admin/instances/{instance_id}").data.decode()
        assert "已暂停" in page and "恢复" in page
        assert admin.post(f"/api/v1/instances/{instance_id}/resume").get_json()["status"] == "running"
        assert "已被管理员暂停办理" not in client.get(f"/contract/{contract_no}").data.decode()
        missing = admin.post(f"/api/v1/instances/{instance_id}/cancel", json={})
        assert missing.status_code == 422 and "请填写取消原因" in missing.get_json()["message"]
        assert client.post(f"/api/v1/instances/{instance_id}/cancel", json={"reason": "x"}).status_code == 403
        done = admin.post(f"/admin/instances/{instance_id}/cancel", data={"reason": "当事人申请撤销"},
                          follow_redirects=True).data.decode()
        assert "已取消" in done and "当事人申请撤销" in done
        assert client.get("/api/v1/tasks").get_json() == []
    spec = admin.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/instances/{instance_id}/cancel", "/api/v1/instances/{instance_id}/suspend",
                 "/api/v1/instances/{instance_id}/resume", "/api/v1/instances/{instance_id}/reset",
                 "/api/v1/definitions/{process_id}/migration", "/api/v1/definitions/{process_id}/migrate",
                 "/api/v1/snapshots/{snapshot_id}/revert"):
        assert path in spec["paths"], path


def test_the_migration_dry_run_shows_words_not_codes(app, client, account_id):
    """The administrator reads the waiting task and its new element by the diagram's names, its state and the
    instance's status as words, the contract number, and who migrated by name; in English too."""
    admin = app.test_client()
    with time_machine.travel(datetime.fromisoformat("2026-11-23T10:00:00+08:00"), tick=False):
        login_as(admin, account_id("系统管理员"))
        login_as(client, account_id("张伟"))
        contract_no = contract_created(client)
        target = deploy_two_natural_days(app)

        report = admin.get("/admin/migrations/online_signing").data.decode()
        [row] = re.findall(r'<tr><td><input type="checkbox" name="instance_ids".*?</tr>', report, re.S)
        assert contract_no in row and "办理中" in row and "running" not in row
        assert "合同逾期未签（等待中）→ 合同逾期未签" in row
        assert not re.search(r"\b(READY|WAITING|STARTED)\b|Activity_|Event_", row)

        [plan] = admin.get("/api/v1/definitions/online_signing/migration").get_json()
        admin.post("/admin/migrations/online_signing", data={"to": str(target), "instance_ids": [str(plan["instance_id"])]})
        snapshots = admin.get("/admin/migrations/online_signing").data.decode().split("<h2>迁移前快照</h2>")[1]
        assert "系统管理员" in snapshots and contract_no in snapshots

        admin.get("/lang/en")
        english = admin.get("/admin/migrations/online_signing").data.decode()
        assert "Snapshots before migration" in english and "Revert" in english and "No instances to move" in english
        assert not re.search(r"[\u4e00-\u9fff]", english.split("<h2>Snapshots before migration</h2>")[1]
                             .replace("系统管理员", "").replace(contract_no, "").replace("中文", ""))


def test_after_an_admin_cancels_the_signing_the_seller_signs_the_home_again(app, client, account_id):
    """「房屋已有在办合同」 must not block the home for ever: the cancelled flow's contract is deleted."""
    admin = app.test_client()
    login_as(admin, account_id("系统管理员"))
    login_as(client, account_id("张伟"))
    first = contract_created(client)
    [task] = client.get("/api/v1/tasks").get_json()
    admin.post(f"/admin/instances/{task['instance_id']}/cancel", data={"reason": "当事人申请撤销"})
    page = client.get(f"/contract/{first}").data.decode()
    assert 'id="contract-status">已删除<' in page and "当事人申请撤销" in page
    url = follow_task(client, client.post("/start/online_signing"))
    url = follow_task(client, client.post(url, data={"business_type": "存量房买卖"}))
    url = follow_task(client, client.post(url, data=CERT))
    follow_task(client, client.post(url, data={}))  # 确认房源: a new contract for the same home
    contracts = {c["contract_no"]: c["status"] for c in client.get("/api/v1/contracts").get_json()}
    assert len(contracts) == 2 and contracts[first] == "已删除" and "草稿" in contracts.values()


def test_after_an_admin_cancels_a_cancellation_the_contract_may_be_cancelled_again(app, client, account_id):
    from .test_cancellation_pages import filed_through_the_pages
    admin = app.test_client()
    login_as(admin, account_id("系统管理员"))
    login_as(client, account_id("张伟"))
    contract_url = filed_through_the_pages(app, client)
    follow_task(client, client.post(contract_url + "/cancel-online"))  # → 录入注销原因
    assert "注销中" in client.get(contract_url).data.decode()
    [task] = client.get("/api/v1/tasks").get_json()
    assert admin.post(f"/api/v1/instances/{task['instance_id']}/cancel",
                      json={"reason": "申请人电话要求撤销"}).get_json()["status"] == "cancelled"
    page = client.get(contract_url).data.decode()
    assert 'id="contract-status">已签约<' in page and "注销中" not in page
    assert "存量房合同注销线上" in page  # the button is back
    follow_task(client, client.post(contract_url + "/cancel-online"))
    assert "注销中" in client.get(contract_url).data.decode()
