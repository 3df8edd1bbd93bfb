"""`onetime admin`: look after accounts and count what the store holds, on the configured store.

The commands read the same settings as `onetime serve` (ONETIME_* variables, ONETIME_CONFIG),
so they act on the store the service uses. They show what an operator needs to run the service
and nothing more: never password data, tokens, keys or the content of a secret.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from onetime.cli.failures import one_line_failures
from onetime.context import AppContext
from onetime.core.account_records import Account
from onetime.core.errors import InvalidInput
from onetime.settings import Settings, load_settings

T = TypeVar("T")

admin_app = typer.Typer(
    help="Operator tools: accounts and counts, on the configured store.", no_args_is_help=True
)
user_app = typer.Typer(
    help="List, inspect, suspend, delete accounts; set plans.", no_args_is_help=True
)
admin_app.add_typer(user_app, name="user")

WhoArgument = Annotated[str, typer.Argument(metavar="EMAIL_OR_ID", help="An email address or id.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


class AdminFailure(Exception):
    """Something the operator asked for cannot be done; the message says why (exit status 1)."""


@admin_app.callback()
def admin(
    config: Annotated[Path | None, typer.Option(help="A TOML configuration file.")] = None,
) -> None:
    """Operator tools: accounts and counts, on the configured store."""
    if config is not None:
        os.environ["ONETIME_CONFIG"] = str(config)


# -- running against the store -------------------------------------------------------------------


def _run(work: Callable[[AppContext], Awaitable[T]]) -> T:
    """Load the settings, open the store, run `work`, close the store; errors as one line."""
    try:
        with one_line_failures():
            return asyncio.run(_with_store(load_settings(), work))
    except AdminFailure as error:
        typer.echo(f"onetime: {error}", err=True)
        raise typer.Exit(1) from None


async def _with_store(settings: Settings, work: Callable[[AppContext], Awaitable[T]]) -> T:
    from onetime.app import build_context  # the web app's imports only when a command runs

    context = build_context(settings)
    await context.store.open()
    try:
        return await work(context)
    finally:
        await context.store.close()


async def _find(context: AppContext, who: str) -> Account:
    account = await context.accounts.lookup(who.strip())
    if account is None:
        raise AdminFailure(f"no account has the email address or id {who!r}")
    return account


# -- showing accounts -----------------------------------------------------------------------------


def _date(epoch: int | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).date().isoformat()


def _summary(account: Account) -> dict[str, Any]:
    """What the operator sees of an account: no password data, no token, no key."""
    return {
        "id": account.id,
        "email": account.email,
        "plan": account.plan,
        "verified": account.verified,
        "suspended": account.suspended,
        "created": _date(account.created),
        "api_token": account.has_api_token,
    }


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2))


def _describe(account: Account) -> str:
    return f"{account.email} ({account.id})"


@user_app.command("list")
def list_users(as_json: JsonOption = False) -> None:
    """List every account: id, email, plan, verified, suspended, created, API token."""

    async def work(context: AppContext) -> list[Account]:
        accounts = await context.accounts.all_accounts()
        return sorted(accounts, key=lambda account: (account.created, account.email))

    rows = [_summary(account) for account in _run(work)]
    if as_json:
        _print_json(rows)
        return
    if not rows:
        typer.echo("no accounts")
        return
    table = Table(
        *("id", "email", "plan", "verified", "suspended", "created", "token"),
        box=None,
        pad_edge=False,
        padding=(0, 1),
    )
    # Only addresses wrap (folded, never cut short): operators copy them into commands.
    for column in table.columns:
        column.no_wrap = column.header != "email"
    table.columns[1].overflow = "fold"
    for row in rows:
        table.add_row(
            row["id"],
            row["email"],
            row["plan"],
            _yes_no(row["verified"]),
            _yes_no(row["suspended"]),
            row["created"],
            _yes_no(row["api_token"]),
        )
    console = Console()
    if not console.is_terminal:  # piped or redirected: whole rows, one line each
        console = Console(width=1000)
    console.print(table)
    typer.echo(f"{len(rows)} account(s); dates are UTC; token: has an API token")


@user_app.command("show")
def show_user(who: WhoArgument, as_json: JsonOption = False) -> None:
    """Show one account, with how many live sessions and recent-list entries it has."""

    async def work(context: AppContext) -> dict[str, Any]:
        account = await _find(context, who)
        now = context.accounts.clock.now()
        sessions = await context.store.owned_items(account.id, "session", now)
        recent = await context.store.owned_items(account.id, "recent", now)
        return {
            **_summary(account),
            "updated": _date(account.updated),
            "api_token_created": _date(account.token_created),
            "sessions": len(sessions),
            "recent": len(recent),
        }

    data = _run(work)
    if as_json:
        _print_json(data)
        return
    labels = {
        "id": "id",
        "email": "email",
        "plan": "plan",
        "verified": "verified",
        "suspended": "suspended",
        "created": "created (UTC)",
        "updated": "updated (UTC)",
        "api_token": "API token",
        "api_token_created": "API token made (UTC)",
        "sessions": "live sessions",
        "recent": "recent-list entries",
    }
    for key, label in labels.items():
        value = data[key]
        text = _yes_no(value) if isinstance(value, bool) else ("-" if value is None else value)
        typer.echo(f"{label}: {text}")


# -- changing accounts ----------------------------------------------------------------------------


@user_app.command("suspend")
def suspend_user(who: WhoArgument) -> None:
    """Suspend an account: it cannot sign in or use its API token; its sessions end."""

    async def work(context: AppContext) -> str:
        account = await _find(context, who)
        now = context.accounts.clock.now()
        sessions = len(await context.store.owned_items(account.id, "session", now))
        await context.accounts.set_suspended(account, True)
        already = " (it was suspended already)" if account.suspended else ""
        return f"suspended {_describe(account)}{already}; ended {sessions} session(s)"

    typer.echo(_run(work))


@user_app.command("unsuspend")
def unsuspend_user(who: WhoArgument) -> None:
    """Lift a suspension: the account can sign in and use its API token again."""

    async def work(context: AppContext) -> str:
        account = await _find(context, who)
        if not account.suspended:
            return f"{_describe(account)} is not suspended"
        await context.accounts.set_suspended(account, False)
        return f"unsuspended {_describe(account)}"

    typer.echo(_run(work))


@user_app.command("plan")
def set_user_plan(
    who: WhoArgument,
    plan: Annotated[str, typer.Argument(help="The plan's name, e.g. free or paid.")],
) -> None:
    """Put an account on a plan (plans come from the configuration)."""

    async def work(context: AppContext) -> str:
        account = await _find(context, who)
        try:
            await context.accounts.set_plan(account, plan.strip())
        except InvalidInput as error:
            raise AdminFailure(error.message) from None
        return f"{_describe(account)} is on the {plan.strip()} plan (was {account.plan})"

    typer.echo(_run(work))


@user_app.command("delete")
def delete_user(
    who: WhoArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete an account and everything of it: secrets, receipts, sessions, links, recent list."""

    async def work(context: AppContext) -> str:
        account = await _find(context, who)
        now = context.accounts.clock.now()
        recent = len(await context.store.owned_items(account.id, "recent", now))
        if not yes:  # declining aborts, as `onetime burn` does (exit status 1)
            typer.confirm(
                f"Delete {_describe(account)}, its {recent} recent secret(s) and everything "
                "else of it? This cannot be undone.",
                abort=True,
                err=True,
            )
        removed = await context.accounts.erase(account.id)
        return (
            f"deleted {_describe(account)}: {removed} stored record(s) of the account, "
            f"with the secrets and receipts of its {recent} recent-list entries"
        )

    typer.echo(_run(work))


