"""Client commands that speak the HTTP API of any Onetime Secret compatible server.

`share`, `reveal`, `receipt`, `burn`, `generate` and `status` call the v2 API through
`OnetimeClient`. Results go to stdout, errors to stderr as one line starting with "onetime:";
exit 1 for errors the server or the network reports, 2 for usage errors.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import typer

from onetime.cli import display
from onetime.cli.api_client import (
    DEFAULT_URL,
    ApiError,
    InvalidTarget,
    OnetimeClient,
    UnexpectedAnswer,
    Unreachable,
    normalize_base_url,
    parse_target,
    same_origin,
)

NOT_AVAILABLE = "This secret is not available: it was already read, burned, or it expired."

# Options shared by the commands.
Url = Annotated[
    str,
    typer.Option(
        "--url",
        envvar="ONETIME_URL",
        show_envvar=True,
        help="The server. A full link given as KEY_OR_LINK wins over the environment variable.",
    ),
]
User = Annotated[
    str | None,
    typer.Option(
        "--user", envvar="ONETIME_USER", show_envvar=True, help="Account email for HTTP Basic."
    ),
]
Token = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="ONETIME_TOKEN",
        show_envvar=True,
        show_default=False,
        help="API token. Prefer the environment variable: arguments land in shell history.",
    ),
]
Passphrase = Annotated[
    str | None,
    typer.Option("--passphrase", help="The passphrase, for scripts (lands in shell history)."),
]
PassphrasePrompt = Annotated[
    bool, typer.Option("--passphrase-prompt", "-p", help="Ask for the passphrase (hidden input).")
]
Ttl = Annotated[
    int | None,
    typer.Option(
        "--ttl", min=1, metavar="SECONDS", help="Lifetime; the server clamps it to its range."
    ),
]
Recipient = Annotated[
    list[str] | None,
    typer.Option(
        "--recipient", metavar="EMAIL", help="Email the link (accounts only; repeatable)."
    ),
]
JsonOut = Annotated[bool, typer.Option("--json", help="Print the raw API answer as JSON.")]
KeyOrLink = Annotated[str, typer.Argument(metavar="KEY_OR_LINK", show_default=False)]


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"onetime: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def _reporting(not_found: str | None = None, asked_passphrase: bool = True) -> Iterator[None]:
    """Turn the client's exceptions into one line on stderr and an exit code."""
    try:
        yield
    except ApiError as error:
        message = error.message
        if error.status == 404 and not_found:
            message = not_found
        elif error.error_type == "wrong_passphrase" and not asked_passphrase:
            message += " Give it with --passphrase-prompt (-p) or --passphrase."
        elif error.status == 429 and error.retry_after:
            message += f" Try again in {error.retry_after} seconds."
        _fail(message)
    except (Unreachable, UnexpectedAnswer) as error:
        _fail(str(error))
    except InvalidTarget as error:
        raise typer.BadParameter(str(error)) from None


def _connect(
    ctx: typer.Context, url: str, user: str | None, token: str | None, link_base: str | None = None
) -> OnetimeClient:
    """The client for this command; credentials are only ever sent to the configured server."""
    if (user is None) != (token is None):
        raise typer.BadParameter("give both --user and --token (or ONETIME_USER and ONETIME_TOKEN)")
    try:
        configured = normalize_base_url(url)
    except InvalidTarget as error:
        raise typer.BadParameter(str(error), param_hint="'--url'") from None
    base = configured
    source = ctx.get_parameter_source("url")
    url_given = source is not None and source.name == "COMMANDLINE"
    if link_base is not None and not url_given:
        base = link_base
        if not same_origin(link_base, configured):
            user = token = None
    return OnetimeClient(base, user, token)


def _target(text: str, kind: str) -> tuple[str, str | None]:
    try:
        target = parse_target(text, kind)
    except InvalidTarget as error:
        raise typer.BadParameter(str(error), param_hint="KEY_OR_LINK") from None
    return target.key, target.base_url


