"""What a running app holds: settings, store, service. Built by `create_app`, opened in its lifespan."""

from __future__ import annotations

from dataclasses import dataclass

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
