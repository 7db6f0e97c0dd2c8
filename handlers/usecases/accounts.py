"""Signing in through the unified identity platform (粤省事, 账号密码, 法人), 用户关联, and the window's
password reset."""
from __future__ import annotations

import secrets
from dataclasses import asdict

import sqlalchemy as sa
from marshmallow import ValidationError
from werkzeug.security import generate_password_hash

from engine.models import AuditEvent

from ..adapters.identity import Identity
from ..bootstrap import Services
from ..i18n import N_
from ..models import Account, PlatformAccount
from ..registration import LegalPersonRegistration, PersonRegistration
from ..validation import FormatError, check_certificate_name, check_uscc, normalize_text, validate_id_number
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


def sign_in_legal_person(services: Services, uscc: str, password: str) -> Account | Identity:
    """法人登录: a unit sells a home in its own name; it signs in with its 统一社会信用代码. A unit that
    registered on the platform but has no netsign account yet gets its identity, for 用户关联."""
    try:
        code = check_uscc(uscc)
    except FormatError as err:
        raise Invalid(f"统一社会信用代码：{err}") from err
    account = services.session.scalars(sa.select(Account).where(
        Account.login_kind == "法人", Account.id_number == code)).first()
    if account is not None and account.check_password(password):
        return account
    found = _platform_sign_in(services, code, password, kind="法人")
    if found is None:
        raise Refused("统一社会信用代码或密码错误")
    return found


def sign_in_password(services: Services, username: str, password: str) -> Account | Identity:
    """账号密码 (HK/Macau/Taiwan, foreign users) and staff accounts; a platform account not linked to a
    netsign account yet gets its identity, for 用户关联."""
    account = services.session.scalars(sa.select(Account).where(Account.username == username.strip())).first()
    if account is not None and account.check_password(password):
        return account
    found = _platform_sign_in(services, username.strip(), password, kind="账号密码")
    if found is None:
        raise Refused("账号或密码错误")
    return found


def _platform_sign_in(services: Services, username: str, password: str, kind: str) -> Account | Identity | None:
    platform = services.session.scalars(sa.select(PlatformAccount).where(
        PlatformAccount.username == username, PlatformAccount.kind == kind)).first()
    if platform is None or not platform.check_password(password):
        return None
    linked = services.session.scalars(sa.select(Account).where(Account.unified_id == platform.unified_id)).first()
    return linked or _identity_of(platform)


def _identity_of(platform: PlatformAccount) -> Identity:
    return Identity(unified_id=platform.unified_id, name=platform.name, id_number=platform.id_number,
                    id_type=platform.id_type, login_kind=platform.kind)


def identity_from_session(data: dict) -> Identity:
    return Identity(**data)


def identity_to_session(identity: Identity) -> dict:
    return asdict(identity)


def register_person(services: Services, form: dict) -> Identity:
    """「立即注册」 under 账号密码 (港澳台 and foreign people): a platform account, then 用户关联."""
    data = _load(PersonRegistration(), form)
    id_number = validate_id_number(data["id_type"], data["id_number"])
    platform = PlatformAccount(
        unified_id=f"acct-{secrets.token_hex(8)}", kind="账号密码", username=data["username"].strip(),
        password_hash=generate_password_hash(data["password"]), name=check_certificate_name(data["name"]),
        id_type=data["id_type"], id_number=id_number, phone=data["phone"].strip())
    return _register(services, platform, "该账号已被注册，请换一个账号", "该证件已注册统一身份认证账号，请直接登录")


def register_legal_person(services: Services, form: dict) -> Identity:
    """「立即注册」 under 法人: the unit's platform account (its 统一社会信用代码 is the account), then 用户关联."""
    data = _load(LegalPersonRegistration(), form)
    code = check_uscc(data["uscc"])
    platform = PlatformAccount(
        unified_id=f"corp-{code}", kind="法人", username=code, password_hash=generate_password_hash(data["password"]),
        name=normalize_text(data["unit_name"]), id_type="统一社会信用代码", id_number=code,
        phone=data["phone"].strip(), legal_representative=normalize_text(data["representative"]),
        legal_representative_id=validate_id_number(data["representative_id_type"], data["representative_id"]))
    return _register(services, platform, "该统一社会信用代码已注册，请直接使用法人登录",
                     "该统一社会信用代码已注册，请直接使用法人登录")


def _load(schema, form: dict) -> dict:
    try:
        return schema.load(form)
    except ValidationError as err:
        errors = {k: v if isinstance(v, list) else [str(v)] for k, v in err.normalized_messages().items()}
        raise Invalid(N_("注册信息有误，请按提示修改"), errors) from err


def _register(services: Services, platform: PlatformAccount, name_taken: str, id_taken: str) -> Identity:
    session = services.session
    if session.scalars(sa.select(PlatformAccount.id).where(PlatformAccount.username == platform.username)).first():
        raise Invalid(name_taken, {"username": [name_taken]})
    if session.scalars(sa.select(PlatformAccount.id).where(
            PlatformAccount.id_type == platform.id_type, PlatformAccount.id_number == platform.id_number)).first():
        raise Invalid(id_taken, {"id_number": [id_taken]})
    with services.unit_of_work() as session:
        session.add(platform)
    return _identity_of(platform)


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
                Account.id_type == identity.id_type, Account.id_number == identity.id_number)).first()
            if taken is not None:  # one account per person: the existing one is linked, not duplicated
                raise Refused("该证件号码已有网签账号，请选择「关联现有账号」并输入该账号的密码")
            account = Account(login_kind=identity.login_kind, unified_id=identity.unified_id, name=identity.name,
                              id_type=identity.id_type, id_number=identity.id_number, roles="citizen")
            platform = session.scalars(sa.select(PlatformAccount).where(
                PlatformAccount.unified_id == identity.unified_id)).first()
            if platform is not None:  # the platform's sign-in also signs in to this account from now on
                account.username, account.password_hash, account.phone = (
                    platform.username, platform.password_hash, platform.phone)
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
