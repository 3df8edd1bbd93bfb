"""Known secrets pushed through every flow of a live server, for the at-rest and log scans."""

from dataclasses import dataclass, field

import httpx


@dataclass
class Traces:
    """Everything secret a flow handled; none of it may show up at rest or in logs."""

    contents: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    passphrases: list[str] = field(default_factory=list)

    def needles(self) -> list[str]:
        return self.contents + self.keys + self.passphrases


def run_all_flows(base_url: str, tag: str, headers: dict[str, str] | None = None) -> Traces:
    """Create, preview, reveal, burn, fail passphrases and generate, through v1, v2 and pages.

    `headers` go with every request (e.g. the X-Forwarded-For of a trusted proxy).
    """
    traces = Traces()
    with httpx.Client(base_url=base_url, timeout=10, headers=headers) as http:
        # v1 share + reveal
        content = f"v1-content-{tag}-correct-horse-battery"
        answer = http.post("/api/v1/share", data={"secret": content, "ttl": "3600"}).json()
        traces.contents.append(content)
        traces.keys += [answer["secret_key"], answer["metadata_key"]]
        assert http.post(f"/api/v1/secret/{answer['secret_key']}").json()["value"] == content

        # v2 with passphrase: wrong, then right
        content, passphrase = f"v2-content-{tag}-pp", f"passphrase-{tag}-xyzzy"
        body = {"secret": {"secret": content, "passphrase": passphrase, "ttl": 3600}}
        record = http.post("/api/v2/secret/conceal", json=body).json()["record"]
        secret_key, receipt_key = record["secret"]["key"], record["receipt"]["key"]
        traces.contents.append(content)
        traces.passphrases.append(passphrase)
        traces.keys += [secret_key, receipt_key]
        wrong = http.post(
            f"/api/v2/secret/{secret_key}/reveal", json={"passphrase": "wrong-guess-1"}
        )
        assert wrong.status_code == 422
        http.get(f"/secret/{secret_key}")  # preview page
        http.get(f"/api/v2/receipt/{receipt_key}")
        ok = http.post(f"/api/v2/secret/{secret_key}/reveal", json={"passphrase": passphrase})
        assert ok.json()["record"]["secret_value"] == content

        # left unread, and burned
        for left in ("unread", "burned"):
            content = f"v2-content-{tag}-{left}"
            record = http.post(
                "/api/v2/secret/conceal", json={"secret": {"secret": content}}
            ).json()["record"]
            traces.contents.append(content)
            traces.keys += [record["secret"]["key"], record["receipt"]["key"]]
            if left == "burned":
                http.post(
                    f"/api/v2/receipt/{record['receipt']['key']}/burn", json={"continue": True}
                )

        # generated password
        record = http.post("/api/v2/secret/generate", json={"secret": {"length": 24}}).json()[
            "record"
        ]
        traces.contents.append(record["secret"]["secret_value"])
        traces.keys += [record["secret"]["key"], record["receipt"]["key"]]

        # the web form
        content = f"web-content-{tag}-form"
        created = http.post("/", data={"secret": content, "ttl": "3600"})
        traces.contents.append(content)
        receipt_path = created.headers["location"].split("?")[0]
        traces.keys.append(receipt_path.rsplit("/", 1)[1])
        page = http.get(receipt_path).text
        share_key = page.split("/secret/")[1].split('"')[0]
        traces.keys.append(share_key)
        assert content in http.post(f"/secret/{share_key}").text
    return traces
