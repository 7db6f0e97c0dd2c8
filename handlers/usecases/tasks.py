"""Working a task: the page of a task (citizen or staff), completing it, claiming, releasing and handing
it over, the staff inbox, opening an offline cancellation at the window, uploads and the print forms."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from uuid import UUID

import sqlalchemy as sa

from engine import Page, StepResult
from engine.db import utcnow
from engine.models import AuditEvent, InboxTask

from ..contract_form import contract_form_values
from ..bootstrap import Services
from ..deadlines import BEIJING
from ..documents import FORMS as PRINT_FORMS
from ..models import Contract, Upload, normalize_contract_no
from ..uploads import StoredFile, UploadError, save_file, upload_row
from .accounts import staff_account
from .errors import Invalid, NotFound
from . import task_content
from .policy import STAFF_ROLES, Actor, task_for
from .task_content import TaskContent

# What the staff task page lists as the case's history.
HISTORY_KINDS = ("instance_started", "task_completed", "window_intake", "window_refused", "reviewed",
                 "materials_uploaded", "contract_filed", "contract_cancelled", "task_claimed", "task_released")


@dataclass
class TaskPage:
    task: InboxTask
    schema: type
    contract: Contract | None
    data: dict  # the task's data in the workflow
    prefill: dict = field(default_factory=dict)
    hint: str | None = None
    shown: TaskContent = field(default_factory=TaskContent)


@dataclass
class StaffTaskPage(TaskPage):
    materials: list[str] = field(default_factory=list)
    uploads: dict[str, Upload] = field(default_factory=dict)  # material → newest upload
    history: list[AuditEvent] = field(default_factory=list)
    prints: list[tuple[str, str]] = field(default_factory=list)  # (form key, title)


@dataclass
class InboxFilter:
    process: str | None = None
    task: str | None = None
    contract_no: str | None = None
    mine: bool = False
    created_from: date | None = None
    created_to: date | None = None  # inclusive
    newest_first: bool = False
    overdue: bool = False  # 「已逾期」: only tasks past their due time (the diagram's dueIn)
    after: str | None = None
    limit: int = 200


def _contract_of(services: Services, task: InboxTask) -> Contract | None:
    if not task.business_key:
        return None
    return services.session.scalars(sa.select(Contract).where(Contract.contract_no == task.business_key)).first()


def _task_data(services: Services, task: InboxTask) -> dict:
    workflow = services.engine.load_workflow(task.instance_id)
    spiff_task = workflow.get_task_from_id(UUID(task.id))
    return dict(spiff_task.data) if spiff_task else {}


def task_page(services: Services, actor: Actor, task_id: str) -> TaskPage:
    """A citizen's task: its form, the contract, what the form starts with, why it came round again."""
    task, _ = task_for(services.queries, actor, task_id)
    contract = _contract_of(services, task)
    shown, data = task_content.content(services, actor, task, contract)
    page = TaskPage(task, services.registry.binding(task.form_key).schema, contract, data, shown=shown)
    if task.form_key == "contract_form" and contract is not None:
        page.prefill = contract_form_values(contract)
    else:
        page.prefill = task_content.prefill(task, actor, contract, data)
    if task.form_key == "property_query":
        verification = data.get("verification")
        if verification and not verification.get("found"):
            page.hint = verification.get("message")
    return page


def staff_task_page(services: Services, actor: Actor, task_id: str) -> StaffTaskPage:
    """The window's task: the case, the DMN's materials, what to print, uploads so far, the history."""
    actor.require(*STAFF_ROLES)
    task, _ = task_for(services.queries, actor, task_id)
    contract = _contract_of(services, task)
    data = _task_data(services, task)
    materials = list(data.get("materials") or [])
    page = StaffTaskPage(task, services.registry.binding(task.form_key).schema, contract, data, materials=materials)
    if contract is not None:
        page.uploads = _newest_uploads(services, contract.id)
        # A form is offered for printing exactly when the DMN table asks for it among the materials.
        page.prints = [(key, title) for key, (title, _) in PRINT_FORMS.items()
                       if any(f"《{title}》" in material for material in materials)]
    page.history = list(services.queries.audit(instance_id=task.instance_id, kinds=HISTORY_KINDS, limit=500))
    return page


def _newest_uploads(services: Services, contract_id: int) -> dict[str, Upload]:
    newest: dict[str, Upload] = {}
    for upload in services.session.scalars(sa.select(Upload).where(Upload.contract_id == contract_id)
                                           .order_by(Upload.id)):
        newest[upload.material] = upload
    return newest


def complete_task(services: Services, actor: Actor, task_id: str, values: dict) -> StepResult:
    """Complete a task with form values (validated by the engine against the task's schema)."""
    task, roles = task_for(services.queries, actor, task_id)
    return services.engine.complete_task(task.id, values, actor.ref, roles=roles)


