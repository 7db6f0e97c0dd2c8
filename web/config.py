"""Configuration: defaults for the embedded SQLite demo, overridden by environment variables."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("NETSIGN_VAR_DIR", ROOT / "var"))


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        VAR.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{VAR / 'netsign.db'}"
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _secret_key() -> str:
    """SECRET_KEY, or one generated once and kept in the var folder so sessions survive restarts."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = VAR / "secret_key"
    try:
        if not path.exists():
            VAR.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip()
    except OSError:
        return secrets.token_hex(32)


class Config:
    SECRET_KEY = _secret_key()
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    PROCESSES_DIR = os.environ.get("NETSIGN_PROCESSES_DIR", str(ROOT / "processes"))
    UPLOAD_DIR = os.environ.get("NETSIGN_UPLOAD_DIR", str(VAR / "uploads"))
    UPLOAD_MAX_BYTES = int(os.environ.get("NETSIGN_UPLOAD_MAX_BYTES", 10 * 1024 * 1024))
    # Shared secret of the 粤信签 callback HMAC; the sandbox signs with it too.
    ESIGN_CALLBACK_SECRET = os.environ.get("ESIGN_CALLBACK_SECRET", "sandbox-esign-secret-change-me")
    # Absolute base URL that QR codes encode (the phone must reach it).
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    WORKER_INTERVAL_SECONDS = float(os.environ.get("NETSIGN_WORKER_INTERVAL", 5))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    BABEL_DEFAULT_LOCALE = "zh"
    DEMO_DATA = os.environ.get("NETSIGN_DEMO_DATA", "1") == "1"


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    WTF_CSRF_ENABLED = False
