"""Configuration: defaults for the embedded SQLite demo, read from the environment by the app factory.

Nothing happens at import time: :func:`load` runs inside ``create_app``, so tests and
commands choose their configuration before anything reads the environment or writes a file.
"""
from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any, Mapping

from engine.budget import DEFAULT_STEP_SECONDS
from engine.workflows import DEFAULT_CACHE_BYTES

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = "production"
# The secrets: never a default in code. The embedded default generates them once per installation
# (kept in the var folder); production takes them from the environment or refuses to start.
SECRETS = ("SECRET_KEY", "ESIGN_CALLBACK_SECRET")
# Sandbox name → (config switch, the external system setting that names its implementation, what it is).
SANDBOXES = {
    "identity": ("SANDBOX_IDENTITY", "IDENTITY_PLATFORM", "统一身份认证沙箱（任何人可冒充任何人）"),
    "esign": ("SANDBOX_ESIGN", "ESIGN_SERVICE", "粤信签沙箱页面"),
    "property_registry": ("SANDBOX_PROPERTY_REGISTRY", "PROPERTY_REGISTRY", "不动产登记沙箱"),
    "fund_supervision": ("SANDBOX_BANK", "BANK_SERVICE", "资金监管银行沙箱（建设银行「龙存管」）"),
    "sms": ("SANDBOX_SMS", "SMS_GATEWAY", "短信沙箱及事件回调接收沙箱"),
}


class ConfigError(Exception):
    """A configuration the system refuses to start with; the message is one line for the operator."""


class Config:
    """Defaults; every UPPER_CASE name here may be overridden by the environment variable in ``ENVIRONMENT``."""

    NETSIGN_ENV = "development"
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    UPLOAD_MAX_BYTES = 10 * 1024 * 1024
    # Whole request: a form may carry several materials; anything larger is answered 413 unread.
    MAX_CONTENT_LENGTH = 32 * 1024 * 1024
    # Absolute base URL that QR codes encode (the phone must reach it).
    PUBLIC_BASE_URL = "http://127.0.0.1:5000"
    WORKER_INTERVAL_SECONDS = 5.0
    STEP_SECONDS = DEFAULT_STEP_SECONDS
    # Where the natural days of the diagrams' date helpers begin and end (engine.dates).
    TIME_ZONE = "Asia/Shanghai"
    WORKFLOW_CACHE_MB = DEFAULT_CACHE_BYTES // (1024 * 1024)
    RETENTION_DAYS: float | None = None  # off: finished instances keep their state and audit
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    BABEL_DEFAULT_LOCALE = "zh"
    # Sign-in throttling (Flask-Limiter): wrong passwords per account and per address; "memory://" is
    # one process's memory, a "redis://host:6379" URI shares the counts between processes.
    RATELIMIT_STORAGE_URI = "memory://"
    LOGIN_LIMIT_PER_ACCOUNT = "5 per 15 minutes"
    LOGIN_LIMIT_PER_ADDRESS = "30 per 15 minutes"
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto to trust; 0 = none. Behind a proxy
    # without this every visitor has the proxy's address and shares one sign-in lockout.
    TRUSTED_PROXIES = 0
    # Which implementation of each external system (handlers/bootstrap.py); only sandboxes exist here.
    PROPERTY_REGISTRY = "sandbox"
    IDENTITY_PLATFORM = "sandbox"
    ESIGN_SERVICE = "sandbox"
    # /readyz: a worker whose last sweep is older than this is stale (not ready when every worker is).
    READY_HEARTBEAT_SECONDS = 60.0
    # Logs (web/logs.py): "json" or "text"; the default is json in production, text otherwise.
    LOG_LEVEL = "INFO"
    BANK_SERVICE = "sandbox"
    SMS_GATEWAY = "sandbox"
    # Subscribers of the business events (webhooks): [{"name", "url", "secret", "events": [...] (optional)}].
    WEBHOOKS: list = []


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    WTF_CSRF_ENABLED = False


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


