"""An English reader sees no Chinese: the citizen's online signing page by page, the contract page, 待办 and
首页, sign-in and registration, the staff inbox and task pages of an offline filing, and the admin pages.

What may stay Chinese is data, not interface: people's names, addresses, certificate, unit and contract
numbers (read from the database and the demo data), the values typed into the forms, document titles
in 《》, the price in Chinese capital numerals as the contract states it, and the 「中文」 link back to Chinese. Everything else on a page is text to translate."""
from __future__ import annotations

import html
import io
import re
from pathlib import Path

import sqlalchemy as sa
from babel.messages.pofile import read_po

from engine.models import ProcessDefinition, ProcessInstance
from handlers import demo
from handlers.models import (
    Account,
    Contract,
    ContractParty,
    RegistryProperty,
)
from web.extensions import db

from .conftest import login_as
from .test_portal import CERT, CONTRACT, everyone_signs, follow_task
from .test_staff import PDF, offline_at_window, open_staff_task

CHINESE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
KEPT_SPAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff0-9()（）-]*[\u3400-\u9fff\uf900-\ufaff][\u3400-\u9fff\uf900-\ufaff0-9()（）-]*")
CATALOG = Path(__file__).resolve().parents[2] / "web" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
HIDDEN = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->", re.S | re.I)
TAG = re.compile(r"<[^>]+>")
TITLE = re.compile(r"《[^》]*》")
# The price in Chinese capital numerals (成交价格（大写）: 壹佰伍拾捌万元整) is how the contract must state the
# amount, legal text like a document's title; the row's label and the amount in figures are translated.
CAPITAL_AMOUNT = re.compile(r"[零壹贰叁肆伍陆柒捌玖拾佰仟万亿]+元(?:[零壹贰叁肆伍陆柒捌玖]角)?(?:[零壹贰叁肆伍陆柒捌玖]分)?整?")
APPLICANT = {"applicant_name": "张伟", "applicant_phone": "13800001111"}


def visible_text(page: str) -> str:
    return html.unescape(TAG.sub(" ", HIDDEN.sub(" ", page)))


def kept_in_english() -> set[str]:
    """What the English catalog itself keeps in Chinese: an office's address, a certificate number as an example,
    the exact name of a matter a power of attorney must state (the translators' rule: addresses stay as they are)."""
    with CATALOG.open("rb") as source:
        catalog = read_po(source)
    kept = set()
    for message in catalog:
        if message.id and isinstance(message.string, str):
            kept |= {span.strip("()（）-") for span in KEPT_SPAN.findall(TITLE.sub(" ", message.string))
                     if len("".join(CHINESE.findall(span))) >= 2}
    return kept


def data_words(app) -> list[str]:
    """The Chinese that is data: people, homes and contracts as the database and the demo data hold them.
    (What the tests type is one of those; a choice such as 「贷款」 is not data: its label is translated.)"""
    words = {name for (_kind, _uid, _user, name, *_rest) in demo.CITIZENS}
    words |= {name for (_user, name, *_rest) in demo.STAFF}
    with app.app_context():
        session = db.session
        words |= set(session.scalars(sa.select(Account.name)))
        for prop in session.scalars(sa.select(RegistryProperty)):
            words |= {prop.certificate_no, prop.unit_no, prop.location, prop.floor, prop.land_use_term,
                      prop.restriction}
        for contract in session.scalars(sa.select(Contract)):
            words |= {contract.contract_no, contract.filing_no, contract.cancellation_reason, contract.deletion_reason}
        for party in session.scalars(sa.select(ContractParty)):
            words |= {party.name, party.address, party.agent_name}
        db.session.remove()
    words |= kept_in_english()
    # The longest first: 「粤(2023)中山市不动产权第0012345号」 goes before 「中山市」 could split it.
    return sorted((w for w in words if w and CHINESE.search(w)), key=len, reverse=True)


