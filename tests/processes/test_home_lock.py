"""One home, one live contract: refused early at 房源验证, and decided by the database when two
starts race (guide: a new contract only after the old one is deleted or cancelled)."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from handlers.models import Contract
from handlers.services import HOME_TAKEN

from .flows import CERT_ZHANG, contract_of, start_and_verify

ROOT = Path(__file__).resolve().parents[2]
CERT_WANG = {"query_mode": "证书号", "certificate_no": "粤(2022)中山市不动产权第0567890号", "check_code": "915372"}


def _live_contracts(harness, certificate_no="0567890"):
    session = harness.session
    session.expire_all()
    rows = session.scalars(sa.select(Contract).where(Contract.status.in_(("草稿", "已提交", "已签约")))).all()
    return [c for c in rows if certificate_no in c.home.certificate_no]


@pytest.mark.parametrize("process_id", ["online_signing", "offline_signing"])
def test_two_owners_verified_together_only_the_first_contract_is_created(harness, accounts, process_id):
    wang, liu = accounts["王强"], accounts["刘芳"]
    cases = []
    for owner in (wang, liu):
        case = harness.start(process_id, actor=str(owner.id))
        case.complete("选择业务类型", {"business_type": "存量房买卖"}, actor=str(owner.id))
        case.complete("查询房源", CERT_WANG, actor=str(owner.id))
        assert case.current_tasks() == ["确认房源"]  # both see the home: neither has a contract yet
        cases.append(case)
    first, second = cases
    first.complete("确认房源", {}, actor=str(wang.id))
    second.complete("确认房源", {}, actor=str(liu.id))
    assert first.current_tasks() == ["填写买卖合同"]
    assert second.status == "completed" and second.end_event == "房屋已有在办合同"
    assert second.business_key is None
    assert len(_live_contracts(harness)) == 1


def test_a_home_with_a_live_contract_is_refused_at_verification_without_naming_it(harness, accounts):
    wang, liu = accounts["王强"], accounts["刘芳"]
    first = start_and_verify(harness, wang, CERT_WANG)
    first.complete("确认房源", {}, actor=str(wang.id))
    contract_no = contract_of(harness, first).contract_no
    second = start_and_verify(harness, liu, CERT_WANG)
    assert second.end_event == "不予受理"
    message = second.data()["verification"]["message"]
    assert message == HOME_TAKEN and contract_no not in message
    again = start_and_verify(harness, wang, CERT_WANG)  # the seller who holds it is told where it is
    assert contract_no in again.data()["verification"]["message"]


def test_after_deletion_the_home_can_be_signed_again(harness, accounts):
    zhang = accounts["张伟"]
    first = start_and_verify(harness, zhang, CERT_ZHANG)
    first.complete("确认房源", {}, actor=str(zhang.id))
    session = harness.session
    contract = contract_of(harness, first)
    contract.status = "已删除"
    session.commit()
    second = start_and_verify(harness, zhang, CERT_ZHANG)
    second.complete("确认房源", {}, actor=str(zhang.id))
    assert second.current_tasks() == ["填写买卖合同"]


def test_simultaneous_starts_on_one_home_exactly_one_proceeds(engine_factory, accounts):
    """Two threads, each with its own engine and connection, confirm the same home at once."""
    wang, liu = accounts["王强"], accounts["刘芳"]
    engines = [engine_factory(), engine_factory()]
    task_ids = []
    for engine, owner in zip(engines, (wang, liu)):
        result = engine.start("online_signing", str(owner.id))
        result = engine.complete_task(result.ready_tasks[0]["id"], {"business_type": "存量房买卖"}, str(owner.id))
        result = engine.complete_task(result.ready_tasks[0]["id"], CERT_WANG, str(owner.id))
        task_ids.append(result.ready_tasks[0]["id"])
        engine.session_factory.remove()
    barrier, outcomes, errors = threading.Barrier(2), {}, []

    def confirm(index, engine, owner):
        try:
            barrier.wait()
            outcomes[index] = engine.complete_task(task_ids[index], {}, str(owner.id))
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)
        finally:
            engine.session_factory.remove()

    threads = [threading.Thread(target=confirm, args=(i, e, o)) for i, (e, o) in enumerate(zip(engines, (wang, liu)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    ends = sorted(str(r.end_event) for r in outcomes.values())
    assert ends == ["None", "房屋已有在办合同"]
    session = engines[0].session_factory()
    live = session.scalars(sa.select(Contract).where(Contract.status == "草稿")).all()
    assert len(live) == 1


def test_two_processes_confirming_one_home_at_once_exactly_one_proceeds(engine_factory, accounts, database_url):
    """The database, not the process, holds the rule: two processes (two connections, two engines)."""
    wang, liu = accounts["王强"], accounts["刘芳"]
    engine = engine_factory()
    task_ids = []
    for owner in (wang, liu):
        result = engine.start("online_signing", str(owner.id))
        result = engine.complete_task(result.ready_tasks[0]["id"], {"business_type": "存量房买卖"}, str(owner.id))
        result = engine.complete_task(result.ready_tasks[0]["id"], CERT_WANG, str(owner.id))
        task_ids.append((result.ready_tasks[0]["id"], str(owner.id)))
    engine.session_factory.remove()
    start_at = time.time() + 2.0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [subprocess.Popen([sys.executable, "-m", "tests.processes.confirm_worker", database_url,
                                 str(start_at), task_id, actor], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for task_id, actor in task_ids]
    outputs = [w.communicate(timeout=120) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], [err for _, err in outputs]
    assert sorted(out.strip().splitlines()[-1] for out, _ in outputs) == ["房屋已有在办合同", "继续签约"]
    session = engine.session_factory()
    assert len(session.scalars(sa.select(Contract).where(Contract.status == "草稿")).all()) == 1