def complete_with_uploads(services: Services, actor: Actor, task_id: str, values: dict,
                          files: dict[str, tuple[str, bytes]]) -> StepResult:
    """Complete a window task with the files posted for its materials (material → (file name, bytes)).

    The engine's step owns its transaction, so the upload rows are written just before it and
    taken out again if the step does not go through: an upload never outlives a refused step.
    """
    actor.require(*STAFF_ROLES)
    task, roles = task_for(services.queries, actor, task_id)
    if "uploads" not in services.registry.binding(task.form_key).schema().fields:
        return services.engine.complete_task(task.id, values, actor.ref, roles=roles)
    contract = _contract_of(services, task)
    if contract is None:
        return services.engine.complete_task(task.id, {**values, "uploads": {}}, actor.ref, roles=roles)
    stored = _save_files(services, files)
    with services.unit_of_work() as session:
        rows = [upload_row(s, contract_id=contract.id, uploader=actor.ref) for s in stored]
        session.add_all(rows)
    uploads = {material: upload.id for material, upload in _newest_uploads(services, contract.id).items()}
    try:
        return services.engine.complete_task(task.id, {**values, "uploads": uploads}, actor.ref, roles=roles)
    except BaseException:
        with services.unit_of_work() as session:
            session.execute(sa.delete(Upload).where(Upload.id.in_([r.id for r in rows])))
        raise


def _save_files(services: Services, files: dict[str, tuple[str, bytes]]) -> list[StoredFile]:
    settings, stored = services.settings, []
    for material, (filename, data) in files.items():
        try:
            stored.append(save_file(material=material, filename=filename, data=data,
                                    upload_dir=settings.upload_dir, max_bytes=settings.upload_max_bytes,
                                    field=material))
        except UploadError as err:
            raise Invalid(err.message, {"uploads": {err.field: [err.message]}}) from err
    return stored


def claim(services: Services, actor: Actor, task_id: str) -> None:
    actor.require(*STAFF_ROLES)
    services.engine.claim(task_id, actor.ref, actor.roles)


def release(services: Services, actor: Actor, task_id: str) -> None:
    actor.require(*STAFF_ROLES)
    services.engine.release(task_id, actor.ref, actor.roles)


def hand_over(services: Services, actor: Actor, task_id: str, to: str) -> None:
    """Only to an existing staff account holding the task's role: anyone else could neither complete nor
    release it, and the task would be stuck."""
    actor.require(*STAFF_ROLES)
    task = services.queries.task(task_id)
    if task is None:
        raise NotFound("任务不存在或已办结")
    colleague = staff_account(services, to)
    if colleague is None or task.role not in colleague.role_list():
        raise Invalid("转交给：只能转交给持有该任务角色的工作人员", {"to": ["只能转交给持有该任务角色的工作人员"]})
    services.engine.hand_over(task_id, str(colleague.id), actor.ref, actor.roles)


def staff_inbox(services: Services, actor: Actor, wanted: InboxFilter) -> Page[InboxTask]:
    """Open tasks of my roles, filtered as the inbox's search form asks (days in Beijing time)."""
    actor.require(*STAFF_ROLES)

    def beijing_midnight(day: date | None, *, next_day: bool = False) -> datetime | None:
        if day is None:
            return None
        return datetime.combine(day + timedelta(days=1 if next_day else 0), time(0), tzinfo=BEIJING)

    return services.queries.open_tasks(
        roles=sorted(actor.staff_roles), process_id=wanted.process or None, name=wanted.task or None,
        business_key=normalize_contract_no(wanted.contract_no) if wanted.contract_no else None,
        assignee=actor.ref if wanted.mine else None, created_from=beijing_midnight(wanted.created_from),
        created_before=beijing_midnight(wanted.created_to, next_day=True), newest_first=wanted.newest_first,
        due_before=utcnow() if wanted.overdue else None,
        after=wanted.after, limit=wanted.limit)


def start_offline_cancellation(services: Services, actor: Actor) -> StepResult:
    """Both parties came to the window to cancel: the clerk opens 「存量房合同注销线下」."""
    actor.require("clerk")
    return services.engine.start("offline_cancellation", actor.ref)


def print_form(services: Services, actor: Actor, contract_no: str, form_key: str) -> tuple[str, bytes]:
    """A printable form of a case, as (file name, PDF bytes)."""
    actor.require(*STAFF_ROLES)
    number = normalize_contract_no(contract_no)
    contract = services.session.scalars(sa.select(Contract).where(Contract.contract_no == number)).first()
    if form_key not in PRINT_FORMS or contract is None:
        raise NotFound("没有这份表格或合同")
    _, render = PRINT_FORMS[form_key]
    return f"{form_key}-{number}.pdf", render(contract)
