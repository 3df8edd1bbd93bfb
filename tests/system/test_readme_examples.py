"""The README's curl examples work as written, against a real server (only the address changes)."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import LiveServer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed"),
]
README = Path(__file__).parents[2] / "README.md"


def api_examples() -> list[str]:
    text = README.read_text()
    section = text.split("## API", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)


def run(block: str, server: LiveServer) -> str:
    script = block.replace("http://127.0.0.1:7143", server.url)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def json_lines(output: str) -> list[dict[str, object]]:
    decoder, found, index = json.JSONDecoder(), [], 0
    while index < len(output):
        if output[index] in "{[":
            value, index = decoder.raw_decode(output, index)
            found.append(value)
        else:
            index += 1
    return found


def test_the_readme_has_the_three_api_examples() -> None:
    assert len(api_examples()) == 3


def test_v1_share_example(live_server: LiveServer) -> None:
    (answer,) = json_lines(run(api_examples()[0], live_server))
    assert answer["state"] == "new"
    assert answer["ttl"] == 3600
    assert len(str(answer["secret_key"])) == 62


def test_v2_conceal_reveal_receipt_example(live_server: LiveServer) -> None:
    revealed, receipt = json_lines(run(api_examples()[1], live_server))
    assert revealed["record"]["secret_value"] == "hunter2"  # type: ignore[index]
    assert receipt["record"]["state"] == "revealed"  # type: ignore[index]


def test_v2_generate_and_burn_example(live_server: LiveServer) -> None:
    (burned,) = json_lines(run(api_examples()[2], live_server))
    assert burned["record"]["state"] == "burned"  # type: ignore[index]
