"""Client commands that speak the HTTP API of any Onetime Secret compatible server."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the client commands to `app`."""
