"""Signing in through the unified identity platform (粤省事, 账号密码, 法人), 用户关联, and the window's
password reset."""
from __future__ import annotations

import secrets

import sqlalchemy as sa

from engine.models import AuditEvent

from ..adapters.identity import Identity
from ..bootstrap import Services
from ..models import Account
from ..validation import FormatError, check_uscc
from .errors import Invalid, Refused
from .policy import ANONYMOUS, Actor

STAFF_KIND = "工作人员"


def actor_of(services: Services, account_id: int | None) -> tuple[Account | None, Actor]:
    """The account behind a web session, and the actor use cases check; (None, ANONYMOUS) if gone."""
    account = services.session.get(Account, account_id) if account_id is not None else None
    return account, Actor.of(account) if account is not None else ANONYMOUS


def scannable_accounts(services: Services) -> list[Account]:
    """The people the sandbox 粤省事 scan can return (the login page lists them)."""
    return list(services.session.scalars(sa.select(Account).where(Account.login_kind == "粤省事")
                                         .order_by(Account.id)))


def sign_in_scanned(services: Services, unified_id: str | None) -> Account:
    account = services.session.scalars(sa.select(Account).where(Account.unified_id == unified_id)).first()
    if account is None:
        raise Refused("扫码登录失败：统一身份认证平台未返回有效身份")
    return account


def sign_in_legal_person(services: Services, uscc: str, password: str) -> Account:
    """法人登录: a unit sells a home in its own name; it signs in with its 统一社会信用代码."""
    try:
        code = check_uscc(uscc)
    except FormatError as err:
        raise Invalid(f"统一社会信用代码：{err}") from err
    account = services.session.scalars(sa.select(Account).where(
        Account.login_kind == "法人", Account.id_number == code)).first()
    if account is None or not account.check_password(password):
        raise Refused("统一社会信用代码或密码错误")
    return account


def sign_in_password(services: Services, username: str, password: str) -> Account:
    """账号密码 (HK/Macau/Taiwan, foreign users) and staff accounts."""
    account = services.session.scalars(sa.select(Account).where(Account.username == username.strip())).first()
    if account is None or not account.check_password(password):
        raise Refused("账号或密码错误")
    return account


def identify_new_person(services: Services, name: str, id_number: str) -> tuple[Identity, Account | None]:
    """A person the platform knows: their identity, and their netsign account if they already have one."""
    try:
        identity = services.adapters.identity.identify(name, id_number)
    except FormatError as err:
        raise Invalid(f"身份证号码{err}") from err
    if not identity.name:
        raise Invalid("姓名为必填项")
    account = services.session.scalars(sa.select(Account).where(Account.unified_id == identity.unified_id)).first()
    return identity, account


def associate(services: Services, identity: Identity, *, link: bool, id_number: str = "",
              password: str = "") -> Account:
    """用户关联: 「关联本地用户」 (ID number + password of an existing account) or 「创建个人网签账号」."""
    with services.unit_of_work() as session:
        if link:
            account = session.scalars(sa.select(Account).where(
                Account.id_number == id_number.strip().upper(), Account.login_kind != STAFF_KIND)).first()
            if account is None or not account.check_password(password):
                raise Refused("证件号码或密码错误。若忘记密码，请本人携带有效身份证件原件到行政服务中心申请重置密码")
            if account.unified_id:
                raise Refused("该网签账号已关联其他统一身份认证账号")
            account.unified_id = identity.unified_id
            session.add(AuditEvent(kind="account_linked", actor=str(account.id),
                                   details={"account_id": account.id, "login_kind": account.login_kind}))
        else:
            taken = session.scalars(sa.select(Account.id).where(
                Account.id_type == "居民身份证", Account.id_number == identity.id_number)).first()
            if taken is not None:  # one account per person: the existing one is linked, not duplicated
                raise Refused("该证件号码已有网签账号，请选择「关联现有账号」并输入该账号的密码")
            account = Account(login_kind="粤省事", unified_id=identity.unified_id, name=identity.name,
                              id_type="居民身份证", id_number=identity.id_number, roles="citizen")
            session.add(account)
            session.flush()
            session.add(AuditEvent(kind="account_created", actor=str(account.id),
                                   details={"account_id": account.id, "login_kind": account.login_kind}))
    return account


def reset_password(services: Services, actor: Actor, id_number: str, id_checked: bool) -> str:
    """A forgotten password is reset only in person, by a window clerk who checked the original ID."""
    actor.require("clerk")
    if not id_checked:
        raise Refused("请先核验本人有效身份证件原件")
    with services.unit_of_work() as session:
        account = session.scalars(sa.select(Account).where(
            Account.id_number == id_number.strip().upper(), Account.login_kind != STAFF_KIND)).first()
        if account is None:
            raise Refused("未找到该证件号码的网签账号")
        new_password = secrets.token_urlsafe(6)
        account.set_password(new_password)
        session.add(AuditEvent(kind="password_reset", actor=actor.ref, details={"account_id": account.id}))
    return new_password


def staff_names(services: Services) -> dict[int, str]:
    return {a.id: a.name for a in _staff(services)}


def colleagues(services: Services, actor: Actor, roles: tuple[str, ...]) -> list[Account]:
    """Staff a task may be handed over to: others holding one of ``roles``."""
    return [a for a in _staff(services) if a.id != actor.account_id and set(a.role_list()) & set(roles)]


def staff_account(services: Services, account_id: str | int | None) -> Account | None:
    """The staff account with this id, or None (not a number, absent, or a citizen)."""
    text = str(account_id or "").strip()
    if not (text.isascii() and text.isdigit()) or int(text) > 2**31 - 1:
        return None
    account = services.session.get(Account, int(text))
    return account if account is not None and account.login_kind == STAFF_KIND else None


def _staff(services: Services) -> list[Account]:
    return list(services.session.scalars(sa.select(Account).where(Account.login_kind == STAFF_KIND)))
