"""Due dates on the pages: the staff 工作台 and the citizen 待办 show the 办理期限 in Beijing time, mark what
is overdue (「已逾期」) and filter by it. (How the due time comes from the diagram: tests/processes/test_due_dates.py.)"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from engine.models import InboxTask
from web.extensions import db

from .conftest import login_as
from .test_staff import offline_at_window


def _set_due(app, name, due):
    """As a dueIn in the diagram would have set it."""
    with app.app_context():
        db.session.execute(sa.update(InboxTask).where(InboxTask.state == "READY", InboxTask.name == name)
                           .values(due_at=due))
        db.session.commit()
        db.session.remove()


def test_overdue_tasks_are_marked_and_filtered_in_the_inbox_and_the_todo_list(app, client, account_id):
    login_as(client, account_id("张伟"))
    offline_at_window(client)
    clerk = app.test_client()
    login_as(clerk, account_id("窗口受理员甲"))
    later = datetime.now(timezone.utc) + timedelta(hours=5)
    _set_due(app, "受理并核验身份", later)
    page = clerk.get("/inbox/").get_data(as_text=True)
    assert "办理期限" in page and later.astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M") in page
    assert "badge overdue" not in page
    assert "受理并核验身份" not in clerk.get("/inbox/?overdue=on").get_data(as_text=True)
    _set_due(app, "受理并核验身份", datetime(2026, 1, 2, 1, 0, tzinfo=timezone.utc))
    page = clerk.get("/inbox/?overdue=on").get_data(as_text=True)
    assert "受理并核验身份" in page and 'class="inbox-task overdue"' in page and "2026-01-02 09:00" in page

    # A citizen's task with a due date shows in 待办 the same way.
    citizen = app.test_client()
    login_as(citizen, account_id("李秀英"))
    citizen.post("/start/online_signing")
    todo = citizen.get("/todo").get_data(as_text=True)
    assert "选择业务类型" in todo and "已逾期</span>" not in todo
    assert "选择业务类型" not in citizen.get("/todo?overdue=1").get_data(as_text=True)
    _set_due(app, "选择业务类型", datetime(2026, 1, 2, 1, 0, tzinfo=timezone.utc))
    todo = citizen.get("/todo?overdue=1").get_data(as_text=True)
    assert 'class="todo-item overdue"' in todo and "选择业务类型" in todo and "2026-01-02 09:00" in todo
