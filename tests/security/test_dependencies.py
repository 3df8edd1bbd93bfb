"""Known vulnerabilities in the pinned dependencies, by pip-audit.

pip-audit reads the pins in constraints.txt as they are (`--no-deps --disable-pip`: nothing is
resolved, downloaded or installed) and asks an advisory service about each pinned version:
PyPI's JSON API, or OSV when only OSV answers. A pin with a known vulnerability fails the test;
the fix is to raise the pin to a fixed version and reinstall.

Without a reachable advisory service (offline, or behind a mirror that does not serve PyPI's
per-version JSON) the audit is skipped with a note saying so: the one skip this suite allows,
also under CI=true. A second test, offline, checks that the installed packages are the pinned
ones, so that auditing the pins audits what runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

CONSTRAINTS = Path(__file__).parents[2] / "constraints.txt"
PROBE_TIMEOUT = 5  # seconds: an unreachable service should not hold the suite up
PYPI = "https://pypi.org/pypi/{name}/{version}/json"
OSV = "https://api.osv.dev/v1/query"


def pins() -> dict[str, str]:
    """constraints.txt as {canonical name: version}; every line there pins one version."""
    pinned = {}
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        (specifier,) = requirement.specifier  # exactly one "==" each
        assert specifier.operator == "==", line
        pinned[canonicalize_name(requirement.name)] = specifier.version
    return pinned


def _probe(url: str, query: dict[str, Any] | None = None) -> str | None:
    """None when the service answers (with JSON), else what went wrong.

    `url` is one of the two fixed https addresses above, never input (hence S310).
    """
    data = None if query is None else json.dumps(query).encode()
    headers = {"Content-Type": "application/json"} if data else {}
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 - see above
    try:
        with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT) as answer:  # noqa: S310
            json.load(answer)
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code} from {url}"
    except (OSError, ValueError) as error:  # no route, DNS, timeout, TLS; or not JSON
        return f"{type(error).__name__} from {url}: {error}"
    return None


def advisory_service(name: str, version: str) -> tuple[str | None, list[str]]:
    """The pip-audit service that answers about `name` at `version`, and why the others did not."""
    problems = []
    pypi = _probe(PYPI.format(name=name, version=version))
    if pypi is None:
        return "pypi", problems
    problems.append(f"PyPI's JSON API: {pypi}")
    osv = _probe(OSV, {"package": {"name": name, "ecosystem": "PyPI"}, "version": version})
    if osv is None:
        return "osv", problems
    problems.append(f"OSV: {osv}")
    return None, problems


def _advisory(vulnerability: dict[str, Any]) -> str:
    fixed = ", ".join(vulnerability["fix_versions"]) or "no fixed release yet"
    return f"{vulnerability['id']} (fixed in {fixed})"


@pytest.mark.slow
def test_no_pinned_dependency_has_a_known_vulnerability(tmp_path: Path) -> None:
    pinned = pins()
    # Probe with a pin that is surely on PyPI: the auditor itself.
    service, problems = advisory_service("pip-audit", pinned["pip-audit"])
    if service is None:
        pytest.skip(
            "pip-audit not run: no advisory service is reachable from here ("
            + "; ".join(problems)
            + "). The audit runs wherever PyPI's JSON API or OSV answers."
        )
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "--requirement",
        str(CONSTRAINTS),
        "--no-deps",
        "--disable-pip",
        "--vulnerability-service",
        service,
        "--format",
        "json",
        "--progress-spinner",
        "off",
        "--timeout",
        "30",
        "--cache-dir",
        str(tmp_path / "cache"),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    # 0: nothing found; 1: vulnerabilities found. Anything else is pip-audit failing.
    assert done.returncode in (0, 1), done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    audited = {canonicalize_name(d["name"]): d for d in report["dependencies"]}
    assert set(audited) == set(pinned), "pip-audit did not read every pin"

    vulnerable = [
        f"{d['name']} {d['version']}: " + ", ".join(map(_advisory, d["vulns"]))
        for d in report["dependencies"]
        if d.get("vulns")
    ]
    assert not vulnerable, "raise these pins in constraints.txt:\n" + "\n".join(vulnerable)
    # A pin the service knows nothing about was not audited at all: that is no pass either.
    unaudited = [d["skip_reason"] for d in report["dependencies"] if "skip_reason" in d]
    assert not unaudited, f"not audited through {service}:\n" + "\n".join(unaudited)


def test_the_installed_packages_are_the_pinned_ones() -> None:
    """What runs is what was audited: every installed pinned package has its pinned version."""
    pinned = pins()
    installed: dict[str, str] = {}
    for dist in metadata.distributions():  # the first one found is the one imported
        if dist.metadata["Name"]:
            installed.setdefault(canonicalize_name(dist.metadata["Name"]), dist.version)
    different = {
        name: (version, installed[name])
        for name, version in pinned.items()
        if name in installed and installed[name] != version
    }
    assert not different, f"installed versions differ from constraints.txt: {different}"
    # The pins cover the application's own dependencies (test tools are pinned there too).
    for requirement in metadata.requires("onetime") or []:
        name = canonicalize_name(Requirement(requirement).name)
        if "extra ==" not in requirement:
            assert name in pinned, f"{name} is a dependency of onetime but not pinned"
