"""Building a database of many online-signing instances for bench/scale.py, quickly.

A few instances are made the slow, real way (a citizen walking the portal's pages, so the
engine and the handlers write every row themselves): the *templates*, one per state a
city's contracts are in (drafting, waiting for signatures, filed; and one whose signing
deadline passed, for the timer drain).  Each template is then cloned in bulk SQL, through
the engine's and the handlers' own models (``Table.insert()``), with fresh identifiers:
task UUIDs (in the state, the inbox, the timers, the audit), contract, order and property
numbers, a seller account and a buyer of its own.  A clone is an instance the engine can
step like any other (the drain fires the deadline of cloned instances and deletes their
contracts), not a copy of rows that only looks right in lists.
"""
from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterator
from datetime import timezone
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from engine.db import UTCDateTime
from engine.models import AuditEvent, InboxTask, Message, ProcessInstance, Timer
from handlers.demo import ZHANG_WEI_ID, ZHAO_MIN_ID, resident_id
from handlers.models import (Account, Contract, ContractParty, ESignOrder, ESignSignature,
                             RegistryProperty)

_T = {model.__tablename__: model.__table__ for model in (
    Account, RegistryProperty, Contract, ContractParty, ESignOrder, ESignSignature,
    ProcessInstance, InboxTask, Timer, AuditEvent, Message)}
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
CHECK_CODE = "135790"

CONTRACT_FORM = {"sellers-0-phone": "13800001111", "buyers-0-name": "赵敏", "buyers-0-id_type": "居民身份证",
                 "buyers-0-id_number": ZHAO_MIN_ID, "buyers-0-phone": "13900005555", "price": "1580000",
                 "payment_method": "贷款", "delivery_date": "2027-01-15", "tax_bearer": "按国家规定各自承担",
                 "dispute_resolution": "仲裁"}
# The drafting tasks after the contract is created, with what the citizen types; then 提交 and the order.
DRAFTING = [CONTRACT_FORM, {"applicant_name": "张伟", "applicant_phone": "13800001111"},
            {"rating_level": "非常满意"}, {},  # 不选择资金监管 (the bank paths need the bank sandbox)
            {"acknowledged": "on"}, {"confirmed": "1"}, {"confirmed": "1"}]  # 提交 and 生成电子合同订单: 「确定」


def certificate(number: int) -> str:
    return f"粤(2026)中山市不动产权第{number:07d}号"


def add_homes(conn: sa.Connection, first: int, count: int, owner_id_number: str = ZHANG_WEI_ID) -> None:
    """Homes in the sandbox registry, ``certificate(first)`` on, owned by one person."""
    conn.execute(_T["registry_property"].insert(), [dict(
        certificate_no=certificate(number), check_code=CHECK_CODE,
        unit_no=f"4420008{number:09d}GB00123F0001",
        owners=[{"name": "张伟", "id_type": "居民身份证", "id_number": owner_id_number, "share": "100"}],
        location=f"中山市石岐街道规模测试路{number}号", use="住宅", kind="房屋", floor="8/18",
        building_area="88.00", inner_area="70.00", land_use_type="出让", land_use_term="2010-05-01至2080-04-30",
    ) for number in range(first, first + count)])


# ---------------------------------------------------------------- a citizen's walk through the pages

def next_page(response: Any) -> str:
    assert response.status_code == 302, response.data[:300]
    return str(response.headers["Location"])


# Seconds of every engine step (its transaction, from the first statement to the commit) in this process.
STEP_SECONDS: list[float] = []


def time_engine_steps() -> None:
    """Time every step the engine runs: a page's own cost (the request, the template) would hide what a
    step costs, e.g. a state that grows with every round of a loop."""
    from engine.step import Steps
    if getattr(Steps.transaction, "timed", False):
        return
    untimed = Steps.transaction

    @contextlib.contextmanager
    def transaction(self: Steps) -> Iterator[Any]:
        started = time.perf_counter()
        with untimed(self) as session:
            yield session
        STEP_SECONDS.append(time.perf_counter() - started)

    transaction.timed = True  # type: ignore[attr-defined]
    Steps.transaction = transaction  # type: ignore[method-assign]


