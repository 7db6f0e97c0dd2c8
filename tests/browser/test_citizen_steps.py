"""A citizen's steps in a real browser (Chromium), desktop (1280 px) and phone (390 px) screenshots in
artifacts/browser/: the 建设银行 「龙存管」 supervision path; re-editing after 「注销电子合同订单」 with
every form prefilled; the signing status updating by itself while a party signs on the phone; and the
signed contract downloaded as a PDF with its 备案编号."""
from __future__ import annotations

import re
import subprocess

from handlers.demo import ZHANG_WEI_ID, ZHAO_MIN_ID

from .test_walkthrough import SHOTS, fill_terms_to_supervision, see, submit_and_confirm

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def shots(page, name):
    """The same page at desktop and phone width."""
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=str(SHOTS / f"citizen-{name}-{label}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def sign_in(page, base, person):
    page.goto(base + "/login")
    page.select_option("select[name=unified_id]", label=person)
    page.click("button:has-text('扫码登录')")


def draft_to_fund_supervision(page, base):
    sign_in(page, base, "张伟")
    page.click("button:has-text('签订买卖合同线上')")
    page.select_option("#business_type", "存量房买卖")
    page.click("button:has-text('下一步')")
    assert page.input_value("#fixed_name") == "张伟" and page.get_attribute("#owner_name", "readonly") is not None
    page.fill("#certificate_no", "粤(2023)中山市不动产权第0012345号")
    page.fill("#check_code", "482916")
    page.click("button:has-text('查询')")
    see(page, "翠景花园")
    shots(page, "01-confirm-property")
    page.click("button:has-text('签订合同')")
    page.fill("[name=sellers-0-phone]", "13800001111")
    page.fill("[name=buyers-0-name]", "赵敏")
    page.fill("[name=buyers-0-id_number]", ZHAO_MIN_ID)
    page.fill("[name=buyers-0-phone]", "13900005555")
    fill_terms_to_supervision(page)
    see(page, "建议选择资金监管")


def ccb_supervision(browser, page):
    """建设银行 → 「龙存管」 in a new tab: both parties sign; back in the portal 「下一步」 goes on."""
    page.check("input[name=fund_supervised]")
    page.select_option("#supervision_bank", "建设银行")
    page.click("button:has-text('保存并继续')")
    see(page, "待签署资金监管协议")
    shots(page, "02-sign-supervision")
    with page.context.expect_page() as opened:
        page.click("#to-longcunguan")
    bank = opened.value
    bank.wait_for_load_state()
    bank.set_viewport_size(PHONE)
    for index, (name, id_number) in enumerate((("张伟", ZHANG_WEI_ID), ("赵敏", ZHAO_MIN_ID))):
        bank.fill(f"#name-{index}", name)
        bank.fill(f"#id_number-{index}", id_number)
    bank.screenshot(path=str(SHOTS / "citizen-03-longcunguan-phone.png"), full_page=True)
    bank.click("button:has-text('确认签署资金监管协议')")
    agreement_no = bank.inner_text("#agreement-no")
    bank.close()
    page.reload()
    see(page, f"协议编号 {agreement_no}")
    page.click("button:has-text('下一步')")
    see(page, "0760-88363077")  # the notes, in full
    return agreement_no


def to_order(page):
    page.check("input[name=acknowledged]")
    page.click("button:has-text('保存并继续')")
    see(page, "再次确认合同信息无误")
    submit_and_confirm(page)
    see(page, "再次确认合同信息无误")
    page.click("button:has-text('生成电子合同订单')")
    see(page, "已创建订单，待签字")


def test_ccb_supervision_path_and_re_editing_with_prefilled_forms(live_server, browser):
    page = browser.new_page(viewport=DESKTOP)
    draft_to_fund_supervision(page, live_server)
    agreement_no = ccb_supervision(browser, page)
    to_order(page)
    contract_url = page.url.split("?")[0]

    # 「注销电子合同订单」 asks in a dialog; 「确定」 cancels; 修改合同 brings back every form as it was.
    page.click("#cancel-order")
    page.wait_for_selector("dialog#confirm-cancel-order[open]")
    shots(page, "04-cancel-order-dialog")
    page.click("dialog#confirm-cancel-order button:has-text('确定')")
    see(page, "电子合同订单已注销")
    page.click("text=选择修改或删除")
    page.select_option("#after_cancel_action", "修改合同")
    page.click("button:has-text('保存并继续')")
    assert page.input_value("[name=buyers-0-name]") == "赵敏" and page.input_value("#price") in ("1580000", "1580000.00")
    page.click("button:has-text('保存并继续')")
    assert page.input_value("#applicant_phone") == "13800001111"
    page.click("button:has-text('保存并继续')")
    assert page.input_value("#rating_level") == "非常满意"
    page.click("button:has-text('保存并继续')")
    assert page.is_checked("input[name=fund_supervised]") and page.input_value("#supervision_bank") == "建设银行"
    shots(page, "05-re-edit-fund-supervision")
    page.click("button:has-text('保存并继续')")
    see(page, f"协议编号 {agreement_no}")  # the agreement signed in the first round still counts
    page.click("button:has-text('下一步')")
    assert page.is_checked("input[name=acknowledged]")
    page.click("button:has-text('保存并继续')")
    submit_and_confirm(page)
    page.click("button:has-text('生成电子合同订单')")
    see(page, "已创建订单，待签字")
    assert page.url.split("?")[0] == contract_url


def sign_on_phone(browser, base, person, id_number):
    """``person`` signs in on a phone, opens their own signing link (the text link under the QR) and signs."""
    phone = browser.new_page(viewport=PHONE)
    sign_in(phone, base, person)
    phone.goto(base + "/")
    phone.click("a[href*='/contract/ZS']")
    phone.click("text=查看二维码")
    link = phone.get_attribute("a.link", "href")
    phone.goto(link)
    phone.click("text=确定签署")
    phone.fill("#name", person)
    phone.fill("#id_number", id_number)
    phone.click("text=确认授权")
    phone.wait_for_selector("#face-done:enabled", timeout=10000)
    phone.click("#face-done")
    see(phone, "签名成功")
    phone.close()


def test_signing_status_updates_by_itself_and_the_signed_contract_downloads(live_server, browser, tmp_path):
    page = browser.new_page(viewport=DESKTOP, accept_downloads=True)
    draft_to_fund_supervision(page, live_server)
    page.click("button:has-text('保存并继续')")  # 不选择资金监管
    to_order(page)
    page.click("text=查看二维码")
    see(page, "使用手机微信扫描二维码进行电子签名操作")
    shots(page, "06-qr-with-instructions")
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)

    sign_on_phone(browser, live_server, "赵敏", ZHAO_MIN_ID)
    page.wait_for_function("document.getElementById('sig-1').textContent === '签名成功'", timeout=15000)
    assert page.inner_text("#sig-0") == "待签字" and navigations == []  # updated in place, no reload
    sign_on_phone(browser, live_server, "张伟", ZHANG_WEI_ID)
    page.wait_for_selector("#all-signed:not([hidden])", timeout=15000)
    assert page.inner_text("#order-status") == "订单已经完成签字" and navigations == []
    assert not page.is_visible("#while-waiting") and not page.is_visible("img[alt='签署二维码']")
    shots(page, "07-all-signed")
    page.click("#signed-tasks a:has-text('提交')")
    see(page, "再次确认合同信息无误")
    submit_and_confirm(page)
    see(page, "不动产转移登记")  # back on the contract page, 已签约
    filing_no = page.inner_text("#filing-no")
    shots(page, "08-filed")
    with page.expect_download() as download:
        page.click("#signed-pdf")
    path = tmp_path / "signed.pdf"
    download.value.save_as(str(path))
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True).stdout.decode()
    assert re.fullmatch(r"ZSBA\d{14}", filing_no) and filing_no in text
    assert "签名成功" in text and "不动产转移登记" in text
