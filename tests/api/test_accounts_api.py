"""The API with accounts: HTTP Basic, owned receipts, the recent list, plans, recipients by email.

Accounts are made with the shortcut in tests/accounts.py (the AccountService the pages use); the
rest is what an integration does over HTTP. Mail goes to a real SMTP server on loopback.
"""

from __future__ import annotations

import asyncio
import base64
from email.header import decode_header, make_header
from email.message import Message
from typing import Any

import httpx
import pytest

from tests.accounts import TestAccount, account_service, make_account
from tests.api.flows import (
    V1,
    V2,
    AppFactory,
    assert_v1_error,
    assert_v2_error,
    v1_share,
    v2_conceal,
)
from tests.conftest import InProcess, free_port
from tests.smtp import SmtpServer, links_in, text_of

DAY = 24 * 3600
STATUS = {"status": "nominal", "locale": "en"}
ALICE = "alice@example.com"
BOB = "bob@example.org"
FRIEND = "friend@example.net"


def basic(user: str, token: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()}


def as_(account: TestAccount, by: str = "email") -> dict[str, str]:
    """Basic credentials of an account, by its email or by its id."""
    user = account.email if by == "email" else account.account.id
    return basic(user, account.token)


async def conceal_as(
    client: httpx.AsyncClient, headers: dict[str, str], text: str = "s3cr3t", **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        f"{V2}/secret/conceal", json={"secret": {"secret": text, **fields}}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def recent_v2(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get(f"{V2}/receipt/recent", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def recent_v1(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get(f"{V1}/receipt/recent", headers=headers)
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


def mail_to(smtp: SmtpServer, address: str) -> list[Message]:
    return [
        message
        for envelope, message in zip(smtp.inbox.envelopes, smtp.inbox.messages(), strict=True)
        if address in envelope.rcpt_tos
    ]


def subject(message: Message) -> str:
    return str(make_header(decode_header(message["Subject"])))


# -- who is calling ------------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["email", "id"])
async def test_basic_auth_by_email_or_id_makes_receipts_the_account_owns(
    env: InProcess, by: str
) -> None:
    alice = await make_account(env.app, ALICE)
    headers = as_(alice, by)

    check = await env.client.get(f"{V1}/authcheck", headers=headers)
    assert (check.status_code, check.json()) == (200, STATUS)
    version = await env.client.get(f"{V2}/version", headers=headers)
    assert version.status_code == 200
    assert version.json()["success"] is True

    v2 = (await conceal_as(env.client, headers))["record"]
    assert v2["receipt"]["owner_id"] == alice.account.id
    assert v2["metadata"]["owner_id"] == alice.account.id

    v1 = await env.client.post(f"{V1}/share", data={"secret": "legacy"}, headers=headers)
    assert v1.status_code == 200
    assert v1.json()["custid"] == ALICE
    assert "delivery_problem" not in v1.json()


async def test_custid_is_the_email_only_for_the_owner(env: InProcess) -> None:
    alice = await make_account(env.app, ALICE)
    bob = await make_account(env.app, BOB)
    receipt = await env.client.post(f"{V1}/share", data={"secret": "x"}, headers=as_(alice))
    rkey = receipt.json()["metadata_key"]

    async def custid(headers: dict[str, str]) -> str:
        response = await env.client.get(f"{V1}/receipt/{rkey}", headers=headers)
        assert response.status_code == 200
        value: str = response.json()["custid"]
        return value

    assert await custid(as_(alice)) == ALICE
    # Others with the receipt link see the owner's id (as v2's owner_id), never the address.
    assert await custid({}) == alice.account.id
    assert await custid(as_(bob)) == alice.account.id
    assert (await v1_share(env.client))["custid"] == "anon"
    anonymous = (await v2_conceal(env.client))["record"]["receipt"]
    assert anonymous["owner_id"] is None


async def test_a_wrong_token_is_401_on_v1_and_v2(env: InProcess) -> None:
    alice = await make_account(env.app, ALICE)
    wrong = basic(ALICE, alice.token[:-1] + ("A" if alice.token[-1] != "A" else "B"))

    v1 = await env.client.post(f"{V1}/share", data={"secret": "x"}, headers=wrong)
    assert_v1_error(v1, intended=401)
    assert v1.headers["www-authenticate"].lower().startswith("basic")
    assert_v1_error(await env.client.get(f"{V1}/authcheck", headers=wrong), intended=401)

    v2 = await env.client.post(
        f"{V2}/secret/conceal", json={"secret": {"secret": "x"}}, headers=wrong
    )
    assert_v2_error(v2, 401, "unauthorized")
    assert_v2_error(
        await env.client.get(f"{V2}/receipt/recent", headers=wrong), 401, "unauthorized"
    )
    # The refused creations made nothing.
    assert (await recent_v2(env.client, as_(alice)))["count"] == 0


async def test_an_unknown_user_gets_the_same_401_as_a_wrong_token(env: InProcess) -> None:
    alice = await make_account(env.app, ALICE)
    answers = []
    for headers in (
        basic(ALICE, "not-the-token"),
        basic("nobody@example.com", alice.token),
        basic("0123456789abcdef0123", alice.token),  # an id that does not exist
    ):
        v2 = await env.client.get(f"{V2}/receipt/recent", headers=headers)
        assert_v2_error(v2, 401, "unauthorized")
        v1 = await env.client.get(f"{V1}/receipt/recent", headers=headers)
        assert_v1_error(v1, intended=401)
        answers.append((v2.json(), v1.json()))
    assert answers[0] == answers[1] == answers[2]


@pytest.mark.parametrize(
    "authorization",
    ["Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(), "Bearer abc", "Basic"],
)
async def test_a_malformed_header_is_401_never_anonymous(
    env: InProcess, authorization: str
) -> None:
    headers = {"Authorization": authorization}
    v2 = await env.client.post(
        f"{V2}/secret/conceal", json={"secret": {"secret": "x"}}, headers=headers
    )
    assert_v2_error(v2, 401, "unauthorized")
    v1 = await env.client.post(f"{V1}/share", data={"secret": "x"}, headers=headers)
    assert_v1_error(v1, intended=401)


async def test_a_suspended_account_is_403_with_a_code(env: InProcess) -> None:
    alice = await make_account(env.app, ALICE)
    await account_service(env.app).set_suspended(alice.account, True)

    v2 = await env.client.post(
        f"{V2}/secret/conceal", json={"secret": {"secret": "x"}}, headers=as_(alice)
    )
    assert assert_v2_error(v2, 403, "forbidden")["code"] == "account_suspended"
    recent = await env.client.get(f"{V2}/receipt/recent", headers=as_(alice))
    assert assert_v2_error(recent, 403, "forbidden")["code"] == "account_suspended"
    assert_v1_error(await env.client.get(f"{V1}/authcheck", headers=as_(alice)), intended=403)


async def test_accounts_work_when_anonymous_use_is_off(app_factory: AppFactory) -> None:
    async with app_factory(allow_anonymous=False) as env:
        alice = await make_account(env.app, ALICE)
        record = (await conceal_as(env.client, as_(alice)))["record"]
        assert record["receipt"]["owner_id"] == alice.account.id
        # Account-only routes still ask for credentials with a 401, not the 403 of anonymous use.
        assert_v2_error(await env.client.get(f"{V2}/receipt/recent"), 401, "unauthorized")


# -- plans ---------------------------------------------------------------------------------------


async def test_an_account_plan_sets_the_longest_ttl(env: InProcess) -> None:
    free = await make_account(env.app, ALICE)
    paid = await make_account(env.app, BOB, plan="paid")
    asked = 60 * DAY

    anonymous = (await v2_conceal(env.client, ttl=asked))["record"]["receipt"]
    assert anonymous["lifespan"] == 7 * DAY
    by_free = (await conceal_as(env.client, as_(free), ttl=asked))["record"]["receipt"]
    assert by_free["lifespan"] == 14 * DAY
    by_paid = (await conceal_as(env.client, as_(paid), ttl=asked))["record"]["receipt"]
    assert by_paid["lifespan"] == 30 * DAY

    legacy = await env.client.post(
        f"{V1}/share", data={"secret": "x", "ttl": str(asked)}, headers=as_(paid)
    )
    assert legacy.json()["ttl"] == 30 * DAY
    assert (await v1_share(env.client, ttl=str(asked)))["ttl"] == 7 * DAY


# -- the recent list -----------------------------------------------------------------------------


async def test_recent_lists_the_accounts_receipts_newest_first(env: InProcess) -> None:
    alice = await make_account(env.app, ALICE)
    bob = await make_account(env.app, BOB)
    first = (await conceal_as(env.client, as_(alice), "one"))["record"]["receipt"]["key"]
    env.clock.advance(10)
    await conceal_as(env.client, as_(bob), "bob's")
    await v2_conceal(env.client, "anonymous")
    env.clock.advance(10)
    second = await env.client.post(f"{V1}/share", data={"secret": "two"}, headers=as_(alice))
    second_key = second.json()["metadata_key"]

    listed = await recent_v2(env.client, as_(alice))
    assert listed["success"] is True
    assert [r["key"] for r in listed["records"]] == [second_key, first]
    assert listed["count"] == 2
    assert {r["owner_id"] for r in listed["records"]} == {alice.account.id}
    details = listed["details"]
    assert details["locked"] == 0
    assert details["now"] == env.clock.now()
    assert details["since"] == env.clock.now() - 30 * DAY

    legacy = await recent_v1(env.client, as_(alice, "id"))
    assert [r["metadata_key"] for r in legacy] == [second_key, first]
    for receipt in legacy:
        assert "secret_key" not in receipt
        assert "secret_identifier" not in receipt
        assert receipt["custid"] == ALICE
        assert receipt["state"] == "new"

    for prefix in ("private", "metadata"):
        alias = await env.client.get(f"{V1}/{prefix}/recent", headers=as_(alice))
        assert alias.json() == legacy
    alias = await env.client.get(f"{V2}/private/recent", headers=as_(alice))
    assert alias.json() == listed

    bobs = await recent_v2(env.client, as_(bob))
    assert bobs["count"] == 1
    assert bobs["records"][0]["key"] not in (first, second_key)


async def test_recent_needs_credentials(env: InProcess) -> None:
    assert_v2_error(await env.client.get(f"{V2}/receipt/recent"), 401, "unauthorized")
    assert_v2_error(await env.client.get(f"{V2}/private/recent"), 401, "unauthorized")
    assert_v1_error(await env.client.get(f"{V1}/receipt/recent"), intended=401)


async def test_recent_shows_reveals_and_burns_made_from_its_keys(env: InProcess) -> None:
    alice = await make_account(env.app, ALICE)
    to_read = (await conceal_as(env.client, as_(alice), "read me"))["record"]["secret"]["key"]
    env.clock.advance(1)
    await conceal_as(env.client, as_(alice), "burn me")

    revealed = await env.client.post(f"{V2}/secret/{to_read}/reveal", json={"continue": True})
    assert revealed.json()["record"]["secret_value"] == "read me"
    newest = (await recent_v1(env.client, as_(alice)))[0]
    burned = await env.client.post(
        f"{V1}/receipt/{newest['metadata_key']}/burn", headers=as_(alice)
    )
    assert burned.status_code == 200
    assert burned.json()["state"]["state"] == "burned"

    states = [r["state"] for r in (await recent_v2(env.client, as_(alice)))["records"]]
    assert states == ["burned", "revealed"]
    records = (await recent_v2(env.client, as_(alice)))["records"]
    assert records[0]["is_burned"]
    assert records[1]["is_revealed"]
    assert [r["state"] for r in await recent_v1(env.client, as_(alice))] == ["burned", "received"]


async def test_recent_keeps_thirty_days(env: InProcess) -> None:
    alice = await make_account(env.app, BOB, plan="paid")
    old = (await conceal_as(env.client, as_(alice), ttl=30 * DAY))["record"]["receipt"]["key"]
    env.clock.advance(29 * DAY)
    assert [r["key"] for r in (await recent_v2(env.client, as_(alice)))["records"]] == [old]
    env.clock.advance(2 * DAY)
    assert (await recent_v2(env.client, as_(alice)))["records"] == []


# -- the memo -------------------------------------------------------------------------------------


async def test_only_the_owner_sets_the_memo(env: InProcess) -> None:
    alice = await make_account(env.app, ALICE)
    bob = await make_account(env.app, BOB)
    rkey = (await conceal_as(env.client, as_(alice)))["record"]["receipt"]["key"]

    mine = await env.client.patch(
        f"{V2}/receipt/{rkey}", json={"memo": "for the new hire"}, headers=as_(alice)
    )
    assert mine.status_code == 200, mine.text
    assert mine.json()["record"]["memo"] == "for the new hire"

    for headers in (as_(bob), {}):
        other = await env.client.patch(f"{V2}/receipt/{rkey}", json={"memo": "x"}, headers=headers)
        assert assert_v2_error(other, 403, "forbidden")["code"] == "not_owner"
    listed = (await recent_v2(env.client, as_(alice)))["records"]
    assert listed[0]["memo"] == "for the new hire"


# -- recipients by email -------------------------------------------------------------------------


async def test_an_account_emails_the_share_link_to_a_recipient(
    app_factory: AppFactory, smtp: SmtpServer
) -> None:
    async with app_factory(smtp_url=f"smtp://127.0.0.1:{smtp.port}") as env:
        alice = await make_account(env.app, ALICE)
        answer = await conceal_as(env.client, as_(alice), "the wifi password", recipient=FRIEND)
        skey = answer["record"]["secret"]["key"]
        rkey = answer["record"]["receipt"]["key"]
        assert answer["details"]["delivery"] == {"sent": True}
        assert answer["details"]["recipient"] == answer["record"]["receipt"]["recipients"]
        assert FRIEND not in str(answer)  # only the masked address is kept and shown

        (message,) = mail_to(smtp, FRIEND)
        text = text_of(message)
        assert f"/secret/{skey}" in text
        assert rkey not in text
        assert "/receipt/" not in text
        (link,) = [link for link in links_in(message) if "/secret/" in link]
        assert link == f"http://testserver/secret/{skey}"

        opened = await env.client.post(
            f"{V2}/secret/{link.rsplit('/', 1)[1]}/reveal", json={"continue": True}
        )
        assert opened.json()["record"]["secret_value"] == "the wifi password"


async def test_v1_share_with_a_recipient_sends_the_link(
    app_factory: AppFactory, smtp: SmtpServer
) -> None:
    async with app_factory(smtp_url=f"smtp://127.0.0.1:{smtp.port}") as env:
        alice = await make_account(env.app, ALICE)
        response = await env.client.post(
            f"{V1}/share", data={"secret": "x", "recipient": FRIEND}, headers=as_(alice)
        )
        assert response.status_code == 200
        receipt = response.json()
        assert "delivery_problem" not in receipt
        assert receipt["recipient"] == ["fr***@e***.net"]
        (message,) = mail_to(smtp, FRIEND)
        assert f"/secret/{receipt['secret_key']}" in text_of(message)


async def test_a_refused_recipient_is_described_and_the_secret_is_still_made(
    app_factory: AppFactory, smtp: SmtpServer
) -> None:
    smtp.inbox.refuse.add(FRIEND)
    async with app_factory(smtp_url=f"smtp://127.0.0.1:{smtp.port}") as env:
        alice = await make_account(env.app, ALICE)
        answer = await conceal_as(env.client, as_(alice), "still here", recipient=FRIEND)
        delivery = answer["details"]["delivery"]
        assert delivery["sent"] is False
        assert isinstance(delivery["problem"], str)
        assert delivery["problem"]
        assert FRIEND not in delivery["problem"]  # masked, like the stored address
        assert mail_to(smtp, FRIEND) == []

        skey = answer["record"]["secret"]["key"]
        opened = await env.client.post(f"{V2}/secret/{skey}/reveal", json={"continue": True})
        assert opened.json()["record"]["secret_value"] == "still here"

        legacy = await env.client.post(
            f"{V1}/share", data={"secret": "legacy", "recipient": FRIEND}, headers=as_(alice)
        )
        assert legacy.status_code == 200
        assert legacy.json()["delivery_problem"]
        assert (await env.client.post(f"{V1}/secret/{legacy.json()['secret_key']}")).json()[
            "value"
        ] == "legacy"


async def test_an_unreachable_mail_server_is_described_and_the_secret_is_still_made(
    app_factory: AppFactory,
) -> None:
    async with app_factory(smtp_url=f"smtp://127.0.0.1:{free_port()}", mail_timeout=5) as env:
        alice = await make_account(env.app, ALICE)
        answer = await conceal_as(env.client, as_(alice), "still here", recipient=FRIEND)
        assert answer["details"]["delivery"]["sent"] is False
        assert answer["details"]["delivery"]["problem"]
        skey = answer["record"]["secret"]["key"]
        opened = await env.client.post(f"{V2}/secret/{skey}/reveal", json={"continue": True})
        assert opened.json()["record"]["secret_value"] == "still here"


async def test_generate_reports_a_failed_delivery_too(
    app_factory: AppFactory, smtp: SmtpServer
) -> None:
    smtp.inbox.refuse.add(FRIEND)
    async with app_factory(smtp_url=f"smtp://127.0.0.1:{smtp.port}") as env:
        alice = await make_account(env.app, ALICE)
        response = await env.client.post(
            f"{V2}/secret/generate", json={"secret": {"recipient": FRIEND}}, headers=as_(alice)
        )
        assert response.status_code == 200
        assert response.json()["details"]["delivery"]["sent"] is False


async def test_anonymous_callers_cannot_send_by_email(
    app_factory: AppFactory, smtp: SmtpServer
) -> None:
    async with app_factory(smtp_url=f"smtp://127.0.0.1:{smtp.port}") as env:
        v2 = await env.client.post(
            f"{V2}/secret/conceal", json={"secret": {"secret": "x", "recipient": FRIEND}}
        )
        assert assert_v2_error(v2, 403, "forbidden")["code"] == "recipient_needs_account"
        guest = await env.client.post(
            f"{V2}/guest/secret/conceal", json={"secret": {"secret": "x", "recipient": FRIEND}}
        )
        assert assert_v2_error(guest, 403, "forbidden")["code"] == "recipient_needs_account"
        v1 = await env.client.post(f"{V1}/share", data={"secret": "x", "recipient": FRIEND})
        assert_v1_error(v1, intended=403)
        assert smtp.inbox.envelopes == []


async def test_a_plan_without_email_recipients_refuses_and_makes_nothing(
    app_factory: AppFactory, smtp: SmtpServer
) -> None:
    async with app_factory(
        smtp_url=f"smtp://127.0.0.1:{smtp.port}",
        plans={"free": {"ttl_max": 14 * DAY, "email_recipients": False}},
    ) as env:
        alice = await make_account(env.app, ALICE)
        response = await env.client.post(
            f"{V2}/secret/conceal",
            json={"secret": {"secret": "x", "recipient": FRIEND}},
            headers=as_(alice),
        )
        assert assert_v2_error(response, 403, "forbidden")["code"] == "recipient_not_in_plan"
        legacy = await env.client.post(
            f"{V1}/share", data={"secret": "x", "recipient": FRIEND}, headers=as_(alice)
        )
        assert_v1_error(legacy, intended=403)
        assert (await recent_v2(env.client, as_(alice)))["count"] == 0
        assert mail_to(smtp, FRIEND) == []


# -- "your secret was read" ----------------------------------------------------------------------


async def test_only_secrets_with_an_owner_start_a_read_notice(env: InProcess) -> None:
    """An anonymous secret has nobody to tell: its reveal does not look for one."""
    service = env.app.state.context.service
    started: list[bytes] = []
    service.on_revealed = lambda rid, read_at: started.append(rid)
    alice = await make_account(env.app, ALICE)
    anonymous = (await conceal_as(env.client, {}))["record"]["secret"]["key"]
    owned = (await conceal_as(env.client, as_(alice)))["record"]
    for key in (anonymous, owned["secret"]["key"]):
        revealed = await env.client.post(f"{V2}/secret/{key}/reveal", json={"continue": True})
        assert revealed.status_code == 200
    assert len(started) == 1  # the owned one


async def test_the_owner_who_asked_is_told_when_the_secret_is_read(
    app_factory: AppFactory, smtp: SmtpServer
) -> None:
    async with app_factory(smtp_url=f"smtp://127.0.0.1:{smtp.port}") as env:
        alice = await make_account(env.app, ALICE)
        accounts = account_service(env.app)
        await accounts.set_preferences(alice.account, None, notify_on_read=True)
        bob = await make_account(env.app, BOB)  # did not ask
        mine = (await conceal_as(env.client, as_(alice)))["record"]["secret"]["key"]
        bobs = (await conceal_as(env.client, as_(bob)))["record"]["secret"]["key"]
        before = len(mail_to(smtp, ALICE))

        for key in (mine, bobs):
            revealed = await env.client.post(f"{V2}/secret/{key}/reveal", json={"continue": True})
            assert revealed.status_code == 200

        for _ in range(100):  # sent in the background, after the reveal answered
            if len(mail_to(smtp, ALICE)) > before:
                break
            await asyncio.sleep(0.05)
        told = mail_to(smtp, ALICE)[before:]
        assert len(told) == 1
        assert subject(told[0]) == "Your secret was read"
        assert mine not in text_of(told[0])
        await asyncio.sleep(0.2)
        assert "Your secret was read" not in [subject(m) for m in mail_to(smtp, BOB)]


# -- documentation --------------------------------------------------------------------------------


async def test_openapi_documents_basic_auth(env: InProcess) -> None:
    spec = (await env.client.get("/api/openapi.json")).json()
    assert spec["components"]["securitySchemes"]["basic"]["scheme"] == "basic"
    paths = spec["paths"]
    assert paths["/api/v2/receipt/recent"]["get"]["security"] == [{"basic": []}]
    assert paths["/api/v1/receipt/recent"]["get"]["security"] == [{"basic": []}]
    # Basic or nothing where anonymous use is allowed; guest routes take no credentials.
    assert paths["/api/v2/secret/conceal"]["post"]["security"] == [{"basic": []}, {}]
    assert paths["/api/v1/share"]["post"]["security"] == [{"basic": []}, {}]
    assert "security" not in paths["/api/v2/guest/secret/conceal"]["post"]
    assert "delivery" in paths["/api/v2/secret/conceal"]["post"]["description"]
