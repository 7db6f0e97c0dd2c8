"""The composition root: builds the adapters from configuration, registers the housing code into the
engine's registry, builds the engine, and hands all of it to the use cases as one :class:`Services`.

Nothing else constructs an adapter: a test passes its own ``Adapters`` (or settings that
choose other implementations), and the web's app factory calls :func:`bootstrap` once.
"""
from __future__ import annotations

import secrets
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from sqlalchemy.orm import Session

from engine import ProcessEngine, ReadModel, Registry
from engine.budget import DEFAULT_STEP_SECONDS
from engine.workflows import DEFAULT_CACHE_BYTES

from .adapters.bank import BranchBank, SandboxLongCunGuan, SupervisionBank
from .adapters.esign import ESignService
from .adapters.identity import IdentityPlatform, SandboxIdentityPlatform
from .adapters.registry import PropertyRegistry, SandboxPropertyRegistry
from .adapters.sms import SandboxSmsGateway, SmsGateway

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """What the use cases and adapters need to know of the configuration."""

    upload_dir: str = str(ROOT / "var" / "uploads")
    upload_max_bytes: int = 10 * 1024 * 1024
    # No default key in code: the web configuration always gives one (web/config.py); without one (a
    # script, a test wiring the handlers alone) each process draws its own, so nobody outside can forge.
    esign_callback_secret: str = ""
    public_base_url: str = "http://127.0.0.1:5000"
    processes_dir: str = str(ROOT / "processes")
    pending_deploy_dir: str = str(ROOT / "var" / "pending-deploys")
    bpmnlint: str = str(ROOT / "node_modules" / ".bin" / "bpmnlint")
    # Which implementation of each external system; only the sandboxes exist on this machine.
    property_registry: str = "sandbox"
    identity_platform: str = "sandbox"
    esign_service: str = "sandbox"
    bank_service: str = "sandbox"  # the fund-supervision banks (建设银行「龙存管」, 农村商业银行)
    sms_gateway: str = "sandbox"
    # Webhook subscribers of the business events: ({"name", "url", "secret", "events"}, ...); NETSIGN_WEBHOOKS.
    webhooks: tuple = ()
    # Wall-clock budget of one step's diagram Python (engine.budget); NETSIGN_STEP_SECONDS.
    step_seconds: float = DEFAULT_STEP_SECONDS
    # The zone of the diagrams' date helpers (engine.dates: natural days end at its midnight); NETSIGN_TIME_ZONE.
    time_zone: str = "Asia/Shanghai"
    # Memory the per-process workflow cache may hold, in MB (engine.workflows); NETSIGN_WORKFLOW_CACHE_MB.
    workflow_cache_mb: int = DEFAULT_CACHE_BYTES // (1024 * 1024)
    # Days after which a finished instance's state and detailed audit are archived (engine.retention);
    # NETSIGN_RETENTION_DAYS; None: kept for ever.
    retention_days: float | None = None

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> "Settings":
        """From a Flask-style config (UPPER_CASE keys); absent keys keep their defaults."""
        names = {f: f.upper() for f in cls.__dataclass_fields__}
        values = {f: config[key] for f, key in names.items() if key in config}
        if "webhooks" in values:
            values["webhooks"] = tuple(values["webhooks"])
        return cls(**values)


@dataclass
class Adapters:
    """The external systems, built once."""

    property_registry: Callable[[Session], PropertyRegistry]
    identity: IdentityPlatform
    esign: ESignService
    # Supervising bank's name (as the fund-supervision form offers it) → its adapter.
    banks: dict[str, SupervisionBank] = field(default_factory=dict)
    sms: SmsGateway = field(default_factory=SandboxSmsGateway)


