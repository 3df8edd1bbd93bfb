"""`onetime serve` refuses to start with one clear line, never a traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def serve(tmp_path: Path, **env_overrides: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONETIME_")}
    env.update({"ONETIME_DATA_DIR": str(tmp_path / "data"), **env_overrides})
    return subprocess.run(
        [sys.executable, "-m", "onetime", "serve", "--port", "1"],
        env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip


def assert_one_line(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for text in expected:
        assert text in lines[0]


def test_a_store_that_cannot_be_opened_names_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    url = f"sqlite:///{blocker}/onetime.sqlite3"
    result = serve(tmp_path, ONETIME_STORE_URL=url, ONETIME_SECRET="s" * 40)
    assert_one_line(result, str(blocker), "cannot open the SQLite store")


def test_production_without_a_server_secret_refuses_to_start(tmp_path: Path) -> None:
    result = serve(tmp_path, ONETIME_ENV="production")
    assert_one_line(result, "ONETIME_SECRET is not set")
    assert not (tmp_path / "data" / "server-secret").exists()


def test_an_unknown_store_scheme_is_named(tmp_path: Path) -> None:
    result = serve(tmp_path, ONETIME_STORE_URL="mongodb://x", ONETIME_SECRET="s" * 40)
    assert_one_line(result, "mongodb")


def test_a_misspelt_sqlite_option_is_named(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/onetime.sqlite3?cache_mb=64"
    result = serve(tmp_path, ONETIME_STORE_URL=url, ONETIME_SECRET="s" * 40)
    assert_one_line(result, "unknown sqlite URL option 'cache_mb'", "cache_mib")
    assert result.returncode == 2


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_port_out_of_range_is_refused_without_a_traceback(tmp_path: Path, workers: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONETIME_")}
    env.update(ONETIME_DATA_DIR=str(tmp_path / "data"), ONETIME_SECRET="s" * 40)
    result = subprocess.run(
        [sys.executable, "-m", "onetime", "serve", "--port", "99999", "--workers", workers],
        env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "--port" in result.stderr
    assert "65535" in result.stderr


def test_a_setting_of_the_wrong_type_names_the_variable(tmp_path: Path) -> None:
    result = serve(tmp_path, ONETIME_TTL_MIN="soon")
    assert_one_line(result, "ONETIME_TTL_MIN")


@pytest.mark.parametrize("level", ["trace", "notset", "5"])
def test_a_log_level_that_would_log_client_addresses_is_refused(tmp_path: Path, level: str) -> None:
    # uvicorn logs "<address>:<port> - HTTP connection made" at its TRACE level and below.
    result = serve(tmp_path, ONETIME_LOG_LEVEL=level, ONETIME_SECRET="s" * 40)
    assert_one_line(result, "ONETIME_LOG_LEVEL")


def test_log_levels_are_read_in_any_case() -> None:
    from onetime.settings import load_settings

    assert load_settings(log_level=" DEBUG ").log_level == "debug"


def test_development_creates_a_server_secret_once(tmp_path: Path) -> None:
    from onetime.settings import load_settings, server_secret

    settings = load_settings(data_dir=tmp_path / "dev")
    first = server_secret(settings)
    assert server_secret(settings) == first
    secret_file = tmp_path / "dev" / "server-secret"
    assert secret_file.stat().st_mode & 0o077 == 0


def test_a_default_plan_that_does_not_exist_is_named(tmp_path: Path) -> None:
    result = serve(tmp_path, ONETIME_DEFAULT_PLAN="gold", ONETIME_SECRET="s" * 40)
    assert_one_line(result, "ONETIME_DEFAULT_PLAN", "'gold'")


def test_plans_from_json_and_a_broken_plan_is_named(tmp_path: Path) -> None:
    from onetime.settings import load_settings

    settings = load_settings(plans={"team": {"ttl_max": 3600, "email_recipients": True}})
    team = settings.plan_table().get("team")
    assert (team.ttl_max, team.email_recipients, team.custom_domains) == (3600, True, False)
    result = serve(tmp_path, ONETIME_PLANS='{"team": {"ttl_max": "soon"}}', ONETIME_SECRET="s" * 40)
    assert_one_line(result, "ONETIME_PLANS")