def _one_passphrase_source(value: str | None, prompt: bool) -> None:
    if prompt and value is not None:
        raise typer.BadParameter("use --passphrase or --passphrase-prompt, not both")


def _passphrase(value: str | None, prompt: bool, confirm: bool = False) -> str | None:
    _one_passphrase_source(value, prompt)
    if prompt:
        answer: str = typer.prompt(
            "Passphrase", hide_input=True, confirmation_prompt=confirm, err=True
        )
        return answer
    return value


def _read_secret(explicit: str | None) -> str:
    """--secret, else all of stdin (one trailing newline dropped), else a hidden prompt."""
    if explicit is not None:
        return explicit
    if sys.stdin.isatty():
        answer: str = typer.prompt("Secret", hide_input=True, err=True)
        return answer
    try:
        text = sys.stdin.read()
    except UnicodeDecodeError:
        _fail("the input is not UTF-8 text; share binary data base64-encoded")
    if text.endswith("\r\n"):
        return text[:-2]
    return text.removesuffix("\n")


def share(
    ctx: typer.Context,
    secret: Annotated[
        str | None,
        typer.Option(
            "--secret",
            help="The secret as an argument. Avoid it: arguments land in shell history.",
        ),
    ] = None,
    ttl: Ttl = None,
    passphrase: Passphrase = None,
    passphrase_prompt: PassphrasePrompt = False,
    recipient: Recipient = None,
    json_out: JsonOut = False,
    url: Url = DEFAULT_URL,
    user: User = None,
    token: Token = None,
) -> None:
    """Share a secret and print its share link and receipt link.

    The secret is read from stdin when it is piped (one trailing newline is dropped), else
    asked for with hidden input. --secret takes it from the command line instead, where shell
    history keeps it. Example: onetime share --ttl 3600 < note.txt
    """
    api = _connect(ctx, url, user, token)
    _one_passphrase_source(passphrase, passphrase_prompt)
    content = _read_secret(secret)
    phrase = _passphrase(passphrase, passphrase_prompt, confirm=True)
    if not content:
        _fail("nothing to share: the secret is empty")
    with api, _reporting():
        data = api.conceal(content, ttl=ttl, passphrase=phrase, recipients=recipient)
        if json_out:
            display.print_json(data)
        else:
            display.print_fields(display.creation_rows(api.base_url, data))


def reveal(
    ctx: typer.Context,
    key_or_link: KeyOrLink,
    passphrase: Passphrase = None,
    passphrase_prompt: PassphrasePrompt = False,
    url: Url = DEFAULT_URL,
    user: User = None,
    token: Token = None,
) -> None:
    """Reveal a secret (it is gone afterwards) and print only its value.

    KEY_OR_LINK is a share link or its key; a link's server is used unless --url is given.
    Example: onetime reveal https://host/secret/KEY > value.txt
    """
    key, link_base = _target(key_or_link, "secret")
    api = _connect(ctx, url, user, token, link_base)
    phrase = _passphrase(passphrase, passphrase_prompt)
    with api, _reporting(not_found=NOT_AVAILABLE, asked_passphrase=phrase is not None):
        try:
            data = api.reveal(key, phrase)
        except ApiError as error:
            # Interactive and the secret turns out to need a passphrase: ask once, nothing is lost.
            if (
                error.error_type != "wrong_passphrase"
                or phrase is not None
                or not sys.stdin.isatty()
            ):
                raise
            phrase = _passphrase(None, True)
            data = api.reveal(key, phrase)
    value = display.part(data, "record").get("secret_value")
    if not isinstance(value, str):
        _fail("the server's answer has no secret value")
    display.write_value(value)


def receipt(
    ctx: typer.Context,
    key_or_link: KeyOrLink,
    json_out: JsonOut = False,
    url: Url = DEFAULT_URL,
    user: User = None,
    token: Token = None,
) -> None:
    """Show a receipt: whether the secret was read, and its link while it is unread.

    KEY_OR_LINK is a receipt link or its key.
    """
    key, link_base = _target(key_or_link, "receipt")
    api = _connect(ctx, url, user, token, link_base)
    with api, _reporting():
        data = api.receipt(key)
        if json_out:
            display.print_json(data)
        else:
            display.print_fields(display.receipt_rows(api.base_url, data))


