"""The signing panel of the contract page (guide §2.2 (七)–(十)): each party's own QR code with the
instructions and a text link, a status the page polls, 「注销电子合同订单」 asked before it happens,
guidance once all have signed, and after 「已签约」 the signed contract as a PDF with its 备案编号."""
from __future__ import annotations

import re
import subprocess

import sqlalchemy as sa

from handlers.models import ESignSignature
from web.extensions import db

from .conftest import login_as
from .test_portal import follow_task, walk_to_signing


def sign(app, who: str | None = None):
    """The parties (or only ``who``) sign on the sandbox 粤信签 page, as the phone would."""
    with app.app_context():
        rows = [(s.token, s.party.name, s.party.id_number) for s in db.session.scalars(
            sa.select(ESignSignature).where(ESignSignature.status == "待签字"))]
        db.session.remove()
    phone = app.test_client()
    for token, name, id_number in rows:
        if who and name != who:
            continue
        url = f"/sandbox/esign/{token}"
        phone.post(url, data={"step": "confirm"})
        phone.post(url, data={"step": "auth", "name": name, "id_number": id_number})
        assert "签名成功" in phone.post(url, data={"step": "face"}).data.decode()


def status_of(client, contract_url):
    number = contract_url.rstrip("/").rsplit("/", 1)[1]
    response = client.get(f"/api/v1/contracts/{number}/signing")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    return response.get_json()


def test_each_party_gets_own_code_with_instructions_and_a_text_link(client, account_id):
    from handlers.demo import ZHAO_MIN_ID
    login_as(client, account_id("张伟"))
    contract_url = walk_to_signing(client, ZHAO_MIN_ID)
    page = client.get(contract_url + "?qr=1").data.decode()
    assert "使用手机微信扫描二维码进行电子签名操作" in page and "确认授权" in page
    links = re.findall(r'<a class="link" href="(http://localhost/sandbox/esign/[^"]+)">\1</a>', page)
    assert len(links) == 1 and page.count('alt="签署二维码"') == 1  # only his own


def test_the_status_the_page_polls_follows_each_signature(app, client, account_id):
    from handlers.demo import ZHAO_MIN_ID
    login_as(client, account_id("张伟"))
    contract_url = walk_to_signing(client, ZHAO_MIN_ID)
    page = client.get(contract_url).data.decode()
    assert 'data-waiting="1"' in page and "签名状态会自动更新" in page and 'id="all-signed" hidden' in page
    before = status_of(client, contract_url)
    assert before["order"]["status"] == "已创建订单，待签字" and not before["all_signed"]
    assert [s["status"] for s in before["order"]["signatures"]] == ["待签字", "待签字"]
    assert "id_number" not in before["order"]["signatures"][0]

    sign(app, "赵敏")
    half = status_of(client, contract_url)
    assert {s["name"]: s["status"] for s in half["order"]["signatures"]} == {"张伟": "待签字", "赵敏": "签名成功"}
    assert not half["all_signed"] and half["tasks"] == []

    sign(app)
    done = status_of(client, contract_url)
    assert done["all_signed"] and done["order"]["status"] == "订单已经完成签字"
    assert [t["name"] for t in done["tasks"]] == ["提交"]
    page = client.get(contract_url).data.decode()
    assert 'id="all-signed" hidden' not in page and "买卖双方均已完成电子签名授权" in page
    assert done["order"]["status_label"] == "订单已经完成签字" and done["tasks"][0]["name_label"] == "提交"

    # The page redraws itself with the labels, in the language the reader chose.
    client.get("/lang/en")
    english = status_of(client, contract_url)
    assert english["order"]["status"] == "订单已经完成签字"  # the code stays
    assert english["order"]["status_label"] == "Order fully signed"
    assert [s["status_label"] for s in english["order"]["signatures"]] == ["Signed", "Signed"]
    assert english["tasks"][0]["name_label"] == "Submit"


def test_someone_elses_signing_status_is_not_shown(client, account_id):
    from handlers.demo import ZHAO_MIN_ID
    login_as(client, account_id("张伟"))
    contract_url = walk_to_signing(client, ZHAO_MIN_ID)
    number = contract_url.rsplit("/", 1)[1]
    login_as(client, account_id("李秀英"))
    assert client.get(f"/api/v1/contracts/{number}/signing").status_code in (403, 404)


def test_cancelling_the_order_asks_first(client, account_id):
    from handlers.demo import ZHAO_MIN_ID
    login_as(client, account_id("张伟"))
    contract_url = walk_to_signing(client, ZHAO_MIN_ID)
    page = client.get(contract_url).data.decode()
    assert '<dialog id="confirm-cancel-order"' in page and 'data-dialog="confirm-cancel-order"' in page
    asked = client.get(contract_url + "/cancel-order").data.decode()  # without JS: a page that asks
    assert "确定注销电子合同订单吗" in asked and 'id="confirm-page"' in asked
    assert "已创建订单，待签字" in client.get(contract_url).data.decode()  # asking changed nothing
    done = client.post(contract_url + "/cancel-order", data={"confirmed": "1"}, follow_redirects=True).data.decode()
    assert "电子合同订单已注销" in done


def pdf_text(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


def test_a_filed_contract_is_downloaded_signed_with_its_filing_number(app, client, account_id):
    from handlers.demo import ZHAO_MIN_ID
    login_as(client, account_id("张伟"))
    contract_url = walk_to_signing(client, ZHAO_MIN_ID)
    early = client.get(contract_url + "/signed.pdf", follow_redirects=True).data.decode()
    assert "只有线上签约且状态为「已签约」的合同可以下载已签约的合同" in early
    sign(app)
    submit = re.search(r'href="(/task/[^"]+)">提交<', client.get(contract_url).data.decode()).group(1)
    follow_task(client, client.post(submit, data={"confirmed": "1"}))
    page = client.get(contract_url).data.decode()
    filing_no = re.search(r'id="filing-no">(ZSBA\d{14})<', page).group(1)
    assert "不动产转移登记" in page and "北京时间" in page
    response = client.get(contract_url + "/signed.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    text = pdf_text(response.data)
    assert filing_no in text and "备案日期" in text and "签名成功" in text and "不动产转移登记" in text
    assert "赵敏" in text and "翠景花园" in text
