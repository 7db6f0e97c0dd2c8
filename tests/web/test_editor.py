"""The analysts' editor behind the admin pages: open, check (problems tied to elements), drafts, the
difference to the running version, deploy with a reason; admins only, file names checked."""
from __future__ import annotations

import sqlalchemy as sa

from engine.models import AuditEvent, DefinitionDraft, ProcessDefinition
from web.extensions import db

from .conftest import login_as

DEADLINE = 'contract["deletion_deadline"]'


def running(client, name="online_signing.bpmn") -> str:
    response = client.get(f"/admin/editor/{name}/xml?source=deployed")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def as_admin(client, account_id):
    login_as(client, account_id("系统管理员"))
    return client


def test_only_admins_open_the_editor(client, account_id):
    login_as(client, account_id("窗口受理员甲"))
    assert client.get("/admin/editor/").status_code == 403
    assert client.post("/admin/editor/online_signing.bpmn/check", json={"xml": "<x/>"}).status_code == 403


def test_the_file_list_names_processes_and_versions(client, account_id):
    page = as_admin(client, account_id).get("/admin/editor/").get_data(as_text=True)
    assert "online_signing.bpmn" in page and "签订买卖合同线上" in page and "materials.dmn" in page
    editor_page = client.get("/admin/editor/online_signing.bpmn").get_data(as_text=True)
    assert "build/editor.js" in editor_page and "部署原因" in editor_page


def test_names_that_are_not_a_deployed_file_are_absent(client, account_id):
    as_admin(client, account_id)
    for name in ("..%2Fpyproject.toml", "nope.bpmn", "online_signing.py"):
        assert client.get(f"/admin/editor/{name}/xml").status_code == 404, name


def test_check_marks_the_element_with_the_bad_expression(client, account_id):
    xml = running(as_admin(client, account_id))
    bad = xml.replace(DEADLINE, '__import__("os").system("true")', 1)
    answer = client.post("/admin/editor/online_signing.bpmn/check", json={"xml": bad}).get_json()
    assert answer["problems"], answer
    assert any("Event_signing_deadline" in p["elements"] for p in answer["problems"])
    assert "不安全" in answer["problems"][0]["message"]
    clean = client.post("/admin/editor/online_signing.bpmn/check", json={"xml": xml}).get_json()
    assert clean["problems"] == []


def test_not_xml_is_refused_in_chinese(client, account_id):
    as_admin(client, account_id)
    response = client.post("/admin/editor/online_signing.bpmn/draft", json={"xml": "<bpmn:definitions"})
    assert response.status_code == 422 or response.status_code == 400
    assert "不是有效的 XML" in response.get_json()["message"]


def test_a_draft_is_kept_opened_and_discarded(client, account_id, app):
    xml = running(as_admin(client, account_id))
    changed = xml.replace('name="提交"', 'name="提交合同"', 1)
    saved = client.post("/admin/editor/online_signing.bpmn/draft", json={"xml": changed}).get_json()
    assert saved["saved_by"] and saved["saved_at"]
    assert client.get("/admin/editor/online_signing.bpmn/xml").get_data(as_text=True) == changed
    assert "有草稿" in client.get("/admin/editor/").get_data(as_text=True)
    assert running(client) == xml  # the running version is untouched
    client.post("/admin/editor/online_signing.bpmn/draft/discard", json={})
    assert client.get("/admin/editor/online_signing.bpmn/xml?source=draft").status_code == 404


def test_the_difference_names_what_changed(client, account_id):
    xml = running(as_admin(client, account_id))
    changed = xml.replace(DEADLINE, 'contract["created_at"]', 1).replace('name="提交"', 'name="提交合同"', 1)
    answer = client.post("/admin/editor/online_signing.bpmn/diff", json={"xml": changed}).get_json()
    by_id = {c["id"]: c for c in answer["changed"]}
    assert by_id["Event_signing_deadline"]["what"] == ["定时器"]
    assert by_id["Activity_final_submit"]["what"] == ["名称"]
    assert answer["added"] == [] and answer["removed"] == [] and answer["version"] == 1


def test_deploy_needs_a_reason_and_records_it(client, account_id, app):
    xml = running(as_admin(client, account_id))
    changed = xml.replace('name="提交"', 'name="提交合同"', 1)
    client.post("/admin/editor/online_signing.bpmn/draft", json={"xml": changed})
    refused = client.post("/admin/editor/online_signing.bpmn/deploy", json={"xml": changed, "reason": " "})
    assert refused.status_code in (400, 422) and refused.get_json()["message"] == "请填写部署原因"
    answer = client.post("/admin/editor/online_signing.bpmn/deploy",
                         json={"xml": changed, "reason": "按业务科意见改名"}).get_json()
    assert {"process_id": "online_signing", "version": 2} in answer["versions"]
    with app.app_context():
        newest = db.session.scalars(sa.select(ProcessDefinition).where(
            ProcessDefinition.process_id == "online_signing", ProcessDefinition.version == 2)).one()
        assert 'name="提交合同"' in newest.sources["online_signing.bpmn"]
        deployed = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.kind == "definition_deployed")
                                      .order_by(AuditEvent.id.desc())).first()
        assert deployed.details["reason"] == "按业务科意见改名"
        assert db.session.scalars(sa.select(DefinitionDraft)).first() is None
        db.session.remove()


def test_a_refused_deploy_stores_nothing_and_marks_the_element(client, account_id, app):
    xml = running(as_admin(client, account_id))
    bad = xml.replace(DEADLINE, "open('/etc/passwd')", 1)
    response = client.post("/admin/editor/online_signing.bpmn/deploy", json={"xml": bad, "reason": "试一试"})
    assert response.status_code in (400, 422)
    problems = response.get_json()["errors"]["problems"]
    assert any("Event_signing_deadline" in p["elements"] for p in problems)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ProcessDefinition).where(
            ProcessDefinition.process_id == "online_signing")) == 1
        db.session.remove()