PROPERTY_REGISTRIES: dict[str, Callable[[Session], PropertyRegistry]] = {"sandbox": SandboxPropertyRegistry}
IDENTITY_PLATFORMS: dict[str, Callable[[], IdentityPlatform]] = {"sandbox": SandboxIdentityPlatform}
SMS_GATEWAYS: dict[str, Callable[[], SmsGateway]] = {"sandbox": SandboxSmsGateway}
ESIGN_SERVICES: dict[str, Callable[[Settings], ESignService]] = {
    "sandbox": lambda s: ESignService(s.esign_callback_secret or secrets.token_hex(32), s.public_base_url)}
# The sandbox 「龙存管」 signs its callbacks with the installation's callback key (a real bank adapter
# brings its own); 农村商业银行 works at its branches and sends none.
BANK_SERVICES: dict[str, Callable[[Settings], dict[str, SupervisionBank]]] = {
    "sandbox": lambda s: {bank.name: bank for bank in (
        SandboxLongCunGuan(s.esign_callback_secret or secrets.token_hex(32), s.public_base_url), BranchBank())}}


def _choose(kind: str, choices: dict, name: str):
    if name not in choices:
        raise ValueError(f"配置错误：{kind}「{name}」不存在，可选：{'、'.join(choices)}")
    return choices[name]


def build_adapters(settings: Settings) -> Adapters:
    return Adapters(
        property_registry=_choose("PROPERTY_REGISTRY", PROPERTY_REGISTRIES, settings.property_registry),
        identity=_choose("IDENTITY_PLATFORM", IDENTITY_PLATFORMS, settings.identity_platform)(),
        esign=_choose("ESIGN_SERVICE", ESIGN_SERVICES, settings.esign_service)(settings),
        banks=_choose("BANK_SERVICE", BANK_SERVICES, settings.bank_service)(settings),
        sms=_choose("SMS_GATEWAY", SMS_GATEWAYS, settings.sms_gateway)())


def subscribers(settings: Settings, adapters: Adapters) -> list:
    """Who gets the business events: the SMS gateway (fed by the same outbox) and each configured webhook."""
    from engine.outbound import WebhookSubscriber

    from .notifications import BUSINESS_EVENTS, sms_subscriber

    hooks = [WebhookSubscriber(h["name"], h["url"], h["secret"], frozenset(h.get("events") or BUSINESS_EVENTS))
             for h in settings.webhooks]
    return [sms_subscriber(adapters.sms), *hooks]


@dataclass
class Services:
    """Everything a use case may use; built by :func:`bootstrap`, passed as the first argument."""

    engine: ProcessEngine
    registry: Registry
    adapters: Adapters
    settings: Settings
    session_factory: Callable[[], Session]
    extra: dict = field(default_factory=dict)

    @property
    def queries(self) -> ReadModel:
        return self.engine.queries

    @property
    def session(self) -> Session:
        """The session reads run in (the same one the engine's steps use)."""
        return self.session_factory()

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction for writes outside an engine step (accounts, uploads): the engine's write
        transaction, so SQLite takes its write lock at BEGIN as a step does; committed at the end."""
        with self.engine.transaction() as session:
            yield session

    def end_session(self) -> None:
        """Drop the session of this thread (after a request, a CLI command, a worker sweep)."""
        remove = getattr(self.session_factory, "remove", None)
        if remove is not None:
            remove()


def bootstrap(session_factory: Callable[[], Session], settings: Settings | None = None, *,
              adapters: Adapters | None = None, backoff: tuple[int, ...] | None = None) -> Services:
    """Wire the housing business: adapters → registry (handlers, forms, lanes) → engine → services."""
    from . import register

    settings = settings or Settings()
    adapters = adapters or build_adapters(settings)
    registry = Registry()
    register(registry, adapters)
    options: dict[str, Any] = {"step_seconds": settings.step_seconds, "time_zone": settings.time_zone,
                               "subscribers": subscribers(settings, adapters),
                               "workflow_cache_bytes": settings.workflow_cache_mb * 1024 * 1024,
                               "retention_days": settings.retention_days}
    if backoff:
        options["backoff"] = backoff
    engine = ProcessEngine(session_factory, registry, **options)
    return Services(engine, registry, adapters, settings, session_factory)
