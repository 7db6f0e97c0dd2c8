"""Steps a seller and the parties take, written once for every process test."""
from __future__ import annotations


import sqlalchemy as sa

from handlers.demo import SUN_LEI_ID, ZHAO_MIN_ID, ZHOU_TING_ID
from handlers.models import Contract, ESignOrder
from handlers.signing import accept_callback, sandbox_sign

from .conftest import ESIGN_SECRET

CERT_ZHANG = {"query_mode": "证书号", "certificate_no": "粤（2023）中山市不动产权第0012345号", "check_code": "482916"}
BUYER_ZHAO = {"name": "赵敏", "id_type": "居民身份证", "id_number": ZHAO_MIN_ID, "phone": "13900005555"}
BUYER_SUN = {"name": "孙磊", "id_type": "居民身份证", "id_number": SUN_LEI_ID, "phone": "13900006666"}
BUYER_ZHOU = {"name": "周婷", "id_type": "居民身份证", "id_number": ZHOU_TING_ID, "phone": "13900007777"}


def contract_form(buyers=None, **overrides):
    form = {"sellers": [{"phone": "13800001111", "address": "中山市石岐街道"}],
            "buyers": buyers or [BUYER_ZHAO], "price": "1580000.00", "payment_method": "贷款",
            "deposit": "50000", "delivery_date": "2027-01-15", "tax_bearer": "按国家规定各自承担",
            "dispute_resolution": "仲裁"}
    form.update(overrides)
    return form


def start_and_verify(harness, actor, query=CERT_ZHANG):
    case = harness.start("online_signing", actor=str(actor.id))
    case.complete("选择业务类型", {"business_type": "存量房买卖"}, actor=str(actor.id))
    case.complete("查询房源", query, actor=str(actor.id))
    return case


def draft(case, actor, buyers=None, **contract_overrides):
    who = str(actor.id)
    case.complete("填写买卖合同", contract_form(buyers, **contract_overrides), actor=who)
    case.complete("填写申请人信息", {"applicant_name": actor.name, "applicant_phone": "13800001111"}, actor=who)
    case.complete("填写好差评信息", {"rating_level": "非常满意"}, actor=who)
    case.complete("填写资金监管信息", {"fund_supervised": False}, actor=who)  # supervision: test_fund_supervision
    case.complete("确认注意事项", {"acknowledged": True}, actor=who)
    case.complete("提交合同", {"confirmed": True}, actor=who)


def to_signing(harness, actor, buyers=None):
    case = start_and_verify(harness, actor)
    case.complete("确认房源", {}, actor=str(actor.id))
    draft(case, actor, buyers)
    case.complete("生成电子合同订单", {}, actor=str(actor.id))
    return case


def contract_of(harness, case) -> Contract:
    session = harness.session
    session.expire_all()
    return session.scalars(sa.select(Contract).where(Contract.instance_id == case.id)).one()


def open_order(harness, case) -> ESignOrder:
    session = harness.session
    session.expire_all()
    return session.scalars(sa.select(ESignOrder).where(ESignOrder.instance_id == case.id)
                           .order_by(ESignOrder.id.desc())).first()


def sign(harness, signature, *, name=None, id_number=None) -> bool:
    """One party signs on the sandbox page; the signed callback goes through the netsign side."""
    session = harness.session
    party = signature.party
    body, mac = sandbox_sign(session, signature.token, name or party.name, id_number or party.id_number,
                             "2026-11-24T10:00:00+08:00", ESIGN_SECRET)
    key, payload, idem = accept_callback(session, body, mac, ESIGN_SECRET)
    session.rollback()
    return harness.engine.deliver_message("esign_party_signed", key, payload, idem)


def sign_all(harness, case):
    order = open_order(harness, case)
    for signature in order.signatures:
        assert sign(harness, signature) is True
    return order


# ---------------------------------------------------------------- the window

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def draft_offline(case, actor, fund_supervised=True, buyers=None):
    who = str(actor.id)
    case.complete("填写买卖合同", contract_form(buyers), actor=who)
    case.complete("填写申请人信息", {"applicant_name": actor.name, "applicant_phone": "13800001111"}, actor=who)
    case.complete("填写好差评信息", {"rating_level": "满意"}, actor=who)
    supervision = {"fund_supervised": True, "supervision_bank": "农村商业银行"} if fund_supervised \
        else {"fund_supervised": False}
    case.complete("填写资金监管信息", supervision, actor=who)
    if fund_supervised:  # 农村商业银行: the branch guidance and its 《用户操作手册》
        case.complete("查看线下支行办理指引", {}, actor=who)
    case.complete("确认注意事项", {"acknowledged": True}, actor=who)
    case.complete("提交合同", {"confirmed": True}, actor=who)


def offline_to_window(harness, seller, fund_supervised=True):
    case = harness.start("offline_signing", actor=str(seller.id))
    case.complete("选择业务类型", {"business_type": "存量房买卖"}, actor=str(seller.id))
    case.complete("查询房源", CERT_ZHANG, actor=str(seller.id))
    case.complete("确认房源", {}, actor=str(seller.id))
    draft_offline(case, seller, fund_supervised)
    return case


def upload_materials(harness, case, clerk, skip=(), upload_dir="/tmp/netsign-test-uploads"):
    """The clerk uploads a scan for every required material (except ``skip``); returns the form data."""
    from handlers.uploads import store_upload
    session = harness.session
    contract_id = case.data()["contract"]["id"]
    uploads = {}
    for material in case.data()["materials"]:
        if material in skip:
            continue
        upload = store_upload(session, contract_id=contract_id, material=material, filename="scan.pdf",
                              data=PDF + material.encode(), uploader=str(clerk.id), upload_dir=upload_dir,
                              max_bytes=10 * 1024 * 1024)
        uploads[material] = upload.id
    session.commit()
    return {"forms_printed": True, "uploads": uploads}


def staff(harness, case, task, who, data, roles):
    return case.complete(task, data, actor=str(who.id), roles=roles)
