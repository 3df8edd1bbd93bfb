"""After every flow, neither the store's raw bytes nor the logs hold anything secret."""

from pathlib import Path

import pytest

from tests.conftest import LiveServer
from tests.system.flows import run_all_flows

pytestmark = pytest.mark.slow


def _files_under(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]


def test_store_files_hold_no_content_keys_passphrases_or_addresses(live_server: LiveServer) -> None:
    traces = run_all_flows(live_server.url, "rest")
    counters = live_server.data_dir.parent / "counters"
    files = _files_under(live_server.data_dir, counters)
    names = {p.name for p in files}
    assert "onetime.sqlite3" in names
    assert "onetime.sqlite3-wal" in names
    needles = [n.encode() for n in traces.needles()] + [b"127.0.0.1"]
    for path in files:
        raw = path.read_bytes()
        found = [n.decode() for n in needles if n in raw or n.upper() in raw]
        assert found == [], f"{path.name} holds {found}"


def test_logs_hold_no_content_keys_passphrases_or_client_addresses(live_server: LiveServer) -> None:
    traces = run_all_flows(live_server.url, "logs")
    logs = live_server.logs()
    assert "POST /api/v2/secret/{key}/reveal 422" in logs  # the access log did record the flows
    for needle in traces.needles():
        assert needle not in logs
    # The only address in the logs is the one the server listens on, at start-up.
    address_lines = [line for line in logs.splitlines() if "127.0.0.1" in line]
    assert all("running on" in line or "serving on" in line for line in address_lines), (
        address_lines
    )
