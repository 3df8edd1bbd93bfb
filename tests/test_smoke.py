"""The fixtures themselves work: an in-process app and a real server both answer."""

import httpx
import pytest

from tests.conftest import InProcess, LiveServer


async def test_in_process_app_answers_status(env: InProcess) -> None:
    response = await env.client.get("/api/v2/status")
    assert response.status_code == 200
    assert response.json()["status"] == "nominal"


@pytest.mark.slow
def test_live_server_answers_health(live_server: LiveServer) -> None:
    response = httpx.get(f"{live_server.url}/health")
    assert response.json() == {"status": "ok", "store": "ok"}