def burn(
    ctx: typer.Context,
    key_or_link: KeyOrLink,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    passphrase: Passphrase = None,
    passphrase_prompt: PassphrasePrompt = False,
    json_out: JsonOut = False,
    url: Url = DEFAULT_URL,
    user: User = None,
    token: Token = None,
) -> None:
    """Burn the unread secret behind a receipt, so nobody can read it."""
    key, link_base = _target(key_or_link, "receipt")
    api = _connect(ctx, url, user, token, link_base)
    phrase = _passphrase(passphrase, passphrase_prompt)
    if not yes:
        typer.confirm(
            f"Burn the secret of receipt {key[:8]}? Nobody can read it afterwards.",
            abort=True,
            err=True,
        )
    with api, _reporting(asked_passphrase=phrase is not None):
        data = api.burn(key, phrase)
    # v2 answers {"record": receipt}; v1 answers {"state": receipt}.
    state = display.text(display.part(data, "record", "state").get("state"))
    if json_out:
        display.print_json(data)
    elif state == "burned":
        typer.echo(f"Burned: the secret of receipt {key[:8]} can no longer be read.")
    if state != "burned":
        _fail(f"nothing was burned: the secret is {display.state_words(state)}")


def generate(
    ctx: typer.Context,
    length: Annotated[
        int | None, typer.Option("--length", min=1, help="Password length (server default: 12).")
    ] = None,
    symbols: Annotated[
        bool | None,
        typer.Option("--symbols/--no-symbols", help="Include symbols (server default: no)."),
    ] = None,
    ttl: Ttl = None,
    passphrase: Passphrase = None,
    passphrase_prompt: PassphrasePrompt = False,
    recipient: Recipient = None,
    json_out: JsonOut = False,
    url: Url = DEFAULT_URL,
    user: User = None,
    token: Token = None,
) -> None:
    """Have the server generate a password; print it (this once) and its links."""
    api = _connect(ctx, url, user, token)
    phrase = _passphrase(passphrase, passphrase_prompt, confirm=True)
    with api, _reporting():
        data = api.generate(
            length=length, ttl=ttl, passphrase=phrase, recipients=recipient, symbols=symbols
        )
        if json_out:
            display.print_json(data)
        else:
            rows = display.creation_rows(api.base_url, data)
            display.print_fields([("Password", display.generated_value(data)), *rows])


def status(
    ctx: typer.Context,
    json_out: JsonOut = False,
    url: Url = DEFAULT_URL,
    user: User = None,
    token: Token = None,
) -> None:
    """Check that the server answers and is nominal (and that credentials work, when given)."""
    api = _connect(ctx, url, user, token)
    version: dict[str, Any] | None = None
    with api, _reporting():
        answer = api.status()
        health_code, health = api.health()
        if user is not None:
            version = api.version()
    nominal = answer.get("status") == "nominal"
    healthy = health_code == 200 or health_code == 404  # 404: the server offers no /health
    if json_out:
        display.print_json(
            {"status": answer, "health": {"status_code": health_code, "body": health}}
        )
    else:
        rows = [("Server", api.base_url), ("Status", str(answer.get("status", "unknown")))]
        health_words = {200: "ok", 404: "not offered"}.get(
            health_code, f"failing (HTTP {health_code})"
        )
        rows.append(("Health", health_words))
        if version is not None:
            numbers = version.get("version")
            shown = ".".join(str(n) for n in numbers) if isinstance(numbers, list) else "?"
            rows.append(("Account", f"{user} (server version {shown})"))
        display.print_fields(rows)
    if not (nominal and healthy):
        _fail(f"{api.base_url} is not nominal")


def register(app: typer.Typer) -> None:
    """Add the client commands to `app`."""
    for command in (share, reveal, receipt, burn, generate, status):
        app.command(command.__name__)(command)