class EnglishReader:
    """Reads pages in English and notes, per page, the Chinese that is not data."""

    def __init__(self, app, client):
        self.app, self.client = app, client
        client.get("/lang/en")
        self.found: dict[str, list[str]] = {}

    def read(self, url: str, name: str | None = None, expect: int = 200) -> str:
        try:
            response = self.client.get(url)
        except Exception as err:  # the test app propagates a page's crash
            self.found[name or url] = [f"crashed: {type(err).__name__}: {err}"]
            return ""
        if response.status_code != expect:  # noted with the others, so one broken page hides no other
            self.found[name or url] = [f"HTTP {response.status_code}"]
        return self.check(response.get_data(as_text=True), name or url)

    def check(self, page: str, name: str) -> str:
        text = CAPITAL_AMOUNT.sub(" ", TITLE.sub(" ", visible_text(page)))
        for word in data_words(self.app):
            text = text.replace(word, " ")
        left = CHINESE.findall(text.replace("中文", " "))
        if left:
            self.found[name] = self.found.get(name, []) + sorted(set(left), key=left.index)
        return page

    def assert_english(self) -> None:
        report = "\n".join(f"{page}: {'、'.join(words)}" for page, words in self.found.items())
        assert not self.found, "Chinese left on English pages:\n" + report


def test_the_citizen_signs_online_in_english(app, client, account_id):
    reader = EnglishReader(app, client)
    login_as(client, account_id("张伟"))
    reader.read("/", "首页")
    reader.read("/todo", "待办")
    steps = [("business_type", {"business_type": "存量房买卖"}), ("property_query", CERT), ("confirm_property", {}),
             ("contract_form", dict(CONTRACT, **{"buyers-0-id_number": demo.ZHAO_MIN_ID})),
             ("applicant_info", APPLICANT), ("rating", {"rating_level": "非常满意"}), ("fund_supervision", {}),
             ("notes", {"acknowledged": "on"}), ("submit_confirm", {"confirmed": "1"}), ("generate_order", {})]
    url = follow_task(client, client.post("/start/online_signing"))
    for form_key, data in steps:
        reader.read(url, f"task {form_key}")
        if form_key == "contract_form":  # every field's message at once, built from the handlers' templates
            wrong = client.post(url, data={"buyers-0-name": ""})
            assert wrong.status_code == 422
            reader.check(wrong.get_data(as_text=True), "task contract_form with errors")
        url = follow_task(client, client.post(url, data=data))
    contract_url = url
    reader.read(contract_url, "contract page")
    reader.read(contract_url + "?qr=1", "contract page with QR codes")
    everyone_signs(app)
    reader.read(contract_url, "contract page, all signed")
    todo = reader.read("/todo", "待办 with the final submit")
    submit = re.findall(r'href="(/task/[^"]+)"', todo)
    assert submit, "the final submit is listed in 待办"
    reader.read(submit[0], "task final_submit")
    follow_task(client, client.post(submit[0], data={"confirmed": "1"}))
    reader.read(contract_url, "contract page, filed")
    reader.read("/", "首页 after filing")
    reader.assert_english()


def test_sign_in_and_registration_in_english(app, client):
    reader = EnglishReader(app, client)
    reader.read("/login", "login")
    reader.read("/register/person", "registration (person)")
    reader.read("/register/legal-person", "registration (legal person)")
    wrong = client.post("/register/person", data={})
    reader.check(wrong.get_data(as_text=True), "registration (person) with errors")
    reader.assert_english()


def reader_after_a_window_case(app, client, account_id, staff: str) -> EnglishReader:
    """张伟 has started an offline signing at the window; ``staff`` reads in English."""
    seller = app.test_client()
    login_as(seller, account_id("张伟"))
    offline_at_window(seller)
    reader = EnglishReader(app, client)
    login_as(client, account_id(staff))
    return reader