# config key → (environment variable, type)
ENVIRONMENT: dict[str, tuple[str, Any]] = {
    "NETSIGN_ENV": ("NETSIGN_ENV", str),
    "SECRET_KEY": ("SECRET_KEY", str),
    "VAR_DIR": ("NETSIGN_VAR_DIR", str),
    "PROCESSES_DIR": ("NETSIGN_PROCESSES_DIR", str),
    "UPLOAD_DIR": ("NETSIGN_UPLOAD_DIR", str),
    "UPLOAD_MAX_BYTES": ("NETSIGN_UPLOAD_MAX_BYTES", int),
    "MAX_CONTENT_LENGTH": ("NETSIGN_MAX_CONTENT_LENGTH", int),
    "ESIGN_CALLBACK_SECRET": ("ESIGN_CALLBACK_SECRET", str),
    "PUBLIC_BASE_URL": ("PUBLIC_BASE_URL", str),
    "WORKER_INTERVAL_SECONDS": ("NETSIGN_WORKER_INTERVAL", float),
    "STEP_SECONDS": ("NETSIGN_STEP_SECONDS", float),
    "TIME_ZONE": ("NETSIGN_TIME_ZONE", str),
    "WORKFLOW_CACHE_MB": ("NETSIGN_WORKFLOW_CACHE_MB", int),
    "RETENTION_DAYS": ("NETSIGN_RETENTION_DAYS", float),
    "DEMO_DATA": ("NETSIGN_DEMO_DATA", _flag),
    "SANDBOXES": ("NETSIGN_SANDBOXES", str),
    "RATELIMIT_STORAGE_URI": ("RATELIMIT_STORAGE_URI", str),
    "TRUSTED_PROXIES": ("NETSIGN_TRUSTED_PROXIES", int),
    "PROPERTY_REGISTRY": ("NETSIGN_PROPERTY_REGISTRY", str),
    "IDENTITY_PLATFORM": ("NETSIGN_IDENTITY_PLATFORM", str),
    "ESIGN_SERVICE": ("NETSIGN_ESIGN_SERVICE", str),
    "READY_HEARTBEAT_SECONDS": ("NETSIGN_READY_HEARTBEAT_SECONDS", float),
    "LOG_FORMAT": ("NETSIGN_LOG_FORMAT", str),
    "LOG_LEVEL": ("NETSIGN_LOG_LEVEL", str),
    "BANK_SERVICE": ("NETSIGN_BANK_SERVICE", str),
    "SMS_GATEWAY": ("NETSIGN_SMS_GATEWAY", str),
    "WEBHOOKS": ("NETSIGN_WEBHOOKS", json.loads),
}


