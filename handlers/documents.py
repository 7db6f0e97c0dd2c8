"""Printable forms as PDF (reportlab, with the Chinese font embedded) and the amount in capital numerals.

The window prints these for the parties to sign (guide §3 (七), §5); the e-sign
page shows the same contract data, built by :func:`contract_sections`, so what
is signed online and what is printed can never differ.
"""
from __future__ import annotations

import io
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .deadlines import beijing
from .i18n import N_, template
from .models import Contract
from .validation import format_share

FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
FONT = "WenQuanYiZenHei"
CENTRE = "中山市房地产交易管理事务中心"

DIGITS = "零壹贰叁肆伍陆柒捌玖"
UNITS = ["", "拾", "佰", "仟"]
SECTIONS = ["", "万", "亿", "万亿"]


def capital_amount(amount: Decimal) -> str:
    """人民币大写, following the usual banking rules: 1580000.50 → 壹佰伍拾捌万元伍角."""
    amount = Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if amount < 0:
        raise ValueError("amount must not be negative")
    yuan = int(amount)
    jiao, fen = divmod(int((amount - yuan) * 100), 10)
    if yuan == 0 and jiao == 0 and fen == 0:
        return "零元整"
    words = ""
    if yuan:
        groups = []
        while yuan:
            groups.append(yuan % 10000)
            yuan //= 10000
        need_zero = False
        for index in range(len(groups) - 1, -1, -1):
            group = groups[index]
            if group == 0:
                need_zero = bool(words)
                continue
            if need_zero or (words and group < 1000):
                words += "零"
            words += _four_digits(group) + SECTIONS[index]
            need_zero = False
        words += "元"
    if jiao == 0 and fen == 0:
        return words + "整"
    if jiao:
        words += DIGITS[jiao] + "角"
    elif words:
        words += "零"
    if fen:
        words += DIGITS[fen] + "分"
    return words


def _four_digits(value: int) -> str:
    out, zero = "", False
    for position in range(3, -1, -1):
        digit = value // (10 ** position) % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += DIGITS[digit] + UNITS[position]
    return out


# ---------------------------------------------------------------- content shared by print and e-sign

# The contract's values are built from marked templates, so an English page can translate the words around
# the data (web/i18n.py finds the template again); the printed contract and the Chinese pages read the same.
PARTY_LINE = template(N_("%(name)s　%(id_type)s：%(id_number)s　电话：%(phone)s"))
PARTY_LINE_WITH_SHARE = template(N_("%(name)s　%(id_type)s：%(id_number)s　电话：%(phone)s　份额：%(share)s%%"))
AREA = template(N_("%(area)s 平方米"))
MONEY = template(N_("%(amount)s 元"))
SUPERVISED_BY = template(N_("是，%(bank)s"))
SUPERVISED_WITH_AGREEMENT = template(N_("是，%(bank)s（资金监管协议编号 %(agreement_no)s）"))
SUPERVISED_AND_STATUS = template(N_("是，%(bank)s（%(status)s）"))
NOT_SUPERVISED, BY_LAW, NOTHING = N_("否"), N_("按法律规定承担"), N_("无")
# What the property registry writes in 规划用途 and 土地使用权类型: words, not data, on an English page.
REGISTRY_WORDS = (N_("住宅"), N_("商业"), N_("办公"), N_("车位"), N_("出让"), N_("划拨"), N_("无固定期限"))


def _money(value) -> str:
    return MONEY % {"amount": f"{Decimal(value):,.2f}"} if value is not None else "—"


def _supervision(contract: Contract) -> str:
    """「资金监管」 as the contract states it: the bank, and the agreement number or where it stands."""
    if not contract.fund_supervised:
        return NOT_SUPERVISED
    bank = contract.supervision_bank or ""
    if contract.supervision_agreement_no:
        return SUPERVISED_WITH_AGREEMENT % {"bank": bank, "agreement_no": contract.supervision_agreement_no}
    if contract.supervision_status:
        return SUPERVISED_AND_STATUS % {"bank": bank, "status": contract.supervision_status}
    return SUPERVISED_BY % {"bank": bank}


