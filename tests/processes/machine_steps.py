"""What the citizens of the contract state machine (test_invariants.py) type: the homes and people of the demo
data, the valid data of every task of the online signing and cancellation flows, and input each form must refuse."""
from __future__ import annotations

import dataclasses

from .flows import BUYER_SUN, BUYER_ZHAO, CERT_ZHANG, contract_form

CERT_WANG = {"query_mode": "证书号", "certificate_no": "粤(2022)中山市不动产权第0567890号", "check_code": "915372"}
# Who may start an online signing, and the home they sell (张伟 alone; 王强 and 刘芳 own one home jointly).
SELLERS = {"张伟": (CERT_ZHANG, [{"phone": "13800001111"}]),
           "王强": (CERT_WANG, [{"phone": "13800003333"}, {"phone": "13800004444"}]),
           "刘芳": (CERT_WANG, [{"phone": "13800003333"}, {"phone": "13800004444"}])}
BUYERS = [BUYER_ZHAO, BUYER_SUN]
PHONES = {"张伟": "13800001111", "王强": "13800003333", "刘芳": "13800004444", "赵敏": "13900005555",
          "孙磊": "13900006666"}


@dataclasses.dataclass
class Run:
    case: object
    who: str
    kind: str  # signing | cancellation
    contract_id: int | None = None


def valid_data(task: str, run: Run, choice: int) -> dict:
    if task == "填写买卖合同":
        return contract_form([BUYERS[choice % 2]], sellers=SELLERS[run.who][1])
    return {
        "选择业务类型": {"business_type": "存量房买卖"},
        "查询房源": SELLERS.get(run.who, (None,))[0],
        "确认房源": {},
        "填写申请人信息": {"applicant_name": run.who, "applicant_phone": PHONES[run.who]},
        "填写好差评信息": {"rating_level": "非常满意"},
        "填写资金监管信息": {"fund_supervised": False},
        "确认注意事项": {"acknowledged": True},
        "提交合同": {"confirmed": True},
        "生成电子合同订单": {},
        "提交": {"confirmed": True},
        "选择修改或删除": {"after_cancel_action": ("修改合同", "删除合同")[choice % 2]},
        "录入注销原因": {"cancellation_reason": "双方协商一致解除合同", "confirmed": True},
        "重新签署或撤回申请": {"after_cancel_action": ("重新生成电子合同订单", "撤回注销申请")[choice % 2]},
    }[task]


# Input every form must refuse with a field message (and change nothing).
BAD_DATA = {
    "填写买卖合同": lambda run: contract_form([BUYER_ZHAO], sellers=SELLERS[run.who][1], price="-5"),
    "选择修改或删除": lambda run: {"after_cancel_action": "随便"},
    "录入注销原因": lambda run: {"cancellation_reason": "", "confirmed": True},
    "查询房源": lambda run: {"query_mode": "证书号", "certificate_no": "", "check_code": ""},
}
