"""A real browser (Debian's Chromium, driven by Playwright) walks the guide end to end.

The seller signs in, verifies a home, fills a contract with two buyers by
shares and generates the e-contract order; each party signs in, sees only their own
QR code, which is read from a screenshot and opened, and signs on the sandbox 粤信签 page;
the seller submits and 首页 shows 「已签约」. Then a clerk and a reviewer complete
an offline filing in the staff inbox. Screenshots are kept in artifacts/browser/.
"""
from __future__ import annotations

import re
import socket
import threading
from pathlib import Path

import pytest

from handlers.demo import DEMO_PASSWORD, SUN_LEI_ID, ZHANG_WEI_ID, ZHAO_MIN_ID
from tests.web.conftest import ready_app
from web.extensions import db

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"



def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(sa_engine, database_url, tmp_path):
    from waitress.server import create_server
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = ready_app(sa_engine, database_url, tmp_path, PUBLIC_BASE_URL=base, WTF_CSRF_ENABLED=True)
    server = create_server(app, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield base
    server.close()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()


def see(page, text: str) -> None:
    """Wait until the page shows ``text`` (a click may still be navigating)."""
    page.wait_for_selector(f"text={text}", timeout=15000)


def shot(page, name):
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def decode_qr_codes(png_path: Path) -> list[str]:
    import zxingcpp
    from PIL import Image
    return [r.text for r in zxingcpp.read_barcodes(Image.open(png_path))]


def seller_opens_contract(page, base, flow_button, certificate_no):
    """张伟 signs in by 粤省事, starts a flow, verifies his home and fills in the first buyer."""
    page.goto(base + "/login")
    page.select_option("select[name=unified_id]", label="张伟")
    page.click("button:has-text('扫码登录')")
    page.click(f"button:has-text('{flow_button}')")
    page.select_option("#business_type", "存量房买卖")
    page.click("button:has-text('下一步')")
    page.fill("#certificate_no", certificate_no)
    page.fill("#check_code", "482916")
    page.click("button:has-text('查询')")
    page.click("button:has-text('签订合同')")
    page.fill("[name=sellers-0-phone]", "13800001111")  # one row per seller, name prefilled
    page.fill("[name=buyers-0-name]", "赵敏")
    page.fill("[name=buyers-0-id_number]", ZHAO_MIN_ID)
    page.fill("[name=buyers-0-phone]", "13900005555")


def submit_and_confirm(page):
    """「提交」 opens the page's own confirmation dialog; 「确定」 in it submits."""
    page.click("#task-form button:has-text('提交')")
    page.wait_for_selector("dialog#confirm-submit[open]")
    page.click("dialog#confirm-submit button:has-text('确定')")


def fill_terms_to_supervision(page, price="1580000", payment="贷款", delivery="2027-01-15", tax="按国家规定各自承担",
                              dispute="仲裁", rating="非常满意", before_save=None,
                              applicant=("张伟", "13800001111")):
    """The contract's terms, then 填写申请人信息 and 填写好差评信息: the drafting pages up to 填写资金监管信息."""
    page.fill("#price", price)
    page.select_option("#payment_method", payment)
    page.fill("#delivery_date", delivery)
    page.select_option("#tax_bearer", tax)
    page.select_option("#dispute_resolution", dispute)
    if before_save is not None:
        before_save()
    page.click("button:has-text('保存并继续')")
    page.fill("#applicant_name", applicant[0])
    page.fill("#applicant_phone", applicant[1])
    page.click("button:has-text('保存并继续')")
    page.select_option("#rating_level", rating)
    page.click("button:has-text('保存并继续')")


def sign_in_by_yss(page, base, person):
    page.goto(base + "/login")
    page.select_option("select[name=unified_id]", label=person)
    page.click("button:has-text('扫码登录')")


def party_signs_with_own_code(browser, base, contract_url, person, id_number, index, sign_in=sign_in_by_yss):
    """``person`` signs in, finds exactly one QR code (their own) on the contract page, and signs with it."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    own = context.new_page()
    sign_in(own, base, person)
    own.goto(contract_url + "?qr=1")
    own.wait_for_selector("img[alt='签署二维码']")
    qr_shot = SHOTS / f"02-qr-code-{index}.png"
    own.screenshot(path=str(qr_shot), full_page=True)
    urls = decode_qr_codes(qr_shot)
    assert len(urls) == 1 and "/sandbox/esign/" in urls[0]
    context.close()
    phone = browser.new_page(viewport={"width": 390, "height": 844})
    phone.goto(urls[0])
    signer = re.search(r"签署人 (卖方|买方) ([^<\s]+)", phone.content()).group(2)
    assert signer == person
    phone.click("text=确定签署")
    phone.fill("#name", signer)
    phone.fill("#id_number", id_number)
    phone.click("text=确认授权")
    phone.wait_for_selector("#face-done:enabled", timeout=10000)
    phone.click("#face-done")
    see(phone, "签名成功")
    shot(phone, f"03-signed-{index}")
    phone.close()


def test_seller_and_buyers_sign_online_in_a_browser(live_server, browser):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    seller_opens_contract(page, live_server, "签订买卖合同线上", "粤（2023）中山市不动产权第0012345号")
    page.fill("[name=buyers-0-share]", "60")
    page.click("fieldset[data-name=buyers] .add-row")
    second = page.locator("fieldset[data-name=buyers] .party-row").nth(1)
    second.locator("input[name$='-name']").fill("孙磊")
    second.locator("input[name$='-id_number']").fill(SUN_LEI_ID)
    second.locator("input[name$='-phone']").fill("13900006666")
    second.locator("input[name$='-share']").fill("40")
    page.select_option("#co_ownership", "按份共有")
    fill_terms_to_supervision(page, before_save=lambda: shot(page, "01-contract-form"))
    page.click("button:has-text('保存并继续')")  # 不选择资金监管 (建设银行「龙存管」: test_citizen_steps.py)
    page.check("input[name=acknowledged]")
    page.click("button:has-text('保存并继续')")
    submit_and_confirm(page)
    page.click("button:has-text('生成电子合同订单')")
    see(page, "已创建订单，待签字")
    page.click("text=查看二维码")
    page.wait_for_selector("img[alt='签署二维码']")
    contract_url = page.url.split("?")[0]

    # Each party signs in and sees only their own QR code; it is read from a screenshot and opened on a phone.
    people = {"张伟": ZHANG_WEI_ID, "赵敏": ZHAO_MIN_ID, "孙磊": SUN_LEI_ID}
    for index, (person, id_number) in enumerate(people.items()):
        party_signs_with_own_code(browser, live_server, contract_url, person, id_number, index)

    page.goto(contract_url)
    see(page, "订单已经完成签字")
    page.click("a.btn:has-text('提交')")
    submit_and_confirm(page)
    see(page, "已签约")
    shot(page, "04-home-signed")


def test_clerk_and_reviewer_file_offline_in_the_inbox(live_server, browser, tmp_path):
    seller = browser.new_page()
    seller_opens_contract(seller, live_server, "签订买卖合同线下", "粤(2023)中山市不动产权第0012345号")
    fill_terms_to_supervision(seller, "990000", "一次性付款", "2027-03-01", "买方承担", "诉讼", "满意")
    seller.click("button:has-text('保存并继续')")  # 不选择资金监管
    seller.check("input[name=acknowledged]")
    seller.click("button:has-text('保存并继续')")
    submit_and_confirm(seller)

    shot(seller, "05-offline-submitted")
    clerk = browser.new_page()
    login_staff(clerk, live_server, "clerk1")
    shot(clerk, "05-clerk-inbox")
    clerk.click("text=受理并核验身份")
    clerk.check("input[name=identities_checked]")
    clerk.click("button:has-text('提交')")
    clerk.click("text=打印表格并上传材料")
    see(clerk, "打印《自愿放弃存量房交易资金监管的共同声明》")
    for index, field in enumerate(clerk.locator("input[type=file]").all()):
        path = tmp_path / f"m{index}.pdf"
        path.write_bytes(PDF + bytes([index]))
        field.set_input_files(str(path))
    clerk.check("input[name=forms_printed]")
    shot(clerk, "05-window-materials")
    clerk.click("button:has-text('提交')")
    see(clerk, "已办理")

    reviewer = browser.new_page()
    login_staff(reviewer, live_server, "reviewer1")
    reviewer.click("text=审核备案")
    reviewer.select_option("#review_decision", "通过")
    reviewer.click("button:has-text('提交')")
    see(reviewer, "已签约")
    shot(reviewer, "06-review-done")


def login_staff(page, base, username):
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("form[action*='/login/password'] button")