def load(config_object: type, overrides: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> dict:
    """Defaults of ``config_object``, then the environment, then ``overrides`` (a test's, a command's).

    Raises :class:`ConfigError` for a production configuration without its secrets or with a sandbox
    nobody switched on.
    """
    environ = os.environ if environ is None else environ
    config = {k: getattr(config_object, k) for k in dir(config_object) if k.isupper()}
    for key, (variable, kind) in ENVIRONMENT.items():
        if environ.get(variable):
            try:
                config[key] = kind(environ[variable])
            except ValueError as err:
                raise ConfigError(f"拒绝启动：环境变量 {variable} 的值无效：{err}") from err
    config.update(overrides)
    config["WEBHOOKS"] = webhooks(config.get("WEBHOOKS") or [])
    var = Path(config.setdefault("VAR_DIR", str(ROOT / "var")))
    config.setdefault("PROCESSES_DIR", str(ROOT / "processes"))
    config.setdefault("UPLOAD_DIR", str(var / "uploads"))
    config.setdefault("PENDING_DEPLOY_DIR", str(var / "pending-deploys"))
    config.setdefault("TRANSLATIONS_DIR", str(var / "translations"))
    config.setdefault("BPMNLINT", str(ROOT / "node_modules" / ".bin" / "bpmnlint"))
    if "SQLALCHEMY_DATABASE_URI" not in config:
        config["SQLALCHEMY_DATABASE_URI"] = database_url(environ.get("DATABASE_URL"), var)
    production = config["NETSIGN_ENV"] == PRODUCTION
    _secrets(config, var, production)
    _sandboxes(config, production)
    if production:
        config["SESSION_COOKIE_SECURE"] = True  # the session cookie never travels over plain HTTP
        config.setdefault("DEMO_DATA", False)
    config.setdefault("DEMO_DATA", True)
    config.setdefault("LOG_FORMAT", "json" if production else "text")
    if config["LOG_FORMAT"] not in ("json", "text"):
        raise ConfigError(f"拒绝启动：NETSIGN_LOG_FORMAT 应为 json 或 text，而不是「{config['LOG_FORMAT']}」")
    return config


def _secrets(config: dict, var: Path, production: bool) -> None:
    for key in SECRETS:
        if config.get(key):
            continue
        if production:
            raise ConfigError(f"拒绝启动：生产环境必须由环境变量 {key} 提供密钥 "
                              f"(refusing to start: production needs {key} from the environment)")
        config[key] = _kept_secret(var, key.lower())


def _sandboxes(config: dict, production: bool) -> None:
    """Each sandbox on in the embedded default, off in production unless NETSIGN_SANDBOXES names it."""
    wanted = config.get("SANDBOXES")
    if wanted is None:
        enabled = set() if production else set(SANDBOXES)
    else:
        enabled = {name.strip() for name in str(wanted).split(",") if name.strip()}
        enabled = set(SANDBOXES) if "all" in enabled else enabled
        unknown = enabled - set(SANDBOXES)
        if unknown:
            raise ConfigError(f"拒绝启动：NETSIGN_SANDBOXES 中的「{'、'.join(sorted(unknown))}」不存在，"
                              f"可选：{','.join(SANDBOXES)}、all")
    for name, (switch, system, what) in SANDBOXES.items():
        config[switch] = name in enabled
        if config.get(system) == "sandbox" and name not in enabled:
            raise ConfigError(f"拒绝启动：{what}未启用，但 {system}=sandbox；请配置真实实现，"
                              f"或设置 NETSIGN_SANDBOXES={name} 明确启用 (sandbox '{name}' is off)")


def webhooks(entries: Any) -> list[dict]:
    """The webhook subscribers, checked: each a name (unique), an http(s) URL and a secret."""
    if not isinstance(entries, list):
        raise ConfigError("拒绝启动：NETSIGN_WEBHOOKS 应为 JSON 数组，如 "
                          '[{"name": "bank", "url": "https://…", "secret": "…"}]')
    checked, names = [], set()
    for entry in entries:
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) and entry.get(k)
                                                  for k in ("name", "url", "secret")):
            raise ConfigError("拒绝启动：NETSIGN_WEBHOOKS 的每一项都须有 name、url 和 secret")
        if not entry["url"].startswith(("http://", "https://")) or entry["name"] in names:
            raise ConfigError(f"拒绝启动：NETSIGN_WEBHOOKS 中「{entry['name']}」的 url 无效或名称重复")
        names.add(entry["name"])
        checked.append({"name": entry["name"], "url": entry["url"], "secret": entry["secret"],
                        "events": list(entry.get("events") or [])})
    return checked


def database_url(url: str | None, var: Path) -> str:
    if not url:
        var.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{var / 'netsign.db'}"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _kept_secret(var: Path, name: str) -> str:
    """Generated once per installation and kept in the var folder (sessions and signing links survive
    restarts); the first start says where. A folder that cannot be written refuses to start."""
    path = var / name
    try:
        if not path.exists():
            var.mkdir(parents=True, exist_ok=True)
            fresh = var / f".{name}.{os.getpid()}.tmp"
            fresh.write_text(secrets.token_hex(32))
            fresh.chmod(0o600)
            try:
                os.link(fresh, path)  # atomic and never overwrites: the first of several processes wins
                print(f"netsign: 已生成本机密钥 {path}（首次启动；生产环境请用环境变量提供）", file=sys.stderr)
            except FileExistsError:
                pass
            finally:
                fresh.unlink()
        return path.read_text().strip()
    except OSError as err:
        raise ConfigError(f"拒绝启动：无法在 {var} 保存密钥 {name}：{err.strerror}") from err
