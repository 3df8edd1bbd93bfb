"""Choices a visitor makes on purpose (language, theme), and the site's branding assets.

Nobody gets a cookie for browsing: the two cookies here are set only when a visitor picks a
language or a theme, and picking "system" removes the theme cookie again.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, RedirectResponse, Response

from onetime.deps import CurrentSettings
from onetime.web import i18n
from onetime.web.render import THEME_COOKIE, THEMES
from onetime.web.session import checked_form

router = APIRouter(include_in_schema=False)
_YEAR = 365 * 24 * 3600


def safe_next(value: str | None) -> str:
    """Only paths on this site: "/secret/…" yes, "//evil.example" or "https://…" no.

    Browsers drop tabs and newlines from URLs and read a backslash as a slash, so "/\t/evil"
    and "/\\evil" would leave the site too: any control character or backslash is refused.
    """
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value) or len(value) > 2000:
        return "/"
    return value


@router.post("/preferences")
async def set_preferences(request: Request, settings: CurrentSettings) -> Response:
    form = await checked_form(request)
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


# The page backgrounds of static/style.css (light: --bg and --card; dark: --bg and --card).
_LIGHT_BACKGROUNDS = ("#f6f7f8", "#ffffff")
_DARK_BACKGROUNDS = ("#14161a", "#1d2025")
_AA = 4.6  # WCAG AA asks 4.5:1 for text; a little margin for rounding


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _luminance(color: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in _rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """The WCAG contrast ratio of two colours, from 1 to 21."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _mix(color: str, toward: str, share: float) -> str:
    mixed = (round(c + (t - c) * share) for c, t in zip(_rgb(color), _rgb(toward), strict=True))
    return "#" + "".join(f"{value:02x}" for value in mixed)


def readable(color: str, backgrounds: tuple[str, ...]) -> str:
    """The colour, darkened or lightened just enough to read as text on every background."""
    toward = "#000000" if _luminance(backgrounds[0]) > 0.5 else "#ffffff"
    for step in range(21):
        candidate = _mix(color, toward, step / 20)
        if all(contrast(candidate, background) >= _AA for background in backgrounds):
            return candidate
    return toward


def ink(color: str) -> str:
    """Black or white, whichever reads better on the colour (at least 4.58:1 either way)."""
    return "#000000" if contrast(color, "#000000") >= contrast(color, "#ffffff") else "#ffffff"


def brand_css(primary: str) -> str:
    """The operator's colour and the shades of it that keep text readable in both themes."""
    primary = primary.lower()
    on_light = readable(primary, _LIGHT_BACKGROUNDS)
    on_dark = readable(primary, _DARK_BACKGROUNDS)
    return (
        ":root {\n"
        f"  --brand: {primary};\n"
        f"  --brand-light: {on_light};\n"
        f"  --brand-light-ink: {ink(on_light)};\n"
        f"  --brand-dark: {on_dark};\n"
        f"  --brand-dark-ink: {ink(on_dark)};\n"
        "}\n"
    )


@router.get("/brand.css")
async def brand_stylesheet(settings: CurrentSettings) -> Response:
    """The operator's colour, as a stylesheet (the CSP allows no inline styles)."""
    return Response(
        brand_css(settings.primary_color),
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get("/brand/logo")
async def brand_logo(settings: CurrentSettings) -> Response:
    if settings.logo_path is None:
        return Response(status_code=404)
    media_type = "image/svg+xml" if settings.logo_path.suffix.lower() == ".svg" else "image/png"
    return FileResponse(
        settings.logo_path, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"}
    )