def contract_sections(contract: Contract, *, mask_ids: bool = False) -> list[tuple[str, list[tuple[str, str]]]]:
    """The contract as (section title, [(label, value)]): the print form and the e-sign page use it.

    ``mask_ids``: the e-sign preview is opened from a link before anyone is identified, so
    it shows ID numbers and phone numbers masked; the printed, signed form shows them in full.
    """
    from .validation import mask_id_number

    home = contract.home
    shown = mask_id_number if mask_ids else (lambda number: number)
    parties = []
    def line(party) -> str:
        parts = {"name": party.name, "id_type": party.id_type, "id_number": shown(party.id_number),
                 "phone": shown(party.phone) or "—"}
        if party.share is None:
            return PARTY_LINE % parts
        return PARTY_LINE_WITH_SHARE % dict(parts, share=format_share(party.share))

    for party in contract.sellers:
        parties.append((N_("甲方（卖方）"), line(party)))
    for party in contract.buyers:
        parties.append((N_("乙方（买方）"), line(party)))
    parties.append((N_("共有性质"), contract.co_ownership or "—"))
    price = contract.price
    return [
        (N_("合同当事人"), parties),
        (N_("房屋基本情况"), [
            (N_("房屋坐落"), home.location), (N_("不动产权证号"), home.certificate_no), (N_("不动产单元号"), home.unit_no),
            (N_("规划用途"), home.use), (N_("所在楼层"), home.floor or "—"),
            (N_("建筑面积"), AREA % {"area": home.building_area} if home.building_area else "—"),
            (N_("套内面积"), AREA % {"area": home.inner_area} if home.inner_area else "—"),
            (N_("土地使用权类型"), home.land_use_type or "—"), (N_("土地使用期限"), home.land_use_term or "—"),
        ]),
        (N_("价款与付款"), [
            (N_("成交价格（小写）"), _money(price)),
            (N_("成交价格（大写）"), capital_amount(price) if price is not None else "—"),
            (N_("付款方式"), contract.payment_method or "—"), (N_("定金"), _money(contract.deposit)),
            (N_("资金监管"), _supervision(contract)),
        ]),
        (N_("交付与责任"), [
            (N_("房屋交付日期"), contract.delivery_date.isoformat() if contract.delivery_date else "—"),
            (N_("税费承担"), contract.tax_bearer or "—"), (N_("违约责任"), contract.default_liability or BY_LAW),
            (N_("争议解决方式"), contract.dispute_resolution or "—"),
            (N_("补充条款"), contract.supplementary_terms or NOTHING),
        ]),
    ]


# ---------------------------------------------------------------- PDF rendering

def _font() -> str:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        if not FONT_PATH.exists():
            raise RuntimeError(f"缺少中文字体 {FONT_PATH}，请安装 Debian 软件包 fonts-wqy-zenhei")
        pdfmetrics.registerFont(TTFont(FONT, str(FONT_PATH), subfontIndex=0))
    return FONT


def _styles():
    font = _font()
    return {
        "title": ParagraphStyle("title", fontName=font, fontSize=17, leading=24, alignment=TA_CENTER, spaceAfter=4),
        "sub": ParagraphStyle("sub", fontName=font, fontSize=9, leading=13, alignment=TA_CENTER,
                              textColor=colors.grey),
        "head": ParagraphStyle("head", fontName=font, fontSize=11, leading=16, spaceBefore=8, spaceAfter=3),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=9.5, leading=13),
        "body": ParagraphStyle("body", fontName=font, fontSize=10.5, leading=17),
    }


def _text(value) -> str:
    """Data as Paragraph text: reportlab reads a Paragraph as markup, so what a person typed
    (「<b>」, 「<img src=…>」 in 补充条款) must arrive as characters, never as tags."""
    return escape(str(value)).replace("\n", "<br/>")


