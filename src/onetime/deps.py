"""Request dependencies as named aliases, so routes read as what they need."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from onetime.context import AppContext
from onetime.core.service import SecretService
from onetime.settings import Settings


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


def get_service(request: Request) -> SecretService:
    return get_context(request).service


def get_settings(request: Request) -> Settings:
    return get_context(request).settings


def get_client_tag(request: Request) -> str:
    """A keyed hash of the caller's address: rate limits use it; the address itself is not kept."""
    address = request.client.host if request.client else "unknown"
    return get_context(request).keyring.client_tag(address)


Context = Annotated[AppContext, Depends(get_context)]
Service = Annotated[SecretService, Depends(get_service)]
CurrentSettings = Annotated[Settings, Depends(get_settings)]
ClientTag = Annotated[str, Depends(get_client_tag)]
