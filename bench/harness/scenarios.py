"""The scenarios: what each one sends to onetime and to snappass."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from harness.servers import ServerSpec
from harness.wrk import WrkJob

SECRET_TEXT = "x" * 40  # 40 bytes, a long generated password; the pre-created secrets match
PASSPHRASE = "correct horse battery"  # noqa: S105 - sent to the server under test, protects nothing
ONETIME_TTL = "3600"
SNAPPASS_TTL = "hour"  # snappass offers named lifetimes only; an hour is 3600 s


@dataclass(frozen=True)
class Scenario:
    name: str
    kinds: tuple[str, ...]  # the server kinds that have it ("onetime", "snappass")
    uses_keys: bool = False  # each request needs a secret created before the run


CREATE = Scenario("create", ("snappass", "onetime"))
REVEAL = Scenario("reveal", ("snappass", "onetime"), uses_keys=True)
CREATE_PASSPHRASE = Scenario("create+passphrase", ("onetime",))  # snappass has no passphrases
MIXED = Scenario("mixed", ("snappass", "onetime"))

MAIN_SCENARIOS = (CREATE, REVEAL, CREATE_PASSPHRASE, MIXED)
FULL_STORE_SCENARIOS = (CREATE, REVEAL)


def create_body(kind: str, with_passphrase: bool = False) -> str:
    if kind == "snappass":
        return urlencode({"password": SECRET_TEXT, "ttl": SNAPPASS_TTL})
    fields = {"secret": SECRET_TEXT, "ttl": ONETIME_TTL}
    if with_passphrase:
        fields["passphrase"] = PASSPHRASE
    return urlencode(fields)


def create_url(spec: ServerSpec) -> str:
    return spec.url + ("/" if spec.kind == "snappass" else "/api/v1/share")


def wrk_job(scenario: Scenario, spec: ServerSpec, paths_file: Path | None = None) -> WrkJob:
    """The wrk run of `scenario` against `spec` (`paths_file`: its pre-created secrets)."""
    if scenario.uses_keys:
        if paths_file is None:
            raise ValueError(f"{scenario.name} needs pre-created secrets")
        return WrkJob("reveal.lua", spec.url + "/", {"BENCH_PATHS": str(paths_file)})
    body = create_body(spec.kind, with_passphrase=scenario is CREATE_PASSPHRASE)
    if scenario is MIXED:
        return WrkJob(f"mixed_{spec.kind}.lua", create_url(spec), {"BENCH_BODY": body})
    params = {"BENCH_BODY": body}
    if spec.kind == "snappass":
        params["BENCH_ACCEPT"] = "application/json"  # snappass then answers JSON, not a page
    return WrkJob("create.lua", create_url(spec), params)