# -- counting -------------------------------------------------------------------------------------


@admin_app.command("stats")
def stats(as_json: JsonOption = False) -> None:
    """Count accounts, live receipts and live sessions (counts only, never content)."""

    async def work(context: AppContext) -> dict[str, Any]:
        now = context.accounts.clock.now()
        accounts = await context.accounts.all_accounts()
        sessions = 0
        async for _item in context.store.items("session", now):
            sessions += 1
        plans = Counter(dict.fromkeys(context.accounts.plans.account_names, 0))
        plans.update(account.plan for account in accounts)
        return {
            "accounts": {
                "total": len(accounts),
                "verified": sum(account.verified for account in accounts),
                "suspended": sum(account.suspended for account in accounts),
                "with_api_token": sum(account.has_api_token for account in accounts),
                "per_plan": dict(sorted(plans.items())),
            },
            "receipts": await context.store.count_receipts(now),
            "sessions": sessions,
        }

    data = _run(work)
    if as_json:
        _print_json(data)
        return
    accounts = data["accounts"]
    typer.echo(f"accounts: {accounts['total']}")
    typer.echo(f"  verified: {accounts['verified']}")
    typer.echo(f"  suspended: {accounts['suspended']}")
    typer.echo(f"  with an API token: {accounts['with_api_token']}")
    for plan, count in accounts["per_plan"].items():
        typer.echo(f"  on plan {plan}: {count}")
    typer.echo(f"live receipts: {data['receipts']}")
    typer.echo(f"live sessions: {data['sessions']}")
