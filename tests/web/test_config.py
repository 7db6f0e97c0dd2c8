"""Secrets and switches: no secret has a default in code; the embedded default generates its own once and
says so; production refuses to start without its secrets or with a sandbox nobody switched on."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from handlers import bootstrap as composition
from handlers.adapters.identity import SandboxIdentityPlatform
from web.config import Config, ConfigError, load

from .conftest import ready_app

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {"SECRET_KEY": "k" * 40, "ESIGN_CALLBACK_SECRET": "e" * 40}


def test_no_secret_is_written_in_the_code():
    sources = "".join(p.read_text() for p in (ROOT / "web").glob("*.py")) + \
        (ROOT / "handlers" / "bootstrap.py").read_text()
    assert "sandbox-esign-secret-change-me" not in sources
    assert not hasattr(Config, "SECRET_KEY") and not hasattr(Config, "ESIGN_CALLBACK_SECRET")


def test_embedded_default_generates_secrets_once_and_says_so(tmp_path, capsys):
    first = load(Config, {"VAR_DIR": str(tmp_path)}, environ={})
    said = capsys.readouterr().err
    assert "已生成本机密钥" in said and "secret_key" in said and "esign_callback_secret" in said
    again = load(Config, {"VAR_DIR": str(tmp_path)}, environ={})
    assert capsys.readouterr().err == ""
    for key in ("SECRET_KEY", "ESIGN_CALLBACK_SECRET"):
        assert len(first[key]) == 64 and first[key] == again[key]
        assert stat.S_IMODE((tmp_path / key.lower()).stat().st_mode) == 0o600
    assert first["SECRET_KEY"] != first["ESIGN_CALLBACK_SECRET"]
    assert other_installation(tmp_path)["SECRET_KEY"] != first["SECRET_KEY"]
    assert not first.get("SESSION_COOKIE_SECURE") and first["SANDBOX_IDENTITY"] and first["DEMO_DATA"]


def other_installation(tmp_path):
    return load(Config, {"VAR_DIR": str(tmp_path / "other")}, environ={})


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ESIGN_CALLBACK_SECRET"])
def test_production_refuses_to_start_without_each_secret(tmp_path, missing):
    environ = {"NETSIGN_ENV": "production", "NETSIGN_SANDBOXES": "all",
               **{k: v for k, v in SECRETS.items() if k != missing}}
    with pytest.raises(ConfigError, match=f"环境变量 {missing}"):
        load(Config, {"VAR_DIR": str(tmp_path)}, environ=environ)
    assert not (tmp_path / missing.lower()).exists()  # nothing generated behind the operator's back


def test_production_turns_the_sandboxes_off_unless_named(tmp_path):
    environ = {"NETSIGN_ENV": "production", **SECRETS}
    with pytest.raises(ConfigError, match="统一身份认证沙箱.*NETSIGN_SANDBOXES=identity"):
        load(Config, {"VAR_DIR": str(tmp_path)}, environ=environ)
    with pytest.raises(ConfigError, match="不动产登记沙箱"):
        load(Config, {"VAR_DIR": str(tmp_path)}, environ={**environ, "NETSIGN_SANDBOXES": "identity,esign"})
    with pytest.raises(ConfigError, match="「bank」不存在"):
        load(Config, {"VAR_DIR": str(tmp_path)}, environ={**environ, "NETSIGN_SANDBOXES": "bank"})
    config = load(Config, {"VAR_DIR": str(tmp_path)}, environ={**environ, "NETSIGN_SANDBOXES": "all"})
    assert config["SESSION_COOKIE_SECURE"] is True and config["DEMO_DATA"] is False
    assert config["SECRET_KEY"] == SECRETS["SECRET_KEY"]


def test_identity_sandbox_switched_off_has_no_pages(sa_engine, database_url, tmp_path, monkeypatch):
    # A real platform would be registered like this; the sandbox sign-in then does not exist.
    monkeypatch.setitem(composition.IDENTITY_PLATFORMS, "city", SandboxIdentityPlatform)
    app = ready_app(sa_engine, database_url, tmp_path, IDENTITY_PLATFORM="city", SANDBOXES="esign,property_registry,fund_supervision,sms")
    client = app.test_client()
    assert client.post("/login/yss", data={"unified_id": "yss-zhangwei"}).status_code == 404
    assert client.post("/login/yss-new", data={"name": "张伟", "id_number": "x"}).status_code == 404
    assert "粤省事登录" not in client.get("/login").data.decode()
    assert client.get("/").status_code == 302  # nobody became anybody


def test_esign_sandbox_switched_off_has_no_pages(sa_engine, database_url, tmp_path, monkeypatch):
    monkeypatch.setitem(composition.ESIGN_SERVICES, "city", composition.ESIGN_SERVICES["sandbox"])
    app = ready_app(sa_engine, database_url, tmp_path, ESIGN_SERVICE="city", SANDBOXES="identity,property_registry,fund_supervision,sms")
    assert app.test_client().get("/sandbox/esign/any-token").status_code == 404


def test_step_budget_is_passed_from_the_configuration(sa_engine, database_url, tmp_path):
    app = ready_app(sa_engine, database_url, tmp_path, STEP_SECONDS=7.5)
    assert app.extensions["netsign"].engine.steps.step_seconds == 7.5


def test_workflow_cache_bound_comes_from_the_environment(sa_engine, database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("NETSIGN_WORKFLOW_CACHE_MB", "16")
    app = ready_app(sa_engine, database_url, tmp_path)
    assert app.extensions["netsign"].engine.workflows.max_bytes == 16 * 1024 * 1024


def test_refusal_is_one_line_and_a_non_zero_exit(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "ESIGN_CALLBACK_SECRET")}
    env.update(NETSIGN_ENV="production", NETSIGN_VAR_DIR=str(tmp_path), NETSIGN_SANDBOXES="all")
    done = subprocess.run([sys.executable, "-m", "web.entry", "definitions"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
    assert "SECRET_KEY" in done.stderr
