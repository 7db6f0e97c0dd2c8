"""Who is told what, by SMS, when a business event is delivered (fed by the engine's outbox).

The events come from the diagrams' steps (service handlers call ``ctx.emit``) and from the engine (a
task handed to a staff member); this module turns each into texts for the people concerned, in the
guide's words, and hands them to the SMS gateway. Times are Beijing time.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from engine.outbound import Event, LocalSubscriber

from .adapters.sms import SmsGateway
from .deadlines import BEIJING
from .models import Account, Contract

SIGN = "【中山市存量房网签】"
HELP = "如有疑问，请拨打咨询电话 0760-88363077。"

# The events the business publishes to webhook subscribers (a subscriber may narrow them).
BUSINESS_EVENTS = frozenset({"contract_filed", "contract_cancelled", "contract_deleted", "esign_order_signed"})
SMS_EVENTS = frozenset({"esign_order_waiting", "contract_filed", "contract_cancelled", "task_handed_over",
                        "contract_deletion_reminder", "task_overdue"})


def _beijing(value: str | None) -> str:
    if not value:
        return ""
    return datetime.fromisoformat(value).astimezone(BEIJING).strftime("%Y年%m月%d日 %H:%M")


def _contract(session, event: Event) -> Contract | None:
    no = event.payload.get("contract_no") or event.business_key
    return session.scalars(sa.select(Contract).where(Contract.contract_no == no)).first()


def _party_phones(session, contract: Contract, party_ids=None) -> list[str]:
    phones: list[str] = []
    for party in contract.active_parties:
        if party_ids is not None and party.id not in party_ids:
            continue
        phone = party.phone
        if not phone and party.account_id is not None:
            phone = session.get(Account, party.account_id).phone
        if phone and phone not in phones:
            phones.append(phone)
    return phones


def texts_for(session, event: Event) -> list[tuple[str, str]]:
    """(phone, text) for everyone this event concerns."""
    p = event.payload
    if event.kind == "task_handed_over":
        account = session.get(Account, int(p["assignee"])) if str(p.get("assignee", "")).isdigit() else None
        by = session.get(Account, int(p["by"])) if str(p.get("by", "")).isdigit() else None
        if account is None or not account.phone:
            return []
        case = f"（{event.business_key}）" if event.business_key else ""
        return [(account.phone, f"{SIGN}{by.name if by else '工作人员'}已将业务「{p['name']}」{case}转交给您办理，"
                                f"请登录存量房网签系统工作台及时处理。")]
    if event.kind == "task_overdue":
        return _overdue_texts(session, event)
    contract = _contract(session, event)
    if contract is None:
        return []
    no = contract.contract_no
    if event.kind == "esign_order_waiting":
        what = "存量房买卖合同注销" if p.get("purpose") == "注销" else "存量房买卖合同"
        text = (f"{SIGN}合同{no}的{what}电子合同订单已生成，待您签署。请登录存量房网签系统，点击“查看二维码”，"
                f"使用手机微信扫描二维码，在粤信签小程序内点击“确定签署”完成电子签名。")
        if p.get("purpose") != "注销":
            text += f"请于{_beijing(contract.deletion_deadline.isoformat())}前完成电子签名及备案，逾期系统将自动删除该合同。"
        return [(phone, text) for phone in _party_phones(session, contract, set(p.get("party_ids") or []) or None)]
    if event.kind == "contract_filed":
        text = f"{SIGN}合同{no}已签约，存量房买卖合同网签备案完成，买卖双方可前往相关部门办理不动产转移登记手续。"
    elif event.kind == "contract_cancelled":
        text = f"{SIGN}合同{no}已注销，存量房买卖合同网签备案已注销。{HELP}"
    elif event.kind == "contract_deletion_reminder":
        text = (f"{SIGN}合同{no}尚未完成电子签名或备案。创建合同的下一个自然日内仍未完成的，系统将于"
                f"{_beijing(p.get('deadline'))}自动删除该合同，请尽快办理。{HELP}")
    else:
        return []
    return [(phone, text) for phone in _party_phones(session, contract)]


def _overdue_texts(session, event: Event) -> list[tuple[str, str]]:
    """The one who claimed the task, or (unclaimed) every colleague of its role."""
    p = event.payload
    if str(p.get("assignee") or "").isdigit():
        people = [session.get(Account, int(p["assignee"]))]
    else:
        people = [a for a in session.scalars(sa.select(Account).where(Account.login_kind == "工作人员"))
                  if p.get("role") in a.role_list()]
    case = f"（{event.business_key}）" if event.business_key else ""
    text = (f"{SIGN}业务「{p['task']}」{case}的办理期限为{_beijing(p.get('due_at'))}，现已逾期，"
            f"请登录存量房网签系统工作台尽快处理。")
    return [(a.phone, text) for a in people if a is not None and a.phone]


def sms_subscriber(gateway: SmsGateway) -> LocalSubscriber:
    def handle(session, event: Event) -> None:
        for phone, text in texts_for(session, event):
            gateway.send(session, phone, text, event.id)

    return LocalSubscriber("sms", handle, SMS_EVENTS)