def _table(rows, styles, widths=(40 * mm, 130 * mm)) -> Table:
    data = [[Paragraph(_text(label), styles["cell"]), Paragraph(_text(value), styles["cell"])]
            for label, value in rows]
    table = Table(data, colWidths=widths)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
        ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f1f4f8")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 4), ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]))
    return table


def _signatures(contract: Contract, styles) -> Table:
    rows = [[Paragraph(f"{'甲方（卖方）' if p.side == '卖方' else '乙方（买方）'}：{_text(p.name)}", styles["cell"]),
             Paragraph("签字（盖章）：", styles["cell"]), Paragraph("日期：　　年　　月　　日", styles["cell"])]
            for p in contract.sellers + contract.buyers]
    table = Table(rows, colWidths=(55 * mm, 60 * mm, 55 * mm), rowHeights=14 * mm)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.6, colors.black),
                               ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    return table


def _document(title: str, contract: Contract, body, *, signature_lines: bool = True) -> bytes:
    styles = _styles()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, title=title, author=CENTRE,
                            leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm, bottomMargin=18 * mm)
    story = [Paragraph(title, styles["title"]),
             Paragraph(f"合同编号：{_text(contract.contract_no)}　　{CENTRE}", styles["sub"]), Spacer(1, 6)]
    story.extend(body(styles))
    if signature_lines:
        story += [Spacer(1, 10), Paragraph("当事人签字", styles["head"]), _signatures(contract, styles)]
    doc.build(story)
    return buffer.getvalue()


def sale_contract_pdf(contract: Contract) -> bytes:
    def body(styles):
        out = []
        for heading, rows in contract_sections(contract):
            out += [Paragraph(heading, styles["head"]), _table(rows, styles)]
        return out
    return _document("广东省房地产买卖合同", contract, body)


def filing_application_pdf(contract: Contract) -> bytes:
    def body(styles):
        home = contract.home
        return [_table([
            ("申请事项", "存量房买卖合同网签备案（线下办理）"), ("房屋坐落", home.location),
            ("不动产权证号", home.certificate_no), ("成交价格", f"{_money(contract.price)}（{capital_amount(contract.price) if contract.price is not None else '—'}）"),
            ("卖方", "、".join(p.name for p in contract.sellers)), ("买方", "、".join(p.name for p in contract.buyers)),
            ("合同创建时间", beijing(contract.created_at)),
        ], styles),
            Paragraph("申请人承诺所提交的材料真实、有效，如有虚假，愿承担相应法律责任。", styles["body"])]
    return _document("线下办理存量房买卖合同备案申请表", contract, body)


def supervision_waiver_pdf(contract: Contract) -> bytes:
    def body(styles):
        return [Paragraph(
            f"买卖双方就坐落于{_text(contract.home.location)}的房屋（合同编号{contract.contract_no}，成交价格"
            f"{capital_amount(contract.price) if contract.price is not None else '—'}）的交易，经协商一致，"
            "自愿放弃办理存量房交易资金监管，由此产生的交易资金风险由买卖双方自行承担。", styles["body"])]
    return _document("自愿放弃存量房交易资金监管的共同声明", contract, body)


def cancellation_application_pdf(contract: Contract) -> bytes:
    def body(styles):
        return [_table([
            ("申请事项", "注销存量房买卖合同网签备案（线下办理）"), ("房屋坐落", contract.home.location),
            ("合同编号", contract.contract_no), ("备案时间", beijing(contract.filed_at) if contract.filed_at else "—"),
            ("注销原因", contract.cancellation_reason or "　"),
        ], styles)]
    return _document("线下办理存量房买卖合同备案注销申请表", contract, body)


def termination_agreement_pdf(contract: Contract) -> bytes:
    def body(styles):
        return [Paragraph(
            f"甲乙双方于{beijing(contract.created_at)[:10]}签订的《广东省房地产买卖合同》（合同编号{contract.contract_no}），"
            f"房屋坐落于{_text(contract.home.location)}。现经双方协商一致，同意终止履行该合同，并共同申请注销该合同的网签备案。"
            "双方就合同终止后的定金、房款返还等事宜已自行协商处理完毕，互不追究。", styles["body"])]
    return _document("存量房买卖合同终止协议", contract, body)


