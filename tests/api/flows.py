"""Small request flows and assertions shared by the API tests.

They speak only HTTP (and, for the orphaned-receipt case, SQL on the real store file), so the
tests read as what an integration does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, closing
from typing import Any

import httpx

from tests.conftest import InProcess

V1 = "/api/v1"
V2 = "/api/v2"
ONE_HOUR = 3600
SEVEN_DAYS = 7 * 24 * 3600
# `app_factory(**settings)` from tests/conftest.py: an async context manager of InProcess.
AppFactory = Callable[..., Any]


async def v1_share(
    client: httpx.AsyncClient, text: str = "s3cr3t", **fields: Any
) -> dict[str, Any]:
    """Share through v1 with a form body; return the receipt hash."""
    response = await client.post(f"{V1}/share", data={"secret": text, **fields})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def v2_conceal(
    client: httpx.AsyncClient, text: str = "s3cr3t", prefix: str = V2, **fields: Any
) -> dict[str, Any]:
    """Conceal through v2; return the whole answer."""
    response = await client.post(
        f"{prefix}/secret/conceal", json={"secret": {"secret": text, **fields}}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def v2_keys(
    client: httpx.AsyncClient, text: str = "s3cr3t", **fields: Any
) -> tuple[str, str]:
    """Conceal through v2; return (secret key, receipt key)."""
    record = (await v2_conceal(client, text, **fields))["record"]
    return record["secret"]["identifier"], record["receipt"]["identifier"]


async def v2_receipt(client: httpx.AsyncClient, receipt_key: str) -> dict[str, Any]:
    response = await client.get(f"{V2}/receipt/{receipt_key}")
    assert response.status_code == 200, response.text
    record: dict[str, Any] = response.json()["record"]
    return record


async def v1_receipt(client: httpx.AsyncClient, receipt_key: str) -> dict[str, Any]:
    response = await client.get(f"{V1}/receipt/{receipt_key}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_v1_error(response: httpx.Response, intended: int) -> dict[str, Any]:
    """v1's legacy error: HTTP 404, a `message`, and the real status in a header."""
    assert response.status_code == 404, response.text
    assert response.headers["x-ots-intended-status"] == str(intended)
    body: dict[str, Any] = response.json()
    assert isinstance(body["message"], str)
    assert body["message"]
    return body


def assert_v1_unknown_secret(response: httpx.Response, key: str) -> None:
    """The answer OTS gives for an unknown secret or a wrong passphrase."""
    assert response.status_code == 404, response.text
    assert response.json() == {"message": "Unknown secret", "secret_key": key}
    assert "x-ots-intended-status" in response.headers


def assert_v2_error(
    response: httpx.Response, status: int, error_type: str, field: str | None = None
) -> dict[str, Any]:
    """v2's error: the real status and {"error", "error_type"} (+ field, code, retry_after)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["error_type"] == error_type
    assert isinstance(body["error"], str)
    assert body["error"]
    assert set(body) <= {"error", "error_type", "field", "code", "retry_after"}
    if field is not None:
        assert body["field"] == field
    return body


@asynccontextmanager
async def client_from(env: InProcess, host: str) -> AsyncIterator[httpx.AsyncClient]:
    """Another client of the same running app, calling from another address."""
    transport = httpx.ASGITransport(app=env.app, client=(host, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def delete_all_secret_rows(env: InProcess) -> int:
    """Remove secret rows behind the service's back, as a lost write or a bad restore would."""
    path = env.settings.data_dir / "onetime.sqlite3"
    with closing(sqlite3.connect(path)) as db, db:
        return db.execute("DELETE FROM secrets").rowcount
