"""Reading the forms our pages post."""

from __future__ import annotations

from fastapi import Request

from onetime.core.errors import N_, InvalidInput

_MAX_FIELDS = 20


async def read_form(request: Request) -> dict[str, str]:
    """The text fields of a posted form. Our forms send no files, so none are accepted."""
    try:
        form = await request.form(max_files=0, max_fields=_MAX_FIELDS)
    except Exception:
        raise InvalidInput(N_("The form could not be read. Please try again.")) from None
    try:
        return {k: v for k, v in form.items() if isinstance(v, str)}
    finally:
        await form.close()
