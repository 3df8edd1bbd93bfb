"""The `onetime` command: `serve` runs the service; the other commands talk to any OTS server."""

from __future__ import annotations

import typer

from onetime.cli import client, serve
from onetime.cli.store_copy import store_app

app = typer.Typer(
    name="onetime",
    help="Share secrets through links that work once.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def root() -> None:
    """Share secrets through links that work once."""


app.command("serve")(serve.serve)
app.add_typer(store_app, name="store")
client.register(app)


def main() -> None:
    """Entry point of the `onetime` script."""
    app()
