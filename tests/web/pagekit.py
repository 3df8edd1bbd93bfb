"""Small helpers for page tests: a standard-library HTML reader and the create/reveal steps."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx

# Bots and scanners that fetch links to build previews or to check them; none may consume.
PREVIEW_AGENTS = {
    "slack": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "facebook": "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "twitter": "Twitterbot/1.0",
    "teams": "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5",
    "mail-scanner": "Mozilla/5.0 (compatible; Barracuda Sentinel; +https://www.barracuda.com)",
    "browser": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
}

# Elements that never have content (nor an end tag).
_VOID = frozenset(("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta"))


@dataclass
class Element:
    """A start tag, its attributes, and all the text inside it."""

    tag: str
    attrs: dict[str, str | None]
    text: str = ""
    parents: tuple[Element, ...] = field(default=(), repr=False, compare=False)

    def get(self, name: str) -> str | None:
        return self.attrs.get(name)


class Page(HTMLParser):
    """Everything a test wants to know about one HTML document."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.html = html
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs), parents=tuple(self._open))
        self.elements.append(element)
        if tag not in _VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index].tag == tag:
                del self._open[index:]
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data

    def text_of(self, element: Element) -> str:
        """A textarea's value as a browser sees it: one newline right after the tag is dropped."""
        text = element.text
        if element.tag == "textarea" and text.startswith("\n"):
            text = text[1:]
        return text

    # -- queries --------------------------------------------------------------------------

    def all(self, tag: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag]

    def one(self, tag: str, **attrs: str) -> Element:
        found = self.find(tag, **attrs)
        assert len(found) == 1, f"expected one <{tag} {attrs}>, found {len(found)}"
        return found[0]

    def find(self, tag: str, **attrs: str) -> list[Element]:
        return [e for e in self.all(tag) if all(e.get(k) == v for k, v in attrs.items())]

    def inside(self, container: Element, tag: str | None = None) -> list[Element]:
        """The elements within `container` (optionally only one kind)."""
        return [
            e
            for e in self.elements
            if any(p is container for p in e.parents) and (tag is None or e.tag == tag)
        ]

    def options(self, select_id: str) -> list[Element]:
        """The <option>s of one <select>."""
        return self.inside(self.by_id(select_id), "option")

    def selected(self, select_id: str) -> list[str | None]:
        """The values of the preselected options of one <select>."""
        return [o.get("value") for o in self.options(select_id) if "selected" in o.attrs]

    def by_id(self, element_id: str) -> Element:
        found = [e for e in self.elements if e.get("id") == element_id]
        assert len(found) == 1, f"expected one element with id={element_id!r}, found {len(found)}"
        return found[0]

    def field(self, name: str) -> Element:
        found = [
            e
            for e in self.elements
            if e.tag in ("input", "textarea", "select") and e.get("name") == name
        ]
        assert len(found) == 1, f"expected one field named {name!r}, found {len(found)}"
        return found[0]

    def has_field(self, name: str) -> bool:
        return any(
            e.tag in ("input", "textarea", "select") and e.get("name") == name
            for e in self.elements
        )

    def label_for(self, element_id: str) -> Element:
        return self.one("label", **{"for": element_id})

    @property
    def title(self) -> str:
        return " ".join(self.one("title").text.split())

    @property
    def h1(self) -> str:
        return " ".join(self.one("h1").text.split())

    @property
    def text(self) -> str:
        """The visible words, roughly: tags removed, whitespace collapsed."""
        body = re.sub(r"<(script|style)\b.*?</\1>", " ", self.html, flags=re.S | re.I)
        return " ".join(re.sub(r"<[^>]+>", " ", body).split())

    def foreign_scripts(self) -> list[Element]:
        """Scripts other than our own enhancement file (none may carry a body)."""
        return [e for e in self.all("script") if e.get("src") != "/static/app.js" or e.text.strip()]

    def references(self) -> list[str]:
        """Every URL the page points at: src, href, action, formaction, poster, srcset, data."""
        names = ("src", "href", "action", "formaction", "poster", "data", "srcset", "xlink:href")
        urls = []
        for element in self.elements:
            for name in names:
                value = element.get(name)
                if value is not None:
                    urls.append(value)
            if element.tag == "meta" and (element.get("http-equiv") or "").lower() == "refresh":
                urls.append((element.get("content") or "").partition("=")[2])
        return urls


def is_same_origin(url: str, host: str = "testserver") -> bool:
    """A relative path, or an absolute URL on this very server."""
    url = url.strip()
    parts = urlsplit(url)
    if url.startswith("//"):
        return False
    if parts.scheme:
        return parts.scheme in ("http", "https") and parts.netloc == host
    return True


def page(response: httpx.Response) -> Page:
    content_type = response.headers["content-type"]
    assert content_type.startswith("text/html"), content_type
    return Page(response.text)


# -- the steps of the product, through the forms --------------------------------------------


@dataclass
class Shared:
    """What a creator holds after the create form: the two keys, and where the pages live."""

    secret_key: str
    receipt_key: str

    @property
    def secret_path(self) -> str:
        return f"/secret/{self.secret_key}"

    @property
    def receipt_path(self) -> str:
        return f"/receipt/{self.receipt_key}"


SAMPLE = "correct horse battery staple"


async def create(client: httpx.AsyncClient, secret: str = SAMPLE, **fields: str) -> Shared:
    """Submit the create form, follow to the receipt, and read both links off the page."""
    response = await client.post("/", data={"secret": secret, **fields})
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    match = re.fullmatch(r"/receipt/([0-9a-z]+)\?created=1", location)
    assert match, location
    receipt_key = match.group(1)
    receipt = page(await client.get(location))
    share_url = receipt.by_id("share-link").get("value") or ""
    share = re.fullmatch(r"http://testserver/secret/([0-9a-z]+)", share_url)
    assert share, share_url
    return Shared(share.group(1), receipt_key)


async def receipt_state(client: httpx.AsyncClient, shared: Shared) -> str:
    """The receipt page's state sentence."""
    response = await client.get(shared.receipt_path)
    assert response.status_code == 200
    return " ".join(page(response).by_id("state").text.split())


async def reveal(
    client: httpx.AsyncClient, shared: Shared, passphrase: str | None = None
) -> httpx.Response:
    data = {"passphrase": passphrase} if passphrase is not None else {}
    return await client.post(shared.secret_path, data=data)


async def burn(client: httpx.AsyncClient, shared: Shared, **fields: str) -> httpx.Response:
    """Post the burn form with its confirmation ticked (and any other fields)."""
    return await client.post(f"{shared.receipt_path}/burn", data={"confirm": "yes", **fields})


def revealed_value(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    shown = page(response)
    return shown.text_of(shown.by_id("secret-value"))
