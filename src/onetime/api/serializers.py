"""The JSON shapes of Onetime Secret's v1 and v2 APIs, built from the service's views."""

from __future__ import annotations

from typing import Any

from onetime.core.policy import natural_duration
from onetime.core.records import ReceiptState
from onetime.core.views import ANONYMOUS, Caller, Created, ReceiptView, SecretView

# v1 speaks older words for two states.
V1_STATES = {
    ReceiptState.NEW: "new",
    ReceiptState.PREVIEWED: "viewed",
    ReceiptState.REVEALED: "received",
    ReceiptState.BURNED: "burned",
    ReceiptState.EXPIRED: "expired",
    ReceiptState.ORPHANED: "orphaned",
}


def share_base(view: ReceiptView, base_url: str) -> str:
    """Links go to the receipt's share domain when it has one."""
    return f"https://{view.share_domain}" if view.share_domain else base_url


def v1_custid(view: ReceiptView, caller: Caller) -> str:
    """v1's `custid`: the owner's email when the owner asks, "anon" for anonymous receipts.

    Only the account id is stored with a receipt, so anyone else is shown that (as v2's
    `owner_id` shows it), never the owner's address.
    """
    if view.owner_id is None:
        return "anon"
    if view.owner_id == caller.account_id and caller.email:
        return caller.email
    return view.owner_id


def v1_receipt(
    view: ReceiptView, base_url: str, caller: Caller = ANONYMOUS, listed: bool = False
) -> dict[str, Any]:
    """The v1 receipt ("metadata") hash; in a list (`listed`) without the secret's key."""
    receipt_url = f"{base_url}/receipt/{view.key}"
    state = V1_STATES[view.state]
    body: dict[str, Any] = {
        "custid": v1_custid(view, caller),
        "metadata_key": view.key,
        "secret_key": view.secret_key,
        "ttl": view.ttl,
        "metadata_ttl": view.remaining,
        "secret_ttl": view.secret_remaining,
        "metadata_url": receipt_url,
        "state": state,
        "updated": view.updated,
        "created": view.created,
        "recipient": list(view.recipients),
        "share_domain": view.share_domain,
        "passphrase_required": view.has_passphrase,
        "identifier": view.key,
        "secret_identifier": view.secret_key,
        "has_passphrase": view.has_passphrase,
        "recipients": list(view.recipients),
        "receipt_ttl": view.remaining,
        "receipt_url": receipt_url,
    }
    if view.secret_key is None or listed:
        del body["secret_key"], body["secret_identifier"]
    if state == "received":
        del body["secret_ttl"]
        body["received"] = view.revealed
    return body


def delivery(created: Created) -> dict[str, Any] | None:
    """How the email to the recipients went, when there were any (v2 `details.delivery`)."""
    if created.delivery_problem is not None:
        return {"sent": False, "problem": created.delivery_problem}
    if created.receipt.recipients:
        return {"sent": True}
    return None


def _flags(view: ReceiptView) -> dict[str, bool]:
    state = view.state
    return {
        "is_previewed": view.previewed is not None,
        "is_viewed": view.previewed is not None,
        "is_received": state is ReceiptState.REVEALED,
        "is_revealed": state is ReceiptState.REVEALED,
        "is_burned": state is ReceiptState.BURNED,
        "is_expired": state is ReceiptState.EXPIRED,
        "is_orphaned": state is ReceiptState.ORPHANED,
        "is_destroyed": not view.is_live,
    }


def v2_receipt(view: ReceiptView) -> dict[str, Any]:
    """The v2 receipt object (create answers, recent lists)."""
    return {
        "identifier": view.key,
        "key": view.key,
        "shortid": view.shortid,
        "owner_id": view.owner_id,
        "kind": view.kind.value,
        "secret_identifier": view.secret_key,
        "secret_shortid": view.secret_shortid,
        "state": view.state.value,
        "secret_ttl": view.secret_remaining,
        "metadata_ttl": view.remaining,
        "receipt_ttl": view.remaining,
        "lifespan": view.ttl,
        "share_domain": view.share_domain or None,
        "created": view.created,
        "updated": view.updated,
        "shared": view.created,
        "previewed": view.previewed,
        "viewed": view.previewed,
        "revealed": view.revealed,
        "received": view.revealed,
        "burned": view.burned,
        "recipients": list(view.recipients),
        "memo": view.memo,
        "has_passphrase": view.has_passphrase,
        **_flags(view),
    }


def v2_receipt_view(view: ReceiptView, base_url: str) -> dict[str, Any]:
    """The v2 receipt object with the links and words a receipt page needs."""
    body = v2_receipt(view)
    share_path = f"/secret/{view.secret_key}" if view.secret_key else None
    receipt_path = f"/receipt/{view.key}"
    burn_path = f"/api/v2/receipt/{view.key}/burn"
    base = share_base(view, base_url)
    body.update(
        secret_state=("new" if view.previewed is None else "previewed")
        if view.secret_key
        else None,
        natural_expiration=natural_duration(view.ttl),
        expiration=view.secret_expires_at,
        expiration_in_seconds=view.secret_remaining,
        share_path=share_path,
        burn_path=burn_path,
        receipt_path=receipt_path,
        share_url=f"{base}{share_path}" if share_path else None,
        receipt_url=f"{base_url}{receipt_path}",
        burn_url=f"{base_url}{burn_path}",
    )
    return body


def v2_secret(view: SecretView) -> dict[str, Any]:
    """The v2 secret object; `secret_value` only after a reveal."""
    body: dict[str, Any] = {
        "identifier": view.key,
        "key": view.key,
        "shortid": view.shortid,
        "state": view.state,
        "lifespan": view.expires_at - view.created,
        "secret_ttl": view.remaining,
        "has_passphrase": view.has_passphrase,
        "created": view.created,
        "updated": view.updated,
        "is_previewed": view.state in ("previewed", "revealed"),
        "is_viewed": view.state in ("previewed", "revealed"),
        "is_revealed": view.state == "revealed",
        "is_received": view.state == "revealed",
    }
    if view.value is not None:
        body["secret_value"] = view.value
    return body


def reveal_details(view: SecretView, shown: bool) -> dict[str, Any]:
    """The `details` of a v2 secret answer."""
    value = view.value or ""
    return {
        "continue": shown,
        "is_owner": False,
        "show_secret": shown,
        "correct_passphrase": shown,
        "display_lines": min(20, value.count("\n") + 2) if shown else 0,
        "one_liner": ("\n" not in value) if shown else None,
    }