NEXT_STEP = "存量房买卖合同网签备案完成，买卖双方可前往相关部门办理不动产转移登记手续。"


def signed_contract_pdf(contract: Contract, order) -> bytes:
    """The contract as filed online (已签约): its 备案编号 and date, each party's e-signature, the terms,
    and the next step (guide §2.2 (九)). ``order`` is the fully signed e-contract order."""
    def body(styles):
        signed = [(f"{s.party.side} {s.party.name}", f"{s.status}　{beijing(s.signed_at) if s.signed_at else '—'}")
                  for s in order.signatures]
        out = [Paragraph("备案信息", styles["head"]), _table([
            ("备案编号", contract.filing_no or "—"), ("备案日期", beijing(contract.filed_at) + "（北京时间）" if contract.filed_at else "—"),
            ("合同状态", contract.status), ("电子合同订单号", order.order_no), *signed], styles)]
        for heading, rows in contract_sections(contract):
            out += [Paragraph(heading, styles["head"]), _table(rows, styles)]
        return out + [Spacer(1, 8), Paragraph(NEXT_STEP, styles["body"])]
    return _document("广东省房地产买卖合同（已网签备案）", contract, body, signature_lines=False)


BRANCH_STEPS = [
    "买卖双方在存量房网签系统“资金监管信息”中选择“是”，监管银行选择“农村商业银行”，按顺序完成合同填写并提交。",
    "买卖双方本人持有效身份证件（原件）、本合同及本手册，到中山农村商业银行任一营业网点（线下支行）办理存量房交易资金监管。",
    "支行工作人员核验身份后，与买卖双方签订资金监管协议，并开立监管账户；买方按协议约定将交易资金存入监管账户。",
    "办理不动产转移登记后，按资金监管协议约定划转交易资金。",
    "如有疑问，请咨询 0760-88363077。",
]
ONLINE_STEPS = [
    "在存量房网签系统“资金监管信息”中选择“是”，监管银行选择“建设银行”。",
    "在“签署资金监管协议”页面点击“跳转建设银行龙存管”，进入建设银行“龙存管”系统。",
    "买卖双方在“龙存管”系统核验身份后在线签署资金监管协议，实现“全线上”办理；协议编号自动记录在合同上。",
    "返回存量房网签系统点击“下一步”，继续确认注意事项并提交合同。",
]


def supervision_manual_pdf(contract: Contract, *, online: bool) -> bytes:
    """《用户操作手册》 of fund supervision at the chosen bank, with this contract's facts."""
    def body(styles):
        steps = ONLINE_STEPS if online else BRANCH_STEPS
        return [_table([("监管银行", contract.supervision_bank or "—"), ("房屋坐落", contract.home.location),
                        ("成交价格", _money(contract.price)), ("资金监管", _supervision(contract))], styles),
                Paragraph("办理步骤", styles["head"]),
                *[Paragraph(f"{i}. {_text(step)}", styles["body"]) for i, step in enumerate(steps, start=1)]]
    return _document(f"存量房交易资金监管《用户操作手册》（{contract.supervision_bank or ''}）", contract, body,
                     signature_lines=False)


# form key → (title, renderer): the print buttons of the window.
FORMS = {
    "filing_application": ("线下办理存量房买卖合同备案申请表", filing_application_pdf),
    "sale_contract": ("广东省房地产买卖合同", sale_contract_pdf),
    "supervision_waiver": ("自愿放弃存量房交易资金监管的共同声明", supervision_waiver_pdf),
    "cancellation_application": ("线下办理存量房买卖合同备案注销申请表", cancellation_application_pdf),
    "termination_agreement": ("存量房买卖合同终止协议", termination_agreement_pdf),
}