def test_staff_file_an_offline_contract_in_english(app, client, account_id):
    reader = reader_after_a_window_case(app, client, account_id, "窗口受理员甲")
    reader.read("/inbox/", "staff inbox")
    task_id = open_staff_task(app, "受理并核验身份")
    reader.read(f"/inbox/{task_id}", "staff task 受理并核验身份")
    client.post(f"/inbox/{task_id}/claim", data={"action": "claim"})
    reader.read(f"/inbox/{task_id}", "staff task 受理并核验身份 (claimed)")
    wrong = client.post(f"/inbox/{task_id}", data={"any_agent": "on"})
    reader.check(wrong.get_data(as_text=True), "staff task 受理并核验身份 with errors")
    assert client.post(f"/inbox/{task_id}", data={"identities_checked": "on"}).status_code == 302
    task_id = open_staff_task(app, "打印表格并上传材料")
    reader.read(f"/inbox/{task_id}", "staff task 打印表格并上传材料")
    files = {f"material-{i}": (io.BytesIO(PDF + bytes([i])), f"m{i}.pdf") for i in range(4)}
    client.post(f"/inbox/{task_id}", data={"forms_printed": "on", **files}, content_type="multipart/form-data")
    reviewer = app.test_client()
    reader.client = reviewer
    reviewer.get("/lang/en")
    login_as(reviewer, account_id("审核员甲"))
    review_id = open_staff_task(app, "审核备案")
    reader.read(f"/inbox/{review_id}", "staff task 审核备案")
    reader.assert_english()


def test_admin_pages_in_english(app, client, account_id):
    reader = reader_after_a_window_case(app, client, account_id, "系统管理员")
    with app.app_context():
        instance_id = db.session.scalars(sa.select(ProcessInstance.id).order_by(ProcessInstance.id)).first()
        definition_id = db.session.scalars(sa.select(ProcessDefinition.id).order_by(ProcessDefinition.id)).first()
        process_id = db.session.scalars(sa.select(ProcessInstance.process_id)).first()
        db.session.remove()
    for url, name in [("/admin/", "admin home"), ("/admin/deploy", "admin deploy"),
                      ("/admin/instances", "admin instances"), (f"/admin/instances/{instance_id}", "admin instance"),
                      ("/admin/incidents", "admin incidents"), ("/admin/timers", "admin timers"),
                      ("/admin/audit", "admin audit"), ("/admin/events", "admin events"),
                      (f"/admin/definitions/{definition_id}", "admin definition"),
                      (f"/admin/migrations/{process_id}", "admin migration"),
                      ("/admin/editor/", "admin editor list"), ("/admin/editor/online_signing.bpmn", "admin editor")]:
        reader.read(url, name)
    reader.assert_english()


def test_a_fields_message_reads_in_english_with_its_label(app):
    from handlers.form_fields import (
        LABEL_COLON_PROBLEM,
        LABEL_PROBLEM,
        REQUIRED,
        TOO_LONG,
    )
    from handlers.validation import CERTIFICATE_FORMAT, FormatError, validate_id_number
    from web.i18n import translate_message

    try:
        validate_id_number("居民身份证", "442000198503121230")
    except FormatError as err:
        wrong_check = LABEL_PROBLEM % {"label": "证件号码", "problem": err}
    bad_certificate = LABEL_COLON_PROBLEM % {"label": "房产证号或不动产权证号",
                                             "problem": FormatError(CERTIFICATE_FORMAT)}
    messages = [REQUIRED % {"label": "成交价格"}, TOO_LONG % {"label": "补充条款", "n": 5000}, wrong_check,
                bad_certificate]
    with app.test_request_context():
        assert [translate_message(m) for m in messages] == messages  # Chinese, the default: unchanged
    with app.test_request_context():
        from flask import session
        session["lang"] = "en"
        assert [translate_message(m) for m in messages] == [
            "Price (yuan) is required", "Supplementary terms must not be longer than 5000 characters",
            "ID number: the check digit is wrong; please check the number",
            "Certificate number: the certificate number must look like 粤(2023)中山市不动产权第0012345号 (6 to 8 digits)"]
        assert translate_message("张伟") == "张伟"  # data stays as it is
