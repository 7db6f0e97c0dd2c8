"""The application layer: the one access policy (a person sees only their own contracts and tasks, staff
only their roles' tasks), uploads bound to their step, the 粤信签 round trip, adapters by configuration."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine import FormInvalid
from handlers.adapters.esign import callback_body
from handlers.bootstrap import Adapters, Settings, bootstrap, build_adapters
from handlers.models import Upload
from handlers.usecases import Actor, Forbidden, Invalid, NotFound, Unauthenticated, admin, citizen, esign, tasks

from .flows import CERT_ZHANG, PDF, contract_form, draft_offline


def actor(services, name: str) -> Actor:
    from handlers.models import Account
    account = services.session.scalars(sa.select(Account).where(Account.name == name)).one()
    return Actor.of(account)


def complete(services, who: Actor, name: str, data: dict):
    [task] = [t for t in citizen.my_tasks(services, who) if t.name == name]
    return tasks.complete_task(services, who, task.id, data)


def verify_home(services, seller: Actor):
    citizen.start_flow(services, seller, "online_signing")
    complete(services, seller, "选择业务类型", {"business_type": "存量房买卖"})
    return complete(services, seller, "查询房源", CERT_ZHANG)


def online_to_order(services, seller: Actor):
    verify_home(services, seller)
    return complete(services, seller, "确认房源", {})


def test_a_person_sees_only_their_own_contracts_and_tasks(services):
    seller, buyer, stranger = (actor(services, n) for n in ("张伟", "赵敏", "王强"))
    online_to_order(services, seller)
    [task] = citizen.my_tasks(services, seller)
    complete(services, seller, task.name, contract_form())
    [contract] = citizen.my_contracts(services, seller)
    assert [c.contract_no for c in citizen.my_contracts(services, buyer)] == [contract.contract_no]
    assert citizen.my_contracts(services, stranger) == []
    assert list(citizen.my_tasks(services, stranger)) == []
    assert list(citizen.my_tasks(services, buyer)) == []  # the seller's case: the buyer works none of it
    [open_task] = citizen.my_tasks(services, seller)
    for refused in (lambda: citizen.contract_page(services, stranger, contract.contract_no),
                    lambda: tasks.task_page(services, stranger, open_task.id),
                    lambda: tasks.complete_task(services, stranger, open_task.id, {}),
                    lambda: citizen.start_online_cancellation(services, stranger, contract.contract_no)):
        with pytest.raises(NotFound):
            refused()
    page = citizen.contract_page(services, buyer, contract.contract_no.lower() + " ")
    assert page.contract.id == contract.id and not page.is_owner and page.tasks == []


def test_staff_see_only_the_tasks_of_their_roles(services, accounts, harness):
    seller = accounts["张伟"]
    case = harness.start("offline_signing", actor=str(seller.id))
    case.complete("选择业务类型", {"business_type": "存量房买卖"}, actor=str(seller.id))
    case.complete("查询房源", CERT_ZHANG, actor=str(seller.id))
    case.complete("确认房源", {}, actor=str(seller.id))
    draft_offline(case, seller)
    clerk, reviewer, citizen_actor, administrator = (actor(services, n) for n in ("窗口受理员甲", "审核员甲", "张伟",
                                                                                  "系统管理员"))
    [intake] = tasks.staff_inbox(services, clerk, tasks.InboxFilter())
    assert intake.name == "受理并核验身份"
    assert list(tasks.staff_inbox(services, reviewer, tasks.InboxFilter())) == []
    assert [t.id for t in citizen.my_tasks(services, clerk)] == [intake.id]
    with pytest.raises(Forbidden):
        tasks.staff_task_page(services, reviewer, intake.id)
    with pytest.raises(Forbidden):
        tasks.staff_inbox(services, citizen_actor, tasks.InboxFilter())
    with pytest.raises(Forbidden):
        admin.overview(services, clerk)
    with pytest.raises(Forbidden):
        tasks.start_offline_cancellation(services, reviewer)
    counts = admin.overview(services, administrator).counts
    assert {status: total.value for status, total in counts.items() if total.value} == {"running": 1}


def test_an_upload_never_outlives_a_refused_step(services, accounts, harness):
    seller = accounts["张伟"]
    case = harness.start("offline_signing", actor=str(seller.id))
    case.complete("选择业务类型", {"business_type": "存量房买卖"}, actor=str(seller.id))
    case.complete("查询房源", CERT_ZHANG, actor=str(seller.id))
    case.complete("确认房源", {}, actor=str(seller.id))
    draft_offline(case, seller)
    clerk = actor(services, "窗口受理员甲")
    [intake] = tasks.staff_inbox(services, clerk, tasks.InboxFilter())
    tasks.complete_with_uploads(services, clerk, intake.id, {"identities_checked": True}, {})
    [upload_task] = tasks.staff_inbox(services, clerk, tasks.InboxFilter())
    page = tasks.staff_task_page(services, clerk, upload_task.id)
    files = {m: (f"m{i}.pdf", PDF + bytes([i])) for i, m in enumerate(page.materials)}

    def uploads() -> int:
        return services.session.scalar(sa.select(sa.func.count()).select_from(Upload))

    with pytest.raises(FormInvalid):  # the forms were not printed: the step refuses, and so the uploads go
        tasks.complete_with_uploads(services, clerk, upload_task.id, {}, files)
    assert uploads() == 0
    with pytest.raises(Invalid) as bad:
        tasks.complete_with_uploads(services, clerk, upload_task.id, {"forms_printed": True},
                                    {**files, page.materials[0]: ("a.pdf", b"hello")})
    assert "不是PDF、JPEG或PNG文件" in bad.value.errors["uploads"][page.materials[0]][0] and uploads() == 0
    tasks.complete_with_uploads(services, clerk, upload_task.id, {"forms_printed": True}, files)
    assert uploads() == len(page.materials)
    assert case.current_tasks() == ["审核备案"]


def test_the_esign_round_trip_checks_identity_once_and_callbacks_by_signature(services):
    seller = actor(services, "张伟")
    online_to_order(services, seller)
    [task] = citizen.my_tasks(services, seller)
    complete(services, seller, task.name, contract_form())
    for name, data in (("填写申请人信息", {"applicant_name": "张伟", "applicant_phone": "13800001111"}),
                       ("填写好差评信息", {"rating_level": "非常满意"}),
                       ("填写资金监管信息", {"fund_supervised": False}),
                       ("确认注意事项", {"acknowledged": True}), ("提交合同", {"confirmed": True}),
                       ("生成电子合同订单", {})):
        complete(services, seller, name, data)
    [contract] = citizen.my_contracts(services, seller)
    order = citizen.contract_page(services, seller, contract.contract_no).order
    assert order.purpose == "签约"  # from the diagram's preScript, not guessed from the process id
    buyer_signature = next(s for s in order.signatures if s.party.side == "买方")
    page = esign.signing_page(services, buyer_signature.token)
    with pytest.raises(esign.Refused):
        esign.check_identity(page, page.signature.party.name, "110105194912310021")
    # Full-width digits and a lower-case check letter are the same ID: one normalisation for every check.
    typed = page.signature.party.id_number.translate(str.maketrans("0123456789X", "０１２３４５６７８９x"))
    esign.check_identity(page, f" {page.signature.party.name} ", typed)
    assert esign.sign(services, page).signed
    with pytest.raises(Unauthenticated):
        esign.receive_callback(services, callback_body(order.order_no, 1, "t", "now"), "00" * 32)
    with pytest.raises(NotFound):
        esign.signing_page(services, "no-such-token")


def test_adapters_are_chosen_by_configuration_and_injected(services, session_factory):
    with pytest.raises(ValueError) as err:
        build_adapters(Settings(property_registry="production-registry"))
    assert "PROPERTY_REGISTRY" in str(err.value) and "sandbox" in str(err.value)

    class EmptyRegistry:
        def __init__(self, session):
            pass

        def by_certificate(self, certificate_no, check_code):
            return None

        def by_unit(self, owner_name, unit_no):
            return None

    sandbox = build_adapters(services.settings)
    fake = bootstrap(session_factory, services.settings,
                     adapters=Adapters(EmptyRegistry, sandbox.identity, sandbox.esign))
    seller = actor(fake, "张伟")
    verify_home(fake, seller)  # the query finds nothing in the fake registry: asked again
    [again] = citizen.my_tasks(fake, seller)
    assert again.name == "查询房源"
    assert "未查询到房源" in tasks.task_page(fake, seller, again.id).hint



def test_my_contracts_come_a_page_at_a_time(services):
    seller = actor(services, "张伟")
    for _ in range(3):
        online_to_order(services, seller)
        complete(services, seller, "填写买卖合同", contract_form())
        # One live contract per home: the seller deletes this one before signing the home again.
        for contract in citizen.my_contracts(services, seller):
            contract.status = "已删除"
        services.session.commit()
    first = citizen.my_contracts_page(services, seller, limit=2)
    rest = citizen.my_contracts_page(services, seller, after=first.next_cursor, limit=2)
    assert len(first) == 2 and len(rest) == 1 and rest.next_cursor is None
    assert [c.id for c in first.items + rest.items] == [c.id for c in citizen.my_contracts(services, seller)]
    with pytest.raises(Invalid):
        citizen.my_contracts_page(services, seller, after="x")
    assert list(citizen.my_contracts_page(services, actor(services, "王强"))) == []


def test_service_handlers_take_what_they_must_know_from_the_diagram(services):
    from types import SimpleNamespace

    from handlers.models import DomainError
    from handlers.services import SERVICES
    create_order = services.registry.services["create_esign_order"]
    nowhere = SimpleNamespace(instance=SimpleNamespace(process_id="online_cancellation"))
    with pytest.raises(DomainError) as err:  # no guess from the process id: the parameter decides
        create_order(nowhere, contract_id=1, purpose="出租")
    assert "purpose" in str(err.value)
    import inspect
    for operator, handler in SERVICES.items():
        assert "process_id" not in inspect.getsource(handler), operator