class Walker:
    """A citizen (张伟) in the portal: every POST runs engine steps."""

    def __init__(self, client: Any):
        self.client = client

    def post(self, url: str, data: dict[str, Any]) -> str:
        return next_page(self.client.post(url, data=data))

    def to_drafting(self, home: int, started: str | None = None) -> str:
        """Start (unless ``started`` is the first task's URL), verify the home, create the contract: at
        填写买卖合同; the task's URL."""
        url = started or self.post("/start/online_signing", {})
        url = self.post(url, {"business_type": "存量房买卖"})
        url = self.post(url, {"query_mode": "证书号", "certificate_no": certificate(home), "check_code": CHECK_CODE})
        return self.post(url, {})

    def draft_and_order(self, url: str) -> str:
        """From 填写买卖合同 to the e-contract order: the contract page's URL."""
        for data in DRAFTING:
            url = self.post(url, data)
        return url

    def sign_all(self, app: Any, contract_no: str) -> None:
        """Both parties sign on the sandbox 粤信签 page (callbacks into the engine)."""
        from web.extensions import db
        with app.app_context():
            rows = db.session.execute(
                sa.select(ESignSignature.token, ContractParty.name, ContractParty.id_number)
                .join(ContractParty, ContractParty.id == ESignSignature.party_id)
                .join(ESignOrder, ESignOrder.id == ESignSignature.order_id)
                .join(Contract, Contract.id == ESignOrder.contract_id)
                .where(Contract.contract_no == contract_no, ESignOrder.status == "已创建订单，待签字")).all()
            db.session.remove()
        phone = app.test_client()
        for token, name, id_number in rows:
            phone.post(f"/sandbox/esign/{token}", data={"step": "confirm"})
            phone.post(f"/sandbox/esign/{token}", data={"step": "auth", "name": name, "id_number": id_number})
            phone.post(f"/sandbox/esign/{token}", data={"step": "face"})

    def task_link(self, page_url: str, name: str) -> str:
        page = self.client.get(page_url).data.decode()
        found = re.search(r'href="(/task/[^"]+)">' + re.escape(name) + "<", page)
        assert found, f"no task {name} on {page_url}"
        return found.group(1)


# ---------------------------------------------------------------- cloning

@dataclass
class Template:
    """One engine-made instance and every row that belongs to it, with its state cut at the identifiers."""

    kind: str
    rows: dict[str, list[dict[str, Any]]]
    parts: list[str] = field(default_factory=list)  # state text between identifiers
    holes: list[str] = field(default_factory=list)  # what goes between parts[i] and parts[i + 1]


def read_template(conn: sa.Connection, kind: str, instance_id: int) -> Template:
    def rows(table: str, where: Any) -> list[dict[str, Any]]:
        t = _T[table]
        return [dict(r._mapping) for r in conn.execute(sa.select(t).where(where(t.c)).order_by(t.c[list(t.c.keys())[0]]))]

    [instance] = rows("process_instance", lambda c: c.id == instance_id)
    [contract] = rows("contract", lambda c: c.instance_id == instance_id)
    orders = rows("esign_order", lambda c: c.contract_id == contract["id"])
    found = {
        "process_instance": [instance], "contract": [contract],
        "registry_property": rows("registry_property", lambda c: c.id == contract["property_id"]),
        "contract_party": rows("contract_party", lambda c: c.contract_id == contract["id"]),
        "esign_order": orders,
        "esign_signature": rows("esign_signature", lambda c: c.order_id.in_([o["id"] for o in orders])),
        "inbox_task": rows("inbox_task", lambda c: c.instance_id == instance_id),
        "timer": rows("timer", lambda c: c.instance_id == instance_id),
        "audit_event": rows("audit_event", lambda c: c.instance_id == instance_id),
        "message": rows("message", lambda c: c.instance_id == instance_id),
    }
    template = Template(kind, found)
    _cut_state(template)
    return template


