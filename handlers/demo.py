"""Demo data for the sandbox: citizens, staff, and the homes of the sandbox property registry.

``seed_demo`` is idempotent. The cases cover the guide's situations: a mainland
owner; an owner whose certificate still carries a 15-digit first-generation ID;
an HK owner who queries by 姓名+不动产单元号; an HK owner with no account yet, who registers
(「立即注册」); a jointly owned home; a home with a
pending gift (refused); a land parcel (refused).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from .models import Account, RegistryProperty
from .validation import id15_to_18, id_check_char

DEMO_PASSWORD = "Demo@2026"


def resident_id(first17: str) -> str:
    return first17 + id_check_char(first17)


ZHANG_WEI_ID = resident_id("44200019850312123")
LI_XIUYING_ID = id15_to_18("440524800101001")  # certificate shows 440524800101001
WANG_QIANG_ID = resident_id("44200019780605451")
LIU_FANG_ID = resident_id("44200019800918262")
ZHAO_MIN_ID = resident_id("44200019920214302")
SUN_LEI_ID = resident_id("44200019900707331")
ZHOU_TING_ID = resident_id("44200019950101264")
CHAN_HK_PERMIT = "H12345678"
# 黄丽华 owns a demo home but has no account yet: she tries 「立即注册」 (账号密码) and 用户关联.
WONG_HK_PERMIT = "H87654321"
COMPANY_USCC = "91442000MA4W3C5X17"

CITIZENS = [
    # (login kind, unified id, username, name, id type, id number, phone)
    ("粤省事", "yss-zhangwei", None, "张伟", "居民身份证", ZHANG_WEI_ID, "13800001111"),
    ("粤省事", "yss-lixiuying", None, "李秀英", "居民身份证", LI_XIUYING_ID, "13800002222"),
    ("粤省事", "yss-wangqiang", None, "王强", "居民身份证", WANG_QIANG_ID, "13800003333"),
    ("粤省事", "yss-liufang", None, "刘芳", "居民身份证", LIU_FANG_ID, "13800004444"),
    ("粤省事", "yss-zhaomin", None, "赵敏", "居民身份证", ZHAO_MIN_ID, "13900005555"),
    ("粤省事", "yss-sunlei", None, "孙磊", "居民身份证", SUN_LEI_ID, "13900006666"),
    ("粤省事", "yss-zhouting", None, "周婷", "居民身份证", ZHOU_TING_ID, "13900007777"),
    ("账号密码", "acct-chankaming", "chankaming", "陈家明", "港澳居民来往内地通行证", CHAN_HK_PERMIT, "85261234567"),
    ("法人", "corp-shili", COMPANY_USCC, "中山市示例置业有限公司", "统一社会信用代码", COMPANY_USCC, "076088880000"),
]

STAFF = [
    # (username, name, roles, phone: a task handed to them is texted there)
    ("clerk1", "窗口受理员甲", "clerk", "13700000001"),
    ("clerk2", "窗口受理员乙", "clerk", "13700000002"),
    ("reviewer1", "审核员甲", "reviewer", "13700000003"),
    ("reviewer2", "审核员乙", "reviewer", "13700000004"),
    ("admin", "系统管理员", "admin", None),
]


def _owner(name, id_number, share="100", id_type="居民身份证"):
    return {"name": name, "id_type": id_type, "id_number": id_number, "share": share}


PROPERTIES: list[dict[str, Any]] = [
    dict(certificate_no="粤(2023)中山市不动产权第0012345号", check_code="482916",
         unit_no="442000001002GB00123F00010203", owners=[_owner("张伟", ZHANG_WEI_ID)],
         location="中山市石岐街道民族东路88号翠景花园3幢1502房", use="住宅", floor="15/28",
         building_area=Decimal("98.56"), inner_area=Decimal("80.12"), land_use_type="出让",
         land_use_term="2010-05-01至2080-04-30"),
    dict(certificate_no="粤(2019)中山市不动产权第0203344号", check_code="733105",
         unit_no="442000003001GB00456F00020105", owners=[_owner("李秀英", "440524800101001")],
         location="中山市东区博爱五路12号松苑小区2幢602房", use="住宅", floor="6/8",
         building_area=Decimal("76.30"), inner_area=Decimal("65.02"), land_use_type="划拨",
         land_use_term="无固定期限"),
    dict(certificate_no="粤(2021)中山市不动产权第1100789号", check_code="260418",
         unit_no="442000005003GB00789F00030301",
         owners=[_owner("陈家明", CHAN_HK_PERMIT, id_type="港澳居民来往内地通行证")],
         location="中山市南区城南二路6号海景湾1幢2301房", use="住宅", floor="23/32",
         building_area=Decimal("128.00"), inner_area=Decimal("104.50"), land_use_type="出让",
         land_use_term="2015-01-01至2085-12-31"),
    dict(certificate_no="粤(2024)中山市不动产权第0305566号", check_code="118822",
         unit_no="442000008001GB00555F00080808",
         owners=[_owner("黄丽华", WONG_HK_PERMIT, id_type="港澳居民来往内地通行证")],
         location="中山市西区富华道32号星汇云锦5幢801房", use="住宅", floor="8/18",
         building_area=Decimal("89.20"), inner_area=Decimal("72.60"), land_use_type="出让",
         land_use_term="2012-03-01至2082-02-28"),
    dict(certificate_no="粤(2022)中山市不动产权第0567890号", check_code="915372",
         unit_no="442000002004GB00321F00040502",
         owners=[_owner("王强", WANG_QIANG_ID, "50"), _owner("刘芳", LIU_FANG_ID, "50")],
         location="中山市西区彩虹大道30号富华苑5幢502房", use="住宅", floor="5/18",
         building_area=Decimal("110.20"), inner_area=Decimal("92.40"), land_use_type="出让",
         land_use_term="2008-03-01至2078-02-28"),
    dict(certificate_no="粤(2020)中山市不动产权第0098765号", check_code="604281",
         unit_no="442000001006GB00654F00050101", owners=[_owner("张伟", ZHANG_WEI_ID)],
         location="中山市石岐街道孙文中路101号骑楼商铺", use="住宅", floor="1/3",
         building_area=Decimal("60.00"), inner_area=Decimal("55.00"), land_use_type="出让",
         land_use_term="2005-01-01至2075-12-31", restriction="该房屋已申请办理赠与登记"),
    dict(certificate_no="粤(2022)中山市不动产权第0777001号", check_code="700118",
         unit_no="442000006002GB00888F00060110",
         owners=[_owner("中山市示例置业有限公司", COMPANY_USCC, id_type="统一社会信用代码")],
         location="中山市东区中山四路9号示例大厦1101房", use="办公", floor="11/26",
         building_area=Decimal("156.80"), inner_area=Decimal("128.30"), land_use_type="出让",
         land_use_term="2012-07-01至2062-06-30"),
    dict(certificate_no="粤(2024)中山市不动产权第0031415号", check_code="141592",
         unit_no="442000007001GB00999W00000000", owners=[_owner("张伟", ZHANG_WEI_ID)],
         location="中山市火炬开发区工业大道西侧地块", use="工业用地", kind="土地",
         land_use_type="出让", land_use_term="2024-01-01至2074-12-31"),
]


def seed_demo(session) -> None:
    for kind, unified_id, username, name, id_type, id_number, phone in CITIZENS:
        if session.scalars(sa.select(Account).where(Account.unified_id == unified_id)).first() is None:
            account = Account(login_kind=kind, unified_id=unified_id, username=username, name=name,
                              id_type=id_type, id_number=id_number, phone=phone, roles="citizen")
            account.set_password(DEMO_PASSWORD)
            session.add(account)
    for username, name, roles, staff_phone in STAFF:
        if session.scalars(sa.select(Account).where(Account.username == username)).first() is None:
            account = Account(login_kind="工作人员", username=username, name=name, id_type="工号",
                              id_number=username.upper(), roles=roles, phone=staff_phone)
            account.set_password(DEMO_PASSWORD)
            session.add(account)
    for data in PROPERTIES:
        if session.scalars(sa.select(RegistryProperty).where(
                RegistryProperty.certificate_no == data["certificate_no"])).first() is None:
            session.add(RegistryProperty(**data))
    session.flush()
