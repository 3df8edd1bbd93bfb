"""The client commands of `onetime`, driven against a real `onetime serve` process.

No HTTP is mocked: the commands talk to a live server over TCP. One server serves the whole
module (each test makes its own secrets); tests that need no server run without one.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from onetime.cli import app
from onetime.cli.api_client import InvalidTarget, Target, parse_target
from onetime.cli.client import NOT_AVAILABLE
from onetime.cli.display import write_value
from tests.conftest import LiveServer, free_port, start_server, stop_server

CLEAN_ENV: dict[str, str | None] = {
    "ONETIME_URL": None,
    "ONETIME_USER": None,
    "ONETIME_TOKEN": None,
}
runner = CliRunner()


def run(*args: str, input: str | None = None, env: dict[str, str | None] | None = None) -> Result:
    result = runner.invoke(app, list(args), input=input, env={**CLEAN_ENV, **(env or {})})
    # Errors are reported, never raised: anything but a clean exit is a crash.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def field(output: str, label: str) -> str:
    for line in output.splitlines():
        if line.startswith(f"{label}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {label!r} line in:\n{output}")


def share(url: str, *args: str, input: str | None = None) -> tuple[str, str]:
    """Share through the CLI; the share link and the receipt link."""
    result = run("share", "--url", url, *args, input=input)
    assert result.exit_code == 0, result.output
    return field(result.stdout, "Share link"), field(result.stdout, "Receipt link")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("cli-server")
    live = start_server(root / "data", root / "server.log")
    yield live
    stop_server(live)


slow = pytest.mark.slow


@slow
def test_share_from_stdin_then_reveal_once(server: LiveServer) -> None:
    link, receipt = share(server.url, input="line one\nline two\n")
    assert link.startswith(f"{server.url}/secret/")
    assert receipt.startswith(f"{server.url}/receipt/")

    first = run("reveal", link)
    assert first.exit_code == 0, first.output
    assert first.stdout == "line one\nline two\n"  # one trailing newline dropped, then added back
    assert first.stderr == ""

    second = run("reveal", link)
    assert second.exit_code == 1
    assert second.stdout == ""
    assert second.stderr == f"onetime: {NOT_AVAILABLE}\n"


@slow
def test_reveal_in_a_real_process_prints_exactly_the_value(server: LiveServer) -> None:
    value = "tab\there, ünïcødé, [bold]not markup[/bold]"
    shared = subprocess.run(
        [sys.executable, "-m", "onetime", "share", "--url", server.url],
        input=value.encode(),
        capture_output=True,
        check=True,
    )
    link = field(shared.stdout.decode(), "Share link")
    revealed = subprocess.run(
        [sys.executable, "-m", "onetime", "reveal", link], capture_output=True, check=False
    )
    assert revealed.returncode == 0, revealed.stderr
    assert revealed.stdout.decode() == value + "\n"
    assert revealed.stderr == b""


@slow
def test_a_value_ending_in_newline_gets_no_second_one(server: LiveServer) -> None:
    link, _ = share(server.url, "--secret", "ends with newline\n")
    assert run("reveal", link).stdout == "ends with newline\n"


@slow
def test_explicit_secret_option_ignores_stdin(server: LiveServer) -> None:
    link, _ = share(server.url, "--secret", "from argv", input="from stdin\n")
    assert run("reveal", link).stdout == "from argv\n"


@slow
def test_passphrase_wrong_then_right(server: LiveServer) -> None:
    link, receipt = share(server.url, "--passphrase", "correct horse", input="guarded\n")
    assert field(run("receipt", receipt).stdout, "Passphrase") == "yes"

    missing = run("reveal", link)
    assert missing.exit_code == 1
    assert "needs its passphrase" in missing.stderr
    assert "--passphrase-prompt" in missing.stderr

    wrong = run("reveal", link, "--passphrase", "battery staple")
    assert wrong.exit_code == 1
    assert wrong.stderr.startswith("onetime: ")
    assert "passphrase" in wrong.stderr
    assert wrong.stdout == ""

    right = run("reveal", link, "--passphrase", "correct horse")  # the secret is still there
    assert right.exit_code == 0, right.output
    assert right.stdout == "guarded\n"


@slow
def test_passphrase_prompts_keep_stdout_clean(server: LiveServer) -> None:
    # share asks twice (confirmation); the prompts go to stderr, never into piped output.
    link, _ = share(server.url, "--secret", "prompted", "-p", input="pass-1234\npass-1234\n")
    result = run("reveal", link, "--passphrase-prompt", input="pass-1234\n")
    assert result.exit_code == 0, result.output
    # CliRunner echoes getpass's own " " prompt to stdout; a terminal gets it on /dev/tty.
    assert result.stdout.lstrip(" \n") == "prompted\n"
    assert "Passphrase" in result.stderr


@slow
def test_reveal_accepts_a_bare_key_with_url(server: LiveServer) -> None:
    link, _ = share(server.url, input="by key")
    key = link.rsplit("/", 1)[1]
    assert run("reveal", key, "--url", server.url).stdout == "by key\n"


@slow
def test_a_link_wins_over_the_environment_but_not_over_url(server: LiveServer) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    link, _ = share(server.url, input="from the link's server")
    # ONETIME_URL names a dead server: the link's origin is used instead.
    result = run("reveal", link + "/", env={"ONETIME_URL": dead})
    assert result.exit_code == 0, result.output
    assert result.stdout == "from the link's server\n"

    # --url on the command line wins over the link's host.
    link, _ = share(server.url, input="explicit url")
    key = link.rsplit("/", 1)[1]
    result = run("reveal", f"{dead}/secret/{key}", "--url", server.url)
    assert result.stdout == "explicit url\n"


@slow
def test_credentials_go_only_to_the_configured_server(server: LiveServer) -> None:
    link, _ = share(server.url, input="no token for strangers")
    bad = {"ONETIME_USER": "a@b.c", "ONETIME_TOKEN": "wrong-token-value"}
    # Configured server is elsewhere: the link's host gets no credentials, so no 401.
    result = run("reveal", link, env={**bad, "ONETIME_URL": f"http://127.0.0.1:{free_port()}"})
    assert result.exit_code == 0, result.output
    assert result.stdout == "no token for strangers\n"


@slow
def test_receipt_shows_new_then_revealed(server: LiveServer) -> None:
    link, receipt = share(server.url, "--ttl", "3600", input="watched")
    before = run("receipt", receipt)
    assert before.exit_code == 0, before.output
    assert field(before.stdout, "State").startswith("new")
    assert field(before.stdout, "Share link") == link
    assert field(before.stdout, "Expires in") in ("1 hour", "59 minutes 59 seconds")
    assert field(before.stdout, "Passphrase") == "no"

    run("reveal", link)
    after = run("receipt", receipt)
    assert field(after.stdout, "State").startswith("revealed")
    assert "Share link" not in after.stdout
    assert "watched" not in after.stdout

    key = receipt.rsplit("/", 1)[1]
    raw = run("receipt", key, "--url", server.url, "--json")
    assert json.loads(raw.stdout)["record"]["state"] == "revealed"


@slow
def test_burn_then_reveal_fails(server: LiveServer) -> None:
    link, receipt = share(server.url, input="to be burned")

    declined = run("burn", receipt, input="n\n")
    assert declined.exit_code == 1
    assert field(run("receipt", receipt).stdout, "State").startswith("new")

    burned = run("burn", receipt, input="y\n")
    assert burned.exit_code == 0, burned.output
    assert "Burned" in burned.stdout

    revealed = run("reveal", link)
    assert revealed.exit_code == 1
    assert revealed.stderr == f"onetime: {NOT_AVAILABLE}\n"
    assert field(run("receipt", receipt).stdout, "State").startswith("burned")

    again = run("burn", receipt, "--yes")  # burning is idempotent
    assert again.exit_code == 0, again.output


@slow
def test_burn_after_reveal_says_nothing_was_burned(server: LiveServer) -> None:
    link, receipt = share(server.url, input="read first")
    run("reveal", link)
    result = run("burn", receipt, "--yes")
    assert result.exit_code == 1
    assert result.stderr == "onetime: nothing was burned: the secret is revealed\n"


@slow
def test_burn_with_passphrase(server: LiveServer) -> None:
    _, receipt = share(server.url, "--passphrase", "pass-1234", input="guarded")
    without = run("burn", receipt, "--yes")
    assert without.exit_code == 1
    assert "passphrase" in without.stderr
    burned = run("burn", receipt, "--yes", "--passphrase", "pass-1234")
    assert burned.exit_code == 0, burned.output


@slow
@pytest.mark.parametrize("symbols", ["--symbols", "--no-symbols"])
def test_generate_reveals_to_the_same_password(server: LiveServer, symbols: str) -> None:
    result = run("generate", "--url", server.url, "--length", "24", symbols)
    assert result.exit_code == 0, result.output
    password = field(result.stdout, "Password")
    assert len(password) == 24
    if symbols == "--no-symbols":
        assert password.isalnum()
    assert field(result.stdout, "Receipt link").startswith(f"{server.url}/receipt/")
    assert run("reveal", field(result.stdout, "Share link")).stdout == password + "\n"


@slow
def test_share_json_prints_the_api_answer(server: LiveServer) -> None:
    result = run("share", "--url", server.url, "--json", input="as json")
    answer = json.loads(result.stdout)
    assert answer["success"] is True
    assert answer["record"]["secret"]["identifier"]
    assert "as json" not in result.stdout


@slow
def test_status(server: LiveServer) -> None:
    result = run("status", "--url", server.url)
    assert result.exit_code == 0, result.output
    assert field(result.stdout, "Status") == "nominal"
    assert field(result.stdout, "Health") == "ok"
    raw = json.loads(run("status", "--url", server.url, "--json").stdout)
    assert raw["status"]["status"] == "nominal"
    assert raw["health"]["status_code"] == 200


@slow
@pytest.mark.parametrize("command", [["share", "--secret", "x"], ["status"]])
def test_bad_credentials(server: LiveServer, command: list[str]) -> None:
    token = "tok-never-printed-42"
    result = run(*command, "--url", server.url, "--user", "a@b.c", "--token", token)
    assert result.exit_code == 1
    assert result.stderr == "onetime: The username or API token is not correct.\n"
    assert token not in result.output


@pytest.mark.parametrize(
    "command",
    [
        ["share", "--secret", "x"],
        ["reveal", "somekey"],
        ["receipt", "somekey"],
        ["burn", "somekey", "--yes"],
        ["generate"],
        ["status"],
    ],
)
def test_unreachable_server_is_one_line(command: list[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = run(*command, "--url", url)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"onetime: cannot reach {url}: ")
    assert result.stderr.count("\n") == 1


def test_unreachable_server_in_a_real_process() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    env_url = {"ONETIME_URL": url}
    done = subprocess.run(
        [sys.executable, "-m", "onetime", "status"],
        capture_output=True,
        text=True,
        check=False,
        env={**_clean_os_env(), **env_url},
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith(f"onetime: cannot reach {url}: ")
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


def _clean_os_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ONETIME_")}


@pytest.mark.parametrize(
    "args",
    [
        ["share", "--secret", "x", "--user", "a@b.c"],
        ["share", "--secret", "x", "--passphrase", "pass-1234", "-p"],
        ["share", "--secret", "x", "--url", "ftp://example.com"],
        ["reveal", "../../etc"],
        ["reveal", "https://example.com/receipt/abc123"],
        ["burn", "https://example.com/secret/abc123", "--yes"],
        ["receipt", "https://example.com/nothing/here"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 2, result.output


@pytest.fixture
def not_onetime() -> Iterator[str]:
    """A real HTTP server that answers every request with an HTML page."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html>hello</html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), Page) as httpd:
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
        httpd.shutdown()
        thread.join()