def _cut_state(template: Template) -> None:
    contract = template.rows["contract"][0]
    home = template.rows["registry_property"][0]
    names = {contract["contract_no"]: "contract_no", home["certificate_no"]: "certificate_no",
             f'"property_id":{home["id"]},': "property_id", f'"contract":{{"id":{contract["id"]},': "contract_id"}
    names.update({order["order_no"]: f"order_no:{i}" for i, order in enumerate(template.rows["esign_order"])})
    pattern = re.compile("|".join([_UUID, *map(re.escape, names)]))
    state = template.rows["process_instance"][0]["state"]
    at = 0
    for match in pattern.finditer(state):
        template.parts.append(state[at:match.start()])
        # A task id keeps all but its first eight digits (see new_uuid): only those are a hole.
        template.holes.append(names.get(match.group(0), "uuid:" + match.group(0)[8:]))
        at = match.end()
    template.parts.append(state[at:])


class Ids:
    """The next free id of every table (ids are given explicitly; PostgreSQL's sequences follow at the end)."""

    def __init__(self, conn: sa.Connection):
        self.next = {name: int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(t.c.id), 0))).scalar() or 0) + 1
                     for name, t in _T.items() if "id" in t.c and isinstance(t.c.id.type, sa.Integer)}

    def take(self, table: str, count: int = 1) -> int:
        first = self.next[table]
        self.next[table] += count
        return first


def new_uuid(number: int, old: str) -> str:
    """A fresh task id: the clone's number in the first eight digits, the template task's in the rest."""
    return f"{number:08x}{old[8:]}"


def clone_rows(template: Template, number: int, ids: Ids, out: dict[str, list[dict[str, Any]]]) -> None:
    """The rows of clone ``number`` (unique over the whole database) appended to ``out``."""
    t = template.rows
    instance_id, contract_id = ids.take("process_instance"), ids.take("contract")
    account_id, home_id = ids.take("account"), ids.take("registry_property")
    contract_no, seller_id, buyer_id = f"ZS9{number:012d}", resident_id(f"4420001990{number:07d}"), \
        resident_id(f"4420001991{number:07d}")
    actor, old_actor = str(account_id), t["process_instance"][0]["started_by"]
    out["account"].append(dict(login_kind="粤省事", unified_id=f"scale-{number}", name=f"卖方{number}",
                               id_type="居民身份证", id_number=seller_id, phone="13800000000",
                               roles="citizen", id=account_id, created_at=t["contract"][0]["created_at"]))
    home = dict(t["registry_property"][0], id=home_id, certificate_no=f"粤(2025)中山市不动产权第{number:07d}号",
                unit_no=f"4420009{number:09d}GB00123F0001")
    out["registry_property"].append(home)
    row = t["contract"][0]  # unique numbers of the template's filing and supervision get fresh ones
    out["contract"].append(dict(row, id=contract_id, contract_no=contract_no, instance_id=instance_id,
                                property_id=home_id, created_by=account_id,
                                filing_no=f"ZSBA9{number:012d}" if row.get("filing_no") else None,
                                supervision_ref=f"SR9{number:012d}" if row.get("supervision_ref") else None))
    parties = {}
    for party in t["contract_party"]:
        parties[party["id"]] = ids.take("contract_party")
        seller = party["side"] == "卖方"
        out["contract_party"].append(dict(party, id=parties[party["id"]], contract_id=contract_id,
                                          id_number=seller_id if seller else buyer_id,
                                          account_id=account_id if seller else None))
    values = {"contract_no": contract_no, "certificate_no": home["certificate_no"],
              "property_id": f'"property_id":{home_id},', "contract_id": f'"contract":{{"id":{contract_id},'}
    for i, order in enumerate(t["esign_order"]):
        order_id, order_no = ids.take("esign_order"), f"YXQ9{number:012d}{i:02d}"
        values[f"order_no:{i}"] = order_no
        out["esign_order"].append(dict(order, id=order_id, order_no=order_no, contract_id=contract_id,
                                       instance_id=instance_id))
        for signature in t["esign_signature"]:
            if signature["order_id"] == order["id"]:
                out["esign_signature"].append(dict(signature, id=ids.take("esign_signature"), order_id=order_id,
                                                   party_id=parties[signature["party_id"]],
                                                   token=f"scale{number}-{signature['id']}"))
    state, prefix = [template.parts[0]], f"{number:08x}"
    for hole, part in zip(template.holes, template.parts[1:]):
        state.append(values[hole] if hole in values else prefix + hole[5:])
        state.append(part)
    out["process_instance"].append(dict(t["process_instance"][0], id=instance_id, business_key=contract_no,
                                        started_by=actor, state="".join(state)))
    _engine_rows(t, number, instance_id, contract_no, actor, old_actor, out)


