"""`onetime store copy`: move live secrets, receipts and account items, with their remaining
lifetimes, to another store.

Records are copied as they are stored (ciphertext and hashes), so the target needs the same
server secret to serve them; nothing is decrypted on the way. Running it twice is harmless: a
receipt already in the target is left alone with its secret, so a secret read or burned on the
target since the first run does not come back, and an account item (account, session, link,
list entry) the target already has is kept as the target has it (a password changed there stays
changed).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from onetime.cli.failures import one_line_failures
from onetime.core.clock import SystemClock
from onetime.core.records import ITEM_KINDS
from onetime.store import open_store
from onetime.store.base import Store

store_app = typer.Typer(help="Manage stores.", no_args_is_help=True)
_console = Console(stderr=True)


@dataclass
class CopyReport:
    """What a copy moved."""

    receipts: int = 0
    secrets: int = 0
    skipped: int = 0  # receipts the target already had
    items: int = 0  # account items of every kind


async def copy_records(
    source: Store, target: Store, now: int, progress: Progress | None = None
) -> CopyReport:
    """Copy every live receipt and secret, then every live item, from `source` to `target`."""
    report = CopyReport()
    total = await source.count_receipts(now)
    task = progress.add_task("copying", total=total) if progress else None
    async for receipt, secret in source.export(now):
        if await target.get_receipt(receipt.rid, now) is not None:
            # Copied before: the target's state wins (its secret may have been read since).
            report.skipped += 1
        else:
            await target.create(secret, receipt, now)
            report.receipts += 1
            report.secrets += secret is not None
        if progress is not None and task is not None:
            progress.advance(task)
    # Stores cannot count items cheaply, so this part of the bar has no end to show.
    item_task = progress.add_task("copying items", total=None) if progress else None
    for kind in ITEM_KINDS:
        async for item in source.items(kind, now):
            # The target's version wins, as for receipts: it may have changed since.
            if await target.put_item(item, now, only_if_absent=True):
                report.items += 1
            if progress is not None and item_task is not None:
                progress.advance(item_task)
    if progress is not None and item_task is not None:
        progress.update(item_task, total=report.items)
    return report


async def _copy(from_url: str, to_url: str, quiet: bool) -> CopyReport:
    source, target = open_store(from_url), open_store(to_url)
    await source.open()
    try:
        await target.open()
        try:
            columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
            )
            with Progress(*columns, console=_console, disable=quiet) as progress:
                return await copy_records(source, target, SystemClock().now(), progress)
        finally:
            await target.close()
    finally:
        await source.close()


@store_app.command("copy")
def copy(
    from_url: Annotated[
        str, typer.Option("--from", help="The store to read, e.g. sqlite:///data/onetime.sqlite3")
    ],
    to_url: Annotated[
        str, typer.Option("--to", help="The store to write, e.g. redis://127.0.0.1:6379/0")
    ],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Copy live secrets, receipts and account items (with their remaining lifetimes) to another store."""
    if from_url == to_url:
        typer.echo("onetime: --from and --to name the same store", err=True)
        raise typer.Exit(2)
    with one_line_failures():
        report = asyncio.run(_copy(from_url, to_url, quiet))
    skipped = f"; {report.skipped} receipts were there already" if report.skipped else ""
    typer.echo(
        f"copied {report.receipts} receipts, {report.secrets} unread secrets"
        f" and {report.items} account items{skipped}"
    )
