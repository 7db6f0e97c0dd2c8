"""Issue #12: the reminder SMS of 「删除前一晚提醒」 appears in the sandbox outbox once the clock reaches the
evening before the deletion, seen in a browser.

The seller creates a contract in Chromium and reads its number and its deletion time on 首页; the timer
worker, a separate app on the same database as a real worker is, sweeps now (nothing is due: the outbox
stays empty) and again with its clock moved to that evening; the seller then finds, on the sandbox SMS
page, the reminder to the phone given for the seller, with the contract number and the deletion time in
Beijing time. In English the page is English and the message stays as it was sent.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import time_machine

from engine.worker import run
from handlers.deadlines import BEIJING
from web import create_app
from web.config import TestConfig
from web.extensions import db

from .test_walkthrough import fill_terms_to_supervision, seller_opens_contract, shot

SELLER_PHONE = "13800001111"  # what seller_opens_contract types for 张伟


def worker_sweeps(database_url, tmp_path) -> dict[str, int]:
    """One run of `netsign worker --once` at the process's current time (moved or not)."""
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url, VAR_DIR=str(tmp_path / "worker"),
                     UPLOAD_DIR=str(tmp_path / "uploads"), ESIGN_CALLBACK_SECRET="web-test-secret")
    with app.app_context():
        services = app.extensions["netsign"]
        try:
            return run(services.engine, once=True, beat=False)
        finally:
            services.end_session()
            db.session.remove()
            db.engine.dispose()


def open_outbox_for(page, base, phone: str) -> None:
    page.goto(base + "/sandbox/sms")
    page.fill("#phone", phone)
    page.click("button:has-text('查询')")
    page.wait_for_url("**/sandbox/sms?phone=*")


def test_the_reminder_sms_reaches_the_sandbox_outbox_when_the_clock_moves(live_server, browser, database_url,
                                                                           tmp_path):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    seller_opens_contract(page, live_server, "签订买卖合同线上", "粤（2023）中山市不动产权第0012345号")
    fill_terms_to_supervision(page)

    page.goto(live_server + "/")
    row = page.locator("tr", has=page.locator("a[href*='/contract/']")).first
    contract_no = row.locator("td").nth(0).inner_text().strip()
    shown_deadline = row.locator("td").nth(4).inner_text().strip()  # 自动删除时间, Beijing time
    deadline = datetime.strptime(shown_deadline, "%Y-%m-%d %H:%M").replace(tzinfo=BEIJING)
    assert contract_no.startswith("ZS") and deadline > datetime.now(BEIJING)

    # Before the clock moves: the worker finds nothing due, and the outbox has nothing for this contract.
    assert worker_sweeps(database_url, tmp_path)["timers"] == 0
    open_outbox_for(page, live_server, SELLER_PHONE)
    assert page.locator("tr.sms").count() == 0
    assert "暂无短信" in page.inner_text("main")
    assert contract_no not in page.inner_text("main")

    # The evening before the deletion (the reminder is due at 20:00 Beijing time, the deletion at the deadline).
    with time_machine.travel(deadline - timedelta(hours=3), tick=False):
        done = worker_sweeps(database_url, tmp_path)
    assert done["timers"] == 1 and done["events"] == 1

    open_outbox_for(page, live_server, SELLER_PHONE)
    shot(page, "07-reminder-sms")
    group = page.locator("section.sms-phone")
    assert group.count() == 1 and group.locator("h2").inner_text().strip() == SELLER_PHONE
    texts = [m.inner_text() for m in group.locator("tr.sms td:nth-child(2)").all()]
    reminders = [t for t in texts if "尚未完成电子签名或备案" in t]
    assert len(reminders) == 1
    reminder = reminders[0]
    assert reminder.startswith("【中山市存量房网签】") and f"合同{contract_no}尚未完成电子签名或备案" in reminder
    assert f"系统将于{deadline:%Y年%m月%d日 %H:%M}自动删除该合同" in reminder
    sent_at = group.locator("tr.sms td:nth-child(1)").first.inner_text().strip()
    assert sent_at == f"{deadline - timedelta(hours=3):%Y-%m-%d %H:%M}"  # the worker's moved clock, Beijing time

    # An English reader gets the page in English; the message is shown as it was sent.
    page.click("header a:has-text('English')")
    page.wait_for_selector("h1:has-text('Sent text messages')")
    assert page.locator("tr.sms td:nth-child(2)", has_text=f"合同{contract_no}尚未完成电子签名或备案").count() == 1
    assert "Sent (Beijing time)" in page.inner_text("main")
    page.close()
