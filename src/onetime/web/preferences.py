"""Choices a visitor makes on purpose (language, theme), and the site's branding assets.

Nobody gets a cookie for browsing: the two cookies here are set only when a visitor picks a
language or a theme, and picking "system" removes the theme cookie again.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, RedirectResponse, Response

from onetime.deps import CurrentSettings
from onetime.web import i18n
from onetime.web.forms import read_form
from onetime.web.render import THEME_COOKIE, THEMES

router = APIRouter(include_in_schema=False)
_YEAR = 365 * 24 * 3600


def safe_next(value: str | None) -> str:
    """Only paths on this site: "/secret/…" yes, "//evil.example" or "https://…" no."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


@router.post("/preferences")
async def set_preferences(request: Request, settings: CurrentSettings) -> Response:
    form = await read_form(request)
    response = RedirectResponse(safe_next(form.get("next")), status_code=303)
    cookie = {"max_age": _YEAR, "httponly": True, "samesite": "lax", "secure": settings.ssl}
    language = form.get("lang")
    if language in i18n.LOCALES:
        response.set_cookie(i18n.LANG_COOKIE, language, **cookie)  # type: ignore[arg-type]
    theme = form.get("theme")
    if theme in THEMES:
        response.set_cookie(THEME_COOKIE, theme, **cookie)  # type: ignore[arg-type]
    elif theme == "system":
        response.delete_cookie(THEME_COOKIE, samesite="lax", secure=settings.ssl, httponly=True)
    return response


@router.get("/brand.css")
async def brand_stylesheet(settings: CurrentSettings) -> Response:
    """The operator's colour, as a stylesheet (the CSP allows no inline styles)."""
    css = f":root {{ --brand: {settings.primary_color}; }}\n"
    return Response(css, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})


@router.get("/brand/logo")
async def brand_logo(settings: CurrentSettings) -> Response:
    if settings.logo_path is None:
        return Response(status_code=404)
    media_type = "image/svg+xml" if settings.logo_path.suffix.lower() == ".svg" else "image/png"
    return FileResponse(
        settings.logo_path, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"}
    )
