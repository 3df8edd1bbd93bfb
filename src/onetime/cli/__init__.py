"""The `onetime` command: `serve` runs the service, `admin` and `store` look after it; the other
commands talk to any OTS server."""

from __future__ import annotations

import typer

from onetime.cli import client, serve
from onetime.cli.admin import admin_app
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
app.add_typer(admin_app, name="admin")
client.register(app)


def main() -> None:
    """Entry point of the `onetime` script."""
    app()
