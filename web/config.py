"""Configuration: defaults for the embedded SQLite demo, read from the environment by the app factory.

Nothing happens at import time: :func:`load` runs inside ``create_app``, so tests and
commands choose their configuration before anything reads the environment or writes a file.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Mapping

ROOT = Path(__file__).resolve().parent.parent


class Config:
    """Defaults; every UPPER_CASE name here may be overridden by the environment variable in ``ENVIRONMENT``."""

    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    UPLOAD_MAX_BYTES = 10 * 1024 * 1024
    # Shared secret of the 粤信签 callback HMAC; the sandbox signs with it too.
    ESIGN_CALLBACK_SECRET = "sandbox-esign-secret-change-me"
    # Absolute base URL that QR codes encode (the phone must reach it).
    PUBLIC_BASE_URL = "http://127.0.0.1:5000"
    WORKER_INTERVAL_SECONDS = 5.0
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    BABEL_DEFAULT_LOCALE = "zh"
    DEMO_DATA = True
    # Which implementation of each external system (handlers/bootstrap.py); only sandboxes exist here.
    PROPERTY_REGISTRY = "sandbox"
    IDENTITY_PLATFORM = "sandbox"
    ESIGN_SERVICE = "sandbox"


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    WTF_CSRF_ENABLED = False


# config key → (environment variable, type)
ENVIRONMENT: dict[str, tuple[str, Any]] = {
    "VAR_DIR": ("NETSIGN_VAR_DIR", str),
    "PROCESSES_DIR": ("NETSIGN_PROCESSES_DIR", str),
    "UPLOAD_DIR": ("NETSIGN_UPLOAD_DIR", str),
    "UPLOAD_MAX_BYTES": ("NETSIGN_UPLOAD_MAX_BYTES", int),
    "ESIGN_CALLBACK_SECRET": ("ESIGN_CALLBACK_SECRET", str),
    "PUBLIC_BASE_URL": ("PUBLIC_BASE_URL", str),
    "WORKER_INTERVAL_SECONDS": ("NETSIGN_WORKER_INTERVAL", float),
    "DEMO_DATA": ("NETSIGN_DEMO_DATA", lambda v: v == "1"),
    "PROPERTY_REGISTRY": ("NETSIGN_PROPERTY_REGISTRY", str),
    "IDENTITY_PLATFORM": ("NETSIGN_IDENTITY_PLATFORM", str),
    "ESIGN_SERVICE": ("NETSIGN_ESIGN_SERVICE", str),
}


def load(config_object: type, overrides: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> dict:
    """Defaults of ``config_object``, then the environment, then ``overrides`` (a test's, a command's)."""
    environ = os.environ if environ is None else environ
    config = {k: getattr(config_object, k) for k in dir(config_object) if k.isupper()}
    for key, (variable, kind) in ENVIRONMENT.items():
        if environ.get(variable):
            config[key] = kind(environ[variable])
    config.update(overrides)
    var = Path(config.setdefault("VAR_DIR", str(ROOT / "var")))
    config.setdefault("PROCESSES_DIR", str(ROOT / "processes"))
    config.setdefault("UPLOAD_DIR", str(var / "uploads"))
    config.setdefault("PENDING_DEPLOY_DIR", str(var / "pending-deploys"))
    config.setdefault("TRANSLATIONS_DIR", str(var / "translations"))
    config.setdefault("BPMNLINT", str(ROOT / "node_modules" / ".bin" / "bpmnlint"))
    if "SQLALCHEMY_DATABASE_URI" not in config:
        config["SQLALCHEMY_DATABASE_URI"] = database_url(environ.get("DATABASE_URL"), var)
    if "SECRET_KEY" not in config:
        config["SECRET_KEY"] = environ.get("SECRET_KEY") or _kept_secret_key(var)
    return config


def database_url(url: str | None, var: Path) -> str:
    if not url:
        var.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{var / 'netsign.db'}"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _kept_secret_key(var: Path) -> str:
    """One generated once and kept in the var folder, so sessions survive restarts."""
    path = var / "secret_key"
    try:
        if not path.exists():
            var.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip()
    except OSError:
        return secrets.token_hex(32)
