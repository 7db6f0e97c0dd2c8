"""Housing domain tables: accounts, the sandbox property registry, contracts, parties, e-sign orders.

Nothing is ever physically deleted: a deleted or cancelled contract keeps its
row, its parties and its orders, and the engine keeps the audit trail.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from engine.db import Base, UTCDateTime, utcnow

from .i18n import N_

Money = sa.Numeric(14, 2)
Share = sa.Numeric(7, 4)

# Contract statuses, in the guide's words (N_: the pages show them translated; the data stays Chinese).
DRAFT, SUBMITTED, FILED, CANCELLED, DELETED = N_("草稿"), N_("已提交"), N_("已签约"), N_("已注销"), N_("已删除")
# E-contract order statuses: created → waiting for signatures → fully signed / cancelled / expired (its
# contract deleted) / superseded (a newer order on the same contract). Only ESignOrder.move_to changes them.
ORDER_CREATED, ORDER_WAITING, ORDER_SIGNED = N_("已创建订单"), N_("已创建订单，待签字"), N_("订单已经完成签字")
ORDER_CANCELLED, ORDER_EXPIRED, ORDER_SUPERSEDED = N_("已注销"), N_("已失效"), N_("已作废")
ORDER_TRANSITIONS: dict[str, frozenset[str]] = {
    ORDER_CREATED: frozenset({ORDER_WAITING, ORDER_CANCELLED, ORDER_EXPIRED, ORDER_SUPERSEDED}),
    ORDER_WAITING: frozenset({ORDER_SIGNED, ORDER_CANCELLED, ORDER_EXPIRED, ORDER_SUPERSEDED}),
    ORDER_SIGNED: frozenset(), ORDER_CANCELLED: frozenset(), ORDER_EXPIRED: frozenset(),
    ORDER_SUPERSEDED: frozenset(),
}
# What a party opening the link of an order that no longer waits reads (and a late callback is told).
ORDER_CLOSED_MESSAGES = {
    ORDER_SIGNED: N_("该电子合同订单已经完成签字，无需再次签署"),
    ORDER_CANCELLED: N_("该电子合同订单已注销，签署链接已失效；如需签署，请联系卖方重新生成电子合同订单"),
    ORDER_EXPIRED: N_("该电子合同订单已失效（合同已删除），签署链接已失效"),
    ORDER_SUPERSEDED: N_("该电子合同订单已作废（已生成新的电子合同订单），请使用新订单的签署二维码"),
}
PARTY_WAITING, PARTY_SIGNED = N_("待签字"), N_("签名成功")
# Where a contract's fund supervision stands.
SUPERVISION_TO_SIGN, SUPERVISION_SIGNED, SUPERVISION_AT_BRANCH = (N_("待签署资金监管协议"), N_("已签署资金监管协议"),
                                                                  N_("待到线下支行办理"))
# Shown instead of 已签约 while a cancellation (online or offline) of the contract runs.
CANCELLING = N_("注销中")
# A home has at most one contract in these states (the guide: a new contract only after the old one
# is deleted or cancelled); the database holds the rule, so two simultaneous starts cannot both win.
LIVE_STATUSES = (DRAFT, SUBMITTED, FILED)
_LIVE_SQL = sa.text("status IN ('草稿', '已提交', '已签约')")


def normalize_contract_no(text: str | None) -> str:
    """A contract number as stored (ZS + 13 digits): typed with spaces or in lower case, it still matches."""
    return (text or "").strip().upper()


class DomainError(ValueError):
    """A business rule refused the change; the message is shown to the person."""


class Account(Base):
    __tablename__ = "account"
    __table_args__ = (sa.UniqueConstraint("id_type", "id_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # 粤省事 (mainland, WeChat scan) | 账号密码 (HK/Macau/Taiwan, foreign) | 法人 | 工作人员
    # Indexed: the staff inbox finds the few staff accounts (names, colleagues to hand over to) among a
    # city's citizens without reading them all.
    login_kind: Mapped[str] = mapped_column(sa.String(20), index=True)
    unified_id: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    username: Mapped[str | None] = mapped_column(sa.String(100), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100), index=True)  # the admin audit filters people by name
    id_type: Mapped[str] = mapped_column(sa.String(30))
    id_number: Mapped[str] = mapped_column(sa.String(30))
    phone: Mapped[str | None] = mapped_column(sa.String(30))
    password_hash: Mapped[str | None] = mapped_column(sa.String(256))
    roles: Mapped[str] = mapped_column(sa.String(100), default="citizen")  # comma-separated
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def role_list(self) -> list[str]:
        return [r for r in (self.roles or "").split(",") if r]

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return self.password_hash is not None and check_password_hash(self.password_hash, password)


class PlatformAccount(Base):
    """An account of the sandbox 统一身份认证平台, made by 「立即注册」 (账号密码 for 港澳台 and foreign people, or
    法人 for a unit). It is the platform's record: the netsign ``Account`` is made or linked from it by 用户关联."""

    __tablename__ = "platform_account"
    __table_args__ = (sa.UniqueConstraint("id_type", "id_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unified_id: Mapped[str] = mapped_column(sa.String(100), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # 账号密码 | 法人
    # The name signed in with: a chosen account name, or a unit's 统一社会信用代码.
    username: Mapped[str] = mapped_column(sa.String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    name: Mapped[str] = mapped_column(sa.String(100))
    id_type: Mapped[str] = mapped_column(sa.String(30))
    id_number: Mapped[str] = mapped_column(sa.String(30))
    phone: Mapped[str] = mapped_column(sa.String(30))
    legal_representative: Mapped[str | None] = mapped_column(sa.String(100))
    legal_representative_id: Mapped[str | None] = mapped_column(sa.String(30))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


class RegistryProperty(Base):
    """A record of the sandbox 不动产登记 registry (the real registry is an external system)."""

    __tablename__ = "registry_property"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_no: Mapped[str] = mapped_column(sa.String(100), unique=True)  # normalised
    check_code: Mapped[str] = mapped_column(sa.String(20))
    unit_no: Mapped[str] = mapped_column(sa.String(28), unique=True)
    owners: Mapped[list] = mapped_column(sa.JSON)  # [{name, id_type, id_number, share}]
    location: Mapped[str] = mapped_column(sa.String(300))
    use: Mapped[str] = mapped_column(sa.String(50))  # 住宅 / 商业 / 工业用地 …
    kind: Mapped[str] = mapped_column(sa.String(10), default="房屋")  # 房屋 | 土地
    floor: Mapped[str | None] = mapped_column(sa.String(30))
    building_area: Mapped[Decimal | None] = mapped_column(sa.Numeric(10, 2))
    inner_area: Mapped[Decimal | None] = mapped_column(sa.Numeric(10, 2))
    land_use_type: Mapped[str | None] = mapped_column(sa.String(30))
    land_use_term: Mapped[str | None] = mapped_column(sa.String(60))
    # A pending non-sale registration (e.g. 赠与) that keeps the home out of existing-home sale.
    restriction: Mapped[str | None] = mapped_column(sa.String(200))


class Contract(Base):
    __tablename__ = "contract"
    __table_args__ = (
        sa.Index("uq_contract_live_home", "property_id", unique=True,
                 sqlite_where=_LIVE_SQL, postgresql_where=_LIVE_SQL),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_no: Mapped[str] = mapped_column(sa.String(30), unique=True)
    instance_id: Mapped[int | None] = mapped_column(sa.Integer, unique=True)
    property_id: Mapped[int] = mapped_column(sa.ForeignKey("registry_property.id"))
    channel: Mapped[str] = mapped_column(sa.String(10))  # 线上 | 线下
    status: Mapped[str] = mapped_column(sa.String(10), default=DRAFT, index=True)
    created_by: Mapped[int] = mapped_column(sa.ForeignKey("account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deletion_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deletion_reason: Mapped[str | None] = mapped_column(sa.String(200))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    filed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    filing_no: Mapped[str | None] = mapped_column(sa.String(30), unique=True)  # 备案编号, given at 已签约
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancellation_reason: Mapped[str | None] = mapped_column(sa.String(500))
    # The process instance of the one cancellation now running, if any: claimed by a conditional UPDATE
    # (``WHERE cancellation_instance_id IS NULL``), so of two concurrent starts exactly one holds it.
    cancellation_instance_id: Mapped[int | None] = mapped_column(sa.Integer)

    # 《广东省房地产买卖合同》 terms; None until the contract form is filled.
    co_ownership: Mapped[str | None] = mapped_column(sa.String(10))  # 单独所有 / 共同共有 / 按份共有
    price: Mapped[Decimal | None] = mapped_column(Money)
    payment_method: Mapped[str | None] = mapped_column(sa.String(10))
    deposit: Mapped[Decimal | None] = mapped_column(Money)
    delivery_date: Mapped[date | None] = mapped_column(sa.Date)
    tax_bearer: Mapped[str | None] = mapped_column(sa.String(60))
    default_liability: Mapped[str | None] = mapped_column(sa.Text)
    dispute_resolution: Mapped[str | None] = mapped_column(sa.String(10))
    supplementary_terms: Mapped[str | None] = mapped_column(sa.Text)
    applicant: Mapped[dict | None] = mapped_column(sa.JSON)
    rating: Mapped[dict | None] = mapped_column(sa.JSON)
    fund_supervised: Mapped[bool | None] = mapped_column(sa.Boolean)
    supervision_bank: Mapped[str | None] = mapped_column(sa.String(30))
    # The bank's supervision case (handlers/adapters/bank.py): its reference, the agreement number the
    # bank's SIGNED callback gives (建设银行「龙存管」), and where it stands (SUPERVISION_* below).
    supervision_ref: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    supervision_agreement_no: Mapped[str | None] = mapped_column(sa.String(40))
    supervision_status: Mapped[str | None] = mapped_column(sa.String(30))
    notes_acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    home: Mapped[RegistryProperty] = relationship()
    parties: Mapped[list["ContractParty"]] = relationship(
        back_populates="contract", order_by="ContractParty.position", cascade="all, delete-orphan")

    @property
    def active_parties(self) -> list["ContractParty"]:
        return [p for p in self.parties if p.active]

    @property
    def sellers(self) -> list["ContractParty"]:
        return [p for p in self.active_parties if p.side == "卖方"]

    @property
    def buyers(self) -> list["ContractParty"]:
        return [p for p in self.active_parties if p.side == "买方"]

    @property
    def cancelling(self) -> bool:
        return self.status == FILED and self.cancellation_instance_id is not None

    @property
    def display_status(self) -> str:
        """What 首页 and the contract page show: 「注销中」 while a cancellation runs."""
        return CANCELLING if self.cancelling else self.status

    def ensure_editable(self) -> None:
        """Key facts are fixed once the contract is submitted for signing or filed."""
        if self.status != DRAFT:
            raise DomainError(f"合同{self.contract_no}当前状态为「{self.status}」，不能修改；"
                              "已签约的合同如需更改，须先注销网签备案后重新签订")

    def summary(self) -> dict:
        """What task data carries about the contract (small; the row is the truth)."""
        # created_at: what the diagrams' deadline timers count from (end_of_next_natural_day(...));
        # deletion_deadline is kept for instances still running on a version whose timer reads it.
        return {"id": self.id, "contract_no": self.contract_no, "status": self.status, "created": True,
                "created_at": self.created_at.isoformat(), "deletion_deadline": self.deletion_deadline.isoformat()}


class ContractParty(Base):
    __tablename__ = "contract_party"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id"), index=True)
    side: Mapped[str] = mapped_column(sa.String(4))  # 卖方 | 买方
    position: Mapped[int] = mapped_column(sa.Integer, default=0)
    name: Mapped[str] = mapped_column(sa.String(100))
    id_type: Mapped[str] = mapped_column(sa.String(30))
    id_number: Mapped[str] = mapped_column(sa.String(30), index=True)  # "my contracts" of a party
    phone: Mapped[str | None] = mapped_column(sa.String(30))
    address: Mapped[str | None] = mapped_column(sa.String(300))
    share: Mapped[Decimal | None] = mapped_column(Share)
    is_minor: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    agent_name: Mapped[str | None] = mapped_column(sa.String(100))
    agent_id_number: Mapped[str | None] = mapped_column(sa.String(30))
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id"), index=True)
    # A buyer taken off the contract while editing stays on record (an old order may name them).
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)

    contract: Mapped[Contract] = relationship(back_populates="parties")


class ESignOrder(Base):
    """An 粤信签 e-contract order: one per signing round of a contract."""

    __tablename__ = "esign_order"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_no: Mapped[str] = mapped_column(sa.String(40), unique=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id"), index=True)
    instance_id: Mapped[int] = mapped_column(sa.Integer, index=True)
    purpose: Mapped[str] = mapped_column(sa.String(10))  # 签约 | 注销
    status: Mapped[str] = mapped_column(sa.String(20), default=ORDER_WAITING)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    signatures: Mapped[list["ESignSignature"]] = relationship(
        back_populates="order", order_by="ESignSignature.id", cascade="all, delete-orphan")
    contract: Mapped[Contract] = relationship()

    @property
    def waiting(self) -> bool:
        return self.status == ORDER_WAITING

    @property
    def closed_message(self) -> str | None:
        """Why this order takes no signature any more (None while it waits)."""
        if self.status in (ORDER_CREATED, ORDER_WAITING):
            return None
        return ORDER_CLOSED_MESSAGES.get(self.status, f"电子合同订单状态为「{self.status}」，不能签署")

    def move_to(self, status: str, now: datetime) -> None:
        """The one place an order changes state; an impossible transition is refused, never applied."""
        if status not in ORDER_TRANSITIONS.get(self.status, frozenset()):
            if self.status == ORDER_SIGNED and status == ORDER_CANCELLED:
                raise DomainError("订单已经完成签字，不能注销，请提交")
            raise DomainError(f"电子合同订单{self.order_no}状态为「{self.status}」，不能变为「{status}」")
        self.status = status
        if status == ORDER_SIGNED:
            self.completed_at = now
        elif status != ORDER_WAITING:
            self.cancelled_at = now  # when it stopped taking signatures, whatever the reason

    def sign(self, party_id: int, now: datetime) -> bool:
        """A party of this waiting order signed; True if that changed anything (a repeat does not)."""
        signature = next((s for s in self.signatures if s.party_id == party_id), None)
        if signature is None:
            raise DomainError(f"订单{self.order_no}中没有当事人{party_id}")
        if not self.waiting or signature.status == PARTY_SIGNED:
            return False
        signature.status, signature.signed_at = PARTY_SIGNED, now
        if all(s.status == PARTY_SIGNED for s in self.signatures):
            self.move_to(ORDER_SIGNED, now)
        return True

    def summary(self) -> dict:
        signed = sum(1 for s in self.signatures if s.status == PARTY_SIGNED)
        return {"order_no": self.order_no, "status": self.status, "signed": signed,
                "total": len(self.signatures)}


class ESignSignature(Base):
    __tablename__ = "esign_signature"
    __table_args__ = (sa.UniqueConstraint("order_id", "party_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("esign_order.id"), index=True)
    party_id: Mapped[int] = mapped_column(sa.ForeignKey("contract_party.id"))
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)  # in the QR code's URL
    status: Mapped[str] = mapped_column(sa.String(10), default=PARTY_WAITING)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    order: Mapped[ESignOrder] = relationship(back_populates="signatures")
    party: Mapped[ContractParty] = relationship()


class ContractSequence(Base):
    """Per-day counter behind contract numbers (ZS + yyyymmdd + 5 digits)."""

    __tablename__ = "contract_sequence"

    day: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    last: Mapped[int] = mapped_column(sa.Integer, default=0)


class Upload(Base):
    """A file the window uploaded for a case: signed pages, materials, photos. Never overwritten."""

    __tablename__ = "upload"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contract.id"), index=True)
    material: Mapped[str] = mapped_column(sa.String(200))
    original_name: Mapped[str] = mapped_column(sa.String(255))
    mime: Mapped[str] = mapped_column(sa.String(50))
    size: Mapped[int] = mapped_column(sa.Integer)
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    storage_path: Mapped[str] = mapped_column(sa.String(500))
    uploaded_by: Mapped[str] = mapped_column(sa.String(100))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SmsMessage(Base):
    """A text message the sandbox SMS gateway 'sent' (the sandbox page lists them per phone)."""

    __tablename__ = "sms_message"
    # One message per event and phone: a redelivered event never texts anybody twice.
    __table_args__ = (sa.UniqueConstraint("event_id", "phone"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.String(36))
    phone: Mapped[str] = mapped_column(sa.String(30), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookReceipt(Base):
    """What the sandbox webhook receiver accepted (signature verified), once per idempotency key."""

    __tablename__ = "webhook_receipt"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(50))
    body: Mapped[str] = mapped_column(sa.Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
