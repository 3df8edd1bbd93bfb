"""Every v1 and v2 endpoint and alias answers as the contract says, from a real server process."""

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import LiveServer, start_server, stop_server

pytestmark = pytest.mark.slow
V1_RECEIPT_PREFIXES = ("receipt", "private", "metadata")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("endpoints")
    running = start_server(root / "data", root / "server.log")
    yield running
    stop_server(running)


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def v1_share(http: httpx.Client, path: str = "/api/v1/share") -> dict[str, str]:
    answer = http.post(path, data={"secret": "live secret", "ttl": "600"})
    assert answer.status_code == 200, answer.text
    body: dict[str, str] = answer.json()
    return body


def v2_conceal(http: httpx.Client, prefix: str = "/api/v2") -> tuple[str, str]:
    answer = http.post(
        f"{prefix}/secret/conceal", json={"secret": {"secret": "live v2", "ttl": 600}}
    )
    assert answer.status_code == 200, answer.text
    record = answer.json()["record"]
    return record["secret"]["key"], record["receipt"]["key"]


def test_v1_status_and_authcheck(http: httpx.Client) -> None:
    assert http.get("/api/v1/status").json() == {"status": "nominal", "locale": "en"}
    refused = http.get("/api/v1/authcheck", auth=("someone@example.com", "wrong-token"))
    assert (refused.status_code, refused.headers["x-ots-intended-status"]) == (404, "401")


@pytest.mark.parametrize("path", ["/api/v1/share", "/api/v1/create"])
def test_v1_share_aliases_and_reveal(http: httpx.Client, path: str) -> None:
    created = v1_share(http, path)
    revealed = http.post(f"/api/v1/secret/{created['secret_key']}").json()
    assert revealed["value"] == "live secret"
    again = http.post(f"/api/v1/secret/{created['secret_key']}")
    assert again.json() == {"message": "Unknown secret", "secret_key": created["secret_key"]}


def test_v1_generate(http: httpx.Client) -> None:
    created = http.post("/api/v1/generate", data={"length": "20"}).json()
    assert len(created["value"]) == 20
    assert http.post(f"/api/v1/secret/{created['secret_key']}").json()["value"] == created["value"]


@pytest.mark.parametrize("prefix", V1_RECEIPT_PREFIXES)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_v1_receipt_aliases(http: httpx.Client, prefix: str, method: str) -> None:
    created = v1_share(http)
    receipt = http.request(method, f"/api/v1/{prefix}/{created['metadata_key']}").json()
    assert (receipt["state"], receipt["secret_key"]) == ("new", created["secret_key"])


@pytest.mark.parametrize("prefix", V1_RECEIPT_PREFIXES)
def test_v1_burn_and_recent_aliases(http: httpx.Client, prefix: str) -> None:
    created = v1_share(http)
    burned = http.post(f"/api/v1/{prefix}/{created['metadata_key']}/burn").json()
    assert burned["state"]["state"] == "burned"
    assert burned["secret_shortkey"] == created["secret_key"][:8]
    recent = http.get(f"/api/v1/{prefix}/recent")
    assert recent.headers["x-ots-intended-status"] == "401"


@pytest.mark.parametrize("prefix", ["/api/v2", "/api/v2/guest"])
def test_v2_secret_routes(http: httpx.Client, prefix: str) -> None:
    secret_key, receipt_key = v2_conceal(http, prefix)
    status = http.get(f"{prefix}/secret/{secret_key}/status").json()
    assert status["record"]["state"] == "new"
    assert status["details"]["current_expiration"] > 0
    many = http.post(f"{prefix}/secret/status", json={"identifiers": [secret_key, "nope"]}).json()
    assert [r["state"] for r in many["records"]] == ["new", "unknown"]
    preview = http.get(f"{prefix}/secret/{secret_key}").json()
    assert "secret_value" not in preview["record"]
    assert http.get(f"{prefix}/receipt/{receipt_key}").json()["record"]["state"] == "previewed"
    revealed = http.post(f"{prefix}/secret/{secret_key}/reveal", json={"continue": True}).json()
    assert revealed["record"]["secret_value"] == "live v2"
    assert http.get(f"{prefix}/private/{receipt_key}").json()["record"]["state"] == "revealed"
    assert http.get(f"{prefix}/secret/{secret_key}/status").json()["record"] == {"state": "unknown"}


@pytest.mark.parametrize("prefix", ["/api/v2", "/api/v2/guest"])
def test_v2_generate_and_burn(http: httpx.Client, prefix: str) -> None:
    answer = http.post(f"{prefix}/secret/generate", json={"secret": {"length": 16}}).json()
    secret, receipt = answer["record"]["secret"], answer["record"]["receipt"]
    assert len(secret["secret_value"]) == 16
    assert answer["details"]["kind"] == "generate"
    burned = http.post(f"{prefix}/private/{receipt['key']}/burn", json={"continue": True}).json()
    assert burned["record"]["state"] == "burned"
    assert http.get(f"{prefix}/secret/{secret['key']}?continue=true").status_code == 404


def test_v2_continue_query_reveals(http: httpx.Client) -> None:
    secret_key, _ = v2_conceal(http)
    answer = http.get(f"/api/v2/secret/{secret_key}", params={"continue": "true"}).json()
    assert answer["record"]["secret_value"] == "live v2"


def test_v2_memo_and_service_routes(http: httpx.Client) -> None:
    _, receipt_key = v2_conceal(http)
    patched = http.patch(f"/api/v2/receipt/{receipt_key}", json={"memo": "for the auditor"})
    assert patched.json()["record"]["memo"] == "for the auditor"
    assert http.get("/api/v2/status").json()["status"] == "nominal"
    assert http.get("/api/v2/supported-locales").json()["default_locale"] == "en"
    for path in ("/api/v2/version", "/api/v2/receipt/recent", "/api/v2/private/recent"):
        assert http.get(path).status_code == 401
    assert http.get("/api/docs").status_code == 200
    assert "/api/v2/secret/conceal" in http.get("/api/openapi.json").json()["paths"]
