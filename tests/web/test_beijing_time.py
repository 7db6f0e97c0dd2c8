"""The same moment reads the same everywhere: pages in Beijing time (labelled), the API as ISO 8601
with +08:00. A task that arrived at 01:45 UTC shows 09:45 on the citizen's 待办 and the staff inbox."""
from __future__ import annotations

from datetime import datetime

import time_machine

from .conftest import login_as
from .test_contract_form_page import contract_form_url

ARRIVED = datetime.fromisoformat("2026-11-23T01:45:00+00:00")  # 09:45 in Beijing


def test_citizen_todo_and_api_read_beijing_time(app, client, account_id):
    seller = account_id("张伟")
    with time_machine.travel(ARRIVED, tick=False):  # signed in at that time too (the session is dated)
        login_as(client, seller)
        contract_form_url(client)  # the contract exists, its deadline waits, 填写买卖合同 is open
    login_as(client, seller)
    todo = client.get("/todo").get_data(as_text=True)
    assert "2026-11-23 09:45" in todo and "01:45" not in todo and "时间均为北京时间" in todo
    answer = client.get("/api/v1/contracts").get_json()
    contract = (answer["items"] if isinstance(answer, dict) else answer)[0]
    assert contract["deletion_deadline"].endswith("+08:00")
    assert contract["deletion_deadline"].startswith("2026-11-25T00:00")
    answer = client.get("/api/v1/tasks").get_json()
    tasks = answer["items"] if isinstance(answer, dict) else answer
    assert tasks and all(t["created_at"].endswith("+08:00") for t in tasks)


def test_staff_inbox_shows_arrival_in_beijing_time(app, client, account_id):
    clerk = account_id("窗口受理员甲")
    with time_machine.travel(ARRIVED, tick=False):
        login_as(client, clerk)
        assert client.post("/inbox/start-offline-cancellation").status_code == 302
    login_as(client, clerk)
    page = client.get("/inbox/").get_data(as_text=True)
    assert "2026-11-23 09:45" in page and "时间均为北京时间" in page
