"""A form sent after the deletion deadline: the page says the contract was deleted at the deadline."""
from __future__ import annotations

from datetime import datetime

import time_machine

from .conftest import login_as
from .test_portal import CERT, CONTRACT, follow_task


def test_a_late_form_is_told_the_contract_was_deleted(client, account_id):
    from handlers.demo import ZHAO_MIN_ID
    with time_machine.travel(datetime.fromisoformat("2026-11-23T10:00:00+08:00"), tick=False) as clock:
        login_as(client, account_id("张伟"))
        url = follow_task(client, client.post("/start/online_signing"))
        url = follow_task(client, client.post(url, data={"business_type": "存量房买卖"}))
        url = follow_task(client, client.post(url, data=CERT))
        fill = follow_task(client, client.post(url, data={}))  # → 填写买卖合同
        clock.move_to(datetime.fromisoformat("2026-11-25T00:00:01+08:00"))  # no worker sweep yet
        page = client.post(fill, data=dict(CONTRACT, **{"buyers-0-id_number": ZHAO_MIN_ID}),
                           follow_redirects=True).data.decode()
        assert "已超过办理期限" in page and "合同已自动删除" in page
        assert "已删除" in page  # 首页 lists the contract as deleted already
