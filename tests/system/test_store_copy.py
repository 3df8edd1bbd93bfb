"""`onetime store copy` moves a live deployment from SQLite to Redis; the old links keep working."""

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from onetime.cli.store_copy import copy_records
from onetime.core.records import ITEM_KINDS, ReceiptState, StoredItem
from onetime.store.redis import RedisStore
from onetime.store.sqlite import SqliteStore
from tests.conftest import TEST_SECRET, start_server, stop_server
from tests.services import delete_prefixed, require_redis, unique_prefix
from tests.store.test_contract import NOW, item, records

pytestmark = pytest.mark.slow


def test_copy_from_sqlite_to_redis_keeps_links_states_and_lifetimes(tmp_path: Path) -> None:
    redis_url, prefix = require_redis(), unique_prefix()
    target = f"{redis_url}?prefix={prefix}"
    laptop = start_server(tmp_path / "laptop", tmp_path / "laptop.log")
    try:
        with httpx.Client(base_url=laptop.url) as http:
            unread = http.post(
                "/api/v1/share", data={"secret": "moves house", "ttl": "3600"}
            ).json()
            read = http.post("/api/v1/share", data={"secret": "already read"}).json()
            http.post(f"/api/v1/secret/{read['secret_key']}")
            guarded_body = {"secret": {"secret": "guarded", "passphrase": "pass word"}}
            guarded = http.post("/api/v2/secret/conceal", json=guarded_body).json()["record"]
    finally:
        stop_server(laptop)

    source = f"sqlite:///{tmp_path / 'laptop' / 'onetime.sqlite3'}"
    result = subprocess.run(
        [sys.executable, "-m", "onetime", "store", "copy", "--from", source, "--to", target, "-q"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "copied 3 receipts, 2 unread secrets and 0 account items" in result.stdout

    grown = start_server(
        tmp_path / "grown", tmp_path / "grown.log", extra_env={"ONETIME_STORE_URL": target}
    )
    try:
        with httpx.Client(base_url=grown.url) as http:
            receipt = http.get(f"/api/v1/receipt/{unread['metadata_key']}").json()
            assert receipt["state"] == "new"
            assert 3500 < receipt["secret_ttl"] <= 3600
            assert http.get(f"/api/v1/receipt/{read['metadata_key']}").json()["state"] == "received"
            assert (
                http.post(f"/api/v1/secret/{unread['secret_key']}").json()["value"] == "moves house"
            )
            assert http.post(f"/api/v1/secret/{read['secret_key']}").status_code == 404
            reveal = http.post(
                f"/api/v2/secret/{guarded['secret']['key']}/reveal",
                json={"passphrase": "pass word"},
            )
            assert reveal.json()["record"]["secret_value"] == "guarded"
    finally:
        stop_server(grown)
        asyncio.run(delete_prefixed(redis_url, prefix))
    assert TEST_SECRET  # both servers ran with the same server secret, as a real move must


def test_copy_refuses_bad_urls_in_one_line(tmp_path: Path) -> None:
    for args, code in (
        (["--from", "sqlite:///a.db", "--to", "sqlite:///a.db"], 2),
        (["--from", "mongodb://x", "--to", "sqlite:///b.db"], 2),
        (["--from", f"sqlite:///{tmp_path}/a.db", "--to", "redis://127.0.0.1:1/0"], 1),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "onetime", "store", "copy", *args, "-q"],
            capture_output=True, text=True, timeout=60, cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == code, result.stderr
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


async def test_copying_again_never_brings_back_a_secret_read_on_the_target(tmp_path: Path) -> None:
    source = SqliteStore(tmp_path / "old.sqlite3")
    target = SqliteStore(tmp_path / "new.sqlite3")
    await source.open()
    await target.open()
    try:
        secret, receipt = records()
        await source.create(secret, receipt, NOW)
        first = await copy_records(source, target, NOW)
        assert (first.receipts, first.secrets) == (1, 1)

        # The recipient reads it on the new store, then the operator runs the copy again.
        assert await target.take_secret(secret.sid, NOW + 1) == secret  # marks it revealed
        again = await copy_records(source, target, NOW + 2)

        assert (again.receipts, again.secrets) == (0, 0)
        assert await target.get_secret(secret.sid, NOW + 2) is None
        copied = await target.get_receipt(receipt.rid, NOW + 2)
        assert copied is not None
        assert copied.state is ReceiptState.REVEALED
    finally:
        await source.close()
        await target.close()


async def test_copy_brings_every_live_item_of_every_kind(tmp_path: Path) -> None:
    redis_url, prefix = require_redis(), unique_prefix()
    source = SqliteStore(tmp_path / "old.sqlite3")
    target = RedisStore(f"{redis_url}?prefix={prefix}")
    await source.open()
    await target.open()
    try:
        live = [item(kind, "acct-1") for kind in ITEM_KINDS]
        live.append(item("session", "acct-2", expires_at=NOW + 600))
        expired = item("token", "acct-1", expires_at=NOW + 1)
        for each in (*live, expired):
            await source.put_item(each, NOW)
        secret, receipt = records()
        await source.create(secret, receipt, NOW)

        report = await copy_records(source, target, NOW + 1)

        assert (report.receipts, report.secrets, report.items) == (1, 1, len(live))
        for each in live:
            assert await target.get_item(each.kind, each.key, NOW + 1) == each
        assert await target.get_item(expired.kind, expired.key, NOW) is None
        assert await target.owned_items("acct-2", "session", NOW + 1) == [live[-1]]
        assert await target.delete_owned("acct-1", NOW + 1) == len(ITEM_KINDS)
    finally:
        await source.close()
        await target.close()
        await delete_prefixed(redis_url, prefix)


async def test_copying_items_again_keeps_what_the_target_changed(tmp_path: Path) -> None:
    source = SqliteStore(tmp_path / "old.sqlite3")
    target = SqliteStore(tmp_path / "new.sqlite3")
    await source.open()
    await target.open()
    try:
        account = StoredItem("account", b"acct-1", "acct-1", b"v1")
        await source.put_item(account, NOW)
        assert (await copy_records(source, target, NOW)).items == 1
        changed = StoredItem("account", b"acct-1", "acct-1", b"v2")  # e.g. a new password
        await target.put_item(changed, NOW + 1)
        assert (await copy_records(source, target, NOW + 2)).items == 0
        assert await target.get_item("account", b"acct-1", NOW + 2) == changed
    finally:
        await source.close()
        await target.close()
