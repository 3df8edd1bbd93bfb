"""How operator commands fail: one line on stderr, never a traceback, and an exit code that says
whose the problem is (2: the configuration; 1: the store, or what was asked)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from onetime.core.errors import StoreUnavailable
from onetime.settings import SettingsError
from onetime.store import StoreURLError


@contextmanager
def one_line_failures() -> Iterator[None]:
    try:
        yield
    except (SettingsError, StoreURLError) as error:
        typer.echo(f"onetime: {error}", err=True)
        raise typer.Exit(2) from None
    except StoreUnavailable as error:
        typer.echo(f"onetime: {error.message}", err=True)
        raise typer.Exit(1) from None