def _engine_rows(t: dict[str, list[dict[str, Any]]], number: int, instance_id: int, contract_no: str,
                 actor: str, old_actor: str, out: dict[str, list[dict[str, Any]]]) -> None:
    def task_id(old: str | None) -> str | None:
        return new_uuid(number, old) if old else None

    for row in t["inbox_task"]:
        out["inbox_task"].append(dict(row, id=task_id(row["id"]), instance_id=instance_id, business_key=contract_no,
                                      completed_by=actor if row["completed_by"] == old_actor else row["completed_by"]))
    for row in t["timer"]:
        out["timer"].append({**{k: v for k, v in row.items() if k != "id"}, "instance_id": instance_id,
                             "task_id": task_id(row["task_id"])})
    for row in t["audit_event"]:
        out["audit_event"].append({**{k: v for k, v in row.items() if k != "id"}, "instance_id": instance_id,
                                   "task_id": task_id(row["task_id"]),
                                   "actor": actor if row["actor"] == old_actor else row["actor"]})
    for row in t["message"]:
        out["message"].append({**{k: v for k, v in row.items() if k != "id"}, "instance_id": instance_id,
                               "business_key": contract_no, "idempotency_key": f"{row['idempotency_key']}-{number}"})


def insert(conn: sa.Connection, name: str, rows: list[dict[str, Any]]) -> None:
    """Rows into a table: ``COPY`` on PostgreSQL (several times faster than INSERTs of 30 KB states), else
    an executemany.  COPY takes the values as the column types store them (JSON as text, naive UTC)."""
    if conn.dialect.name != "postgresql":
        conn.execute(_T[name].insert(), rows)
        return
    table = _T[name]
    columns = list(rows[0])
    as_json = {c for c in columns if isinstance(table.c[c].type, sa.JSON)}
    as_utc = {c for c in columns if isinstance(table.c[c].type, UTCDateTime)}

    def value(column: str, v: Any) -> Any:
        if v is None:
            return None
        if column in as_json:
            return json.dumps(v, ensure_ascii=False)
        if column in as_utc:
            return v.astimezone(timezone.utc).replace(tzinfo=None)
        return v

    quoted = ", ".join(f'"{c}"' for c in columns)
    with conn.connection.dbapi_connection.cursor() as cursor:  # type: ignore[union-attr]
        with cursor.copy(f'COPY "{name}" ({quoted}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([value(c, row[c]) for c in columns])


# Parents before children.
INSERT_ORDER = ["account", "registry_property", "process_instance", "contract", "contract_party", "esign_order",
                "esign_signature", "inbox_task", "timer", "audit_event", "message"]


def clone(engine: sa.Engine, plan: list[tuple[Template, int]], first_number: int, chunk: int = 500) -> int:
    """Insert ``count`` clones of each template (``plan``), numbered from ``first_number``; the next number."""
    number = first_number
    with engine.connect() as conn:
        ids = Ids(conn)
        for template, count in plan:
            done = 0
            while done < count:
                out: dict[str, list[dict[str, Any]]] = {name: [] for name in INSERT_ORDER}
                for _ in range(min(chunk, count - done)):
                    clone_rows(template, number, ids, out)
                    number += 1
                    done += 1
                conn.execute(sa.text("SELECT 1"))  # the transaction COPY writes in, committed below
                for name in INSERT_ORDER:
                    if out[name]:
                        insert(conn, name, out[name])
                conn.commit()
        if engine.dialect.name == "postgresql":
            for name in ids.next:
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                     f"(SELECT coalesce(max(id), 1) FROM {name}))"))
            conn.commit()
    if engine.dialect.name == "postgresql":
        # A city's database has been vacuumed by the time anyone reads it; a freshly bulk-loaded one has not,
        # and the measurement would time autovacuum's first pass over the new rows (and index-only scans
        # fetching every heap page until the visibility map is set) on the large side only.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as autocommit:
            autocommit.execute(sa.text("VACUUM (ANALYZE)"))
    return number
