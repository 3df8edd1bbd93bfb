"""/api/docs, and the basic accessibility every page keeps: labels, one heading, language, focus."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import InProcess
from tests.web.pagekit import Page, create, page, reveal

STYLESHEET = Path(__file__).parents[2] / "src" / "onetime" / "web" / "static" / "style.css"


async def test_api_docs_lists_v1_and_v2(env: InProcess) -> None:
    response = await env.client.get("/api/docs")
    assert response.status_code == 200
    docs = page(response)
    assert docs.find("a", href="/api/openapi.json")
    listed = {" ".join(e.text.split()) for e in docs.all("code")}
    for path in (
        "/api/v1/share",
        "/api/v1/generate",
        "/api/v1/secret/{key}",
        "/api/v1/receipt/{key}",
        "/api/v2/secret/conceal",
        "/api/v2/secret/{key}/reveal",
        "/api/v2/receipt/{key}",
        "/api/v2/receipt/{key}/burn",
        "/api/v2/status",
    ):
        assert path in listed, path
    assert not any(path.startswith(("/secret", "/receipt")) for path in listed), "pages are not API"
    assert not docs.foreign_scripts()


async def test_api_docs_match_the_openapi_document(env: InProcess) -> None:
    spec = (await env.client.get("/api/openapi.json")).json()
    docs = page(await env.client.get("/api/docs"))
    listed = {" ".join(e.text.split()) for e in docs.all("code")}
    for path in spec["paths"]:
        assert path in listed, path


def check_accessible(shown: Page, name: str) -> None:
    """Every control has a label; one h1; a language; a title; a main landmark."""
    assert shown.one("html").get("lang"), name
    assert len(shown.all("h1")) == 1, f"{name}: {len(shown.all('h1'))} h1 elements"
    assert shown.title, name
    assert shown.all("main"), name
    ids = [e.get("id") for e in shown.elements if e.get("id")]
    assert len(ids) == len(set(ids)), f"{name}: duplicate ids"
    for element in shown.elements:
        if element.tag not in ("input", "select", "textarea"):
            continue
        if element.get("type") in ("hidden", "submit", "button"):
            continue
        element_id = element.get("id")
        assert element_id, f"{name}: <{element.tag} name={element.get('name')}> has no id"
        label = shown.find("label", **{"for": element_id})
        assert label, f"{name}: no label for #{element_id}"
        assert label[0].text.strip(), f"{name}: empty label for #{element_id}"
    for button in shown.all("button"):
        assert button.text.strip(), f"{name}: a button without words"


async def test_pages_are_accessible_in_the_basic_ways(env: InProcess) -> None:
    client = env.client
    shown = {"index": page(await client.get("/"))}
    shared = await create(client, "a")
    locked = await create(client, "b", passphrase="four word pass")
    shown["receipt-created"] = page(await client.get(shared.receipt_path + "?created=1"))
    shown["receipt-passphrase"] = page(await client.get(locked.receipt_path))
    shown["reveal"] = page(await client.get(shared.secret_path))
    shown["reveal-passphrase"] = page(await client.get(locked.secret_path))
    shown["reveal-wrong"] = page(await reveal(client, locked, "nope"))
    shown["revealed"] = page(await reveal(client, shared))
    shown["gone"] = page(await client.get(shared.secret_path))
    shown["create-invalid"] = page(await client.post("/", data={"secret": ""}))
    shown["not-found"] = page(await client.get("/nope"))
    shown["api-docs"] = page(await client.get("/api/docs"))
    for name, document in shown.items():
        check_accessible(document, name)


async def test_error_messages_are_announced_and_linked(env: InProcess) -> None:
    invalid = page(await env.client.post("/", data={"secret": ""}))
    alert = invalid.one("p", role="alert")
    described = [e for e in invalid.elements if e.get("aria-describedby") == alert.get("id")]
    assert described, "the field or form points at the error"
    assert any(e.tag in ("textarea", "form") for e in described)


def test_focus_is_visible() -> None:
    css = STYLESHEET.read_text()
    rule = re.search(r":focus-visible\s*\{([^}]*)\}", css)
    assert rule, "a :focus-visible rule"
    assert "outline" in rule.group(1)
    assert "outline: none" not in css.replace("outline:none", "outline: none")


async def test_skip_link_leads_to_the_main_content(env: InProcess) -> None:
    shown = page(await env.client.get("/"))
    first_link = shown.all("a")[0]
    assert first_link.get("href") == "#main"
    assert shown.one("main").get("id") == "main"


def test_dark_mode_follows_the_system() -> None:
    assert "prefers-color-scheme: dark" in STYLESHEET.read_text()
