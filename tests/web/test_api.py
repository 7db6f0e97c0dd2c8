"""The JSON API endpoints: what each role gets, and what it is refused."""
from __future__ import annotations

from .conftest import login_as
from .test_staff import offline_at_window


def test_admin_read_outs(app, client, account_id):
    seller = app.test_client()
    login_as(seller, account_id("张伟"))
    offline_at_window(seller)
    assert client.get("/api/v1/definitions").status_code == 401
    login_as(client, account_id("系统管理员"))
    definitions = client.get("/api/v1/definitions").get_json()
    assert {d["process_id"] for d in definitions} >= {"online_signing", "offline_signing", "online_cancellation",
                                                      "offline_cancellation"}
    [instance] = client.get("/api/v1/instances?status=running").get_json()
    assert instance["process_id"] == "offline_signing" and instance["business_key"].startswith("ZS")
    [timer] = client.get("/api/v1/timers").get_json()
    assert timer["name"] == "合同逾期未签" and timer["due_at"].endswith("+08:00")  # Beijing time, as the pages show it
    assert client.get("/api/v1/incidents").get_json() == []
    assert client.post("/api/v1/incidents/999/retry").get_json() == {"retried": 0}


def test_staff_claims_and_releases_through_the_api(app, client, account_id):
    seller = app.test_client()
    login_as(seller, account_id("张伟"))
    offline_at_window(seller)
    login_as(client, account_id("窗口受理员甲"))
    [task] = client.get("/api/v1/tasks").get_json()
    assert task["name"] == "受理并核验身份" and task["role"] == "clerk"
    assert client.post(f"/api/v1/tasks/{task['id']}/claim").get_json() == {"claimed": True}
    other = app.test_client()
    login_as(other, account_id("窗口受理员乙"))
    refused = other.post(f"/api/v1/tasks/{task['id']}/claim")
    assert refused.status_code == 409 and "已由其他人员认领" in refused.get_json()["message"]
    assert client.post(f"/api/v1/tasks/{task['id']}/release").get_json() == {"released": True}
    done = other.post(f"/api/v1/tasks/{task['id']}/complete", json={"identities_checked": True})
    assert done.status_code == 200 and done.get_json()["ready_tasks"][0]["name"] == "打印表格并上传材料"
    reviewer = app.test_client()
    login_as(reviewer, account_id("审核员甲"))
    assert reviewer.get("/api/v1/tasks").get_json() == []
    assert seller.post(f"/api/v1/tasks/{task['id']}/claim").status_code == 403


def test_complete_needs_a_json_object(client, account_id):
    login_as(client, account_id("张伟"))
    client.post("/start/online_signing")
    [task] = client.get("/api/v1/tasks").get_json()
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", data="[1]", content_type="application/json")
    assert response.status_code == 400 and response.get_json()["message"] == "请求体应为 JSON 对象"
    ok = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"business_type": "存量房买卖"})
    assert ok.get_json()["ready_tasks"][0]["name"] == "查询房源"


def test_openapi_is_generated_from_the_views(app, client):
    from web import api, openapi
    assert openapi.undocumented(app, allowed=api.NOT_OPERATIONS) == []
    doc = client.get("/api/v1/openapi.json").get_json()
    routes = {openapi.FlaskPlugin.flaskpath2openapi(r.rule) for r in app.url_map.iter_rules()
              if r.endpoint.startswith(openapi.PREFIXES) and r.endpoint not in api.NOT_OPERATIONS}
    assert set(doc["paths"]) == routes
    instances = doc["paths"]["/api/v1/instances"]["get"]
    assert {p["name"] for p in instances["parameters"]} == {"after", "limit", "status", "business_key",
                                                            "business_key_prefix", "process_id"}
    assert "X-Total-Count" in instances["responses"]["200"]["headers"]
    assert "X-Next-Cursor" in instances["responses"]["200"]["headers"]
    assert instances["security"] == [{"session": []}] and "403" in instances["responses"]
    assert doc["components"]["securitySchemes"]["session"] == {"type": "apiKey", "in": "cookie", "name": "session"}
    callback = doc["paths"]["/api/v1/esign/callback"]["post"]
    assert callback["security"] == [{"esignSignature": []}] and "requestBody" in callback
    retry = doc["paths"]["/api/v1/incidents/{incident_id}/retry"]["post"]
    assert retry["parameters"][0] == {"name": "incident_id", "in": "path", "required": True,
                                      "schema": {"type": "integer"}}


def test_api_lists_are_pages_of_the_read_model(app, client, account_id):
    for name in ("张伟", "王强", "刘芳"):
        seller = app.test_client()
        login_as(seller, account_id(name))
        seller.post("/start/online_signing")
    login_as(client, account_id("系统管理员"))
    first = client.get("/api/v1/instances?limit=2")
    assert len(first.get_json()) == 2 and first.headers["X-Next-Cursor"]
    rest = client.get(f"/api/v1/instances?limit=2&after={first.headers['X-Next-Cursor']}")
    assert len(rest.get_json()) == 1 and "X-Next-Cursor" not in rest.headers
    ids = [i["id"] for i in first.get_json() + rest.get_json()]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 3
    bad = client.get("/api/v1/instances?limit=0")
    assert bad.status_code == 422 and "limit" in bad.get_json()["errors"]
    forged = client.get("/api/v1/instances?after=forged")
    assert forged.status_code == 400 and "分页参数无效" in forged.get_json()["message"]