def test_a_server_that_is_not_onetime(not_onetime: str) -> None:
    result = run("status", "--url", not_onetime)
    assert result.exit_code == 1
    assert result.stderr == (
        f"onetime: {not_onetime} did not answer like an Onetime Secret server "
        "(HTTP 200, not a JSON object)\n"
    )


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_control_characters_are_escaped_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    write_value("ok\x1b]52;c;aGk=\x07 line\r\nnext\rover")
    assert terminal.getvalue() == "ok\\x1b]52;c;aGk=\\x07 line\r\nnext\\x0dover\n"
    assert "escaped" in capsys.readouterr().err


def test_empty_secret_is_refused_before_any_request() -> None:
    result = run("share", "--url", f"http://127.0.0.1:{free_port()}", input="")
    assert result.exit_code == 1
    assert result.stderr == "onetime: nothing to share: the secret is empty\n"


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("abc123", "secret", Target("abc123")),
        ("https://ots.example/secret/abc123", "secret", Target("abc123", "https://ots.example")),
        (
            "HTTPS://ots.example:8443/secret/abc123/",
            "secret",
            Target("abc123", "https://ots.example:8443"),
        ),
        (
            "https://ots.example/ots/secret/abc123?x=1#f",
            "secret",
            Target("abc123", "https://ots.example/ots"),
        ),
        ("https://ots.example/receipt/r1", "receipt", Target("r1", "https://ots.example")),
        ("https://ots.example/private/r1", "receipt", Target("r1", "https://ots.example")),
        ("  r1  ", "receipt", Target("r1")),
    ],
)
def test_parse_target(text: str, kind: str, expected: Target) -> None:
    assert parse_target(text, kind) == expected


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("", "secret"),
        ("has space", "secret"),
        ("ftp://ots.example/secret/abc", "secret"),
        ("https://ots.example/receipt/abc", "secret"),
        ("https://ots.example/secret/abc", "receipt"),
        ("https://ots.example/secret/", "secret"),
        ("https://ots.example/", "receipt"),
    ],
)
def test_parse_target_refuses(text: str, kind: str) -> None:
    with pytest.raises(InvalidTarget):
        parse_target(text, kind)


def test_help_never_shows_the_token(tmp_path: Path) -> None:
    result = run("share", "--help", env={"ONETIME_TOKEN": "env-token-do-not-show"})
    assert result.exit_code == 0
    assert "env-token-do-not-show" not in result.output
    assert "shell history" in result.output
