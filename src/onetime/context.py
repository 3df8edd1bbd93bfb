"""What a running app holds: settings, store, service. Built by `create_app`, opened in its lifespan."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from onetime.core.accounts import AccountService
from onetime.core.crypto import Keyring
from onetime.core.service import SecretService
from onetime.settings import Settings
from onetime.store.base import Store


@dataclass(frozen=True, slots=True)
class AppContext:
    """The app's long-lived parts."""

    settings: Settings
    store: Store
    keyring: Keyring
    service: SecretService
    accounts: AccountService
    # Mail sent after a request has answered ("your secret was read"); kept to be awaited.
    background: set[asyncio.Task[None]] = field(default_factory=set)

    def notify_read(self, rid: bytes, read_at: int) -> None:
        """Start the read notification without holding up the reveal that caused it."""
        task = asyncio.get_running_loop().create_task(self._notify(rid, read_at))
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def _notify(self, rid: bytes, read_at: int) -> None:
        try:
            await self.accounts.notify_read(rid, read_at)
        except Exception as error:  # a notification must never break anything else
            logging.getLogger("onetime.accounts").warning(
                "read notification failed: %s", type(error).__name__
            )
