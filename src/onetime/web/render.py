"""Rendering pages: one Jinja2 environment with our catalogs, and the one error page.

Every page is rendered in the language `i18n.negotiate` picks, with the visitor's explicit
theme choice (if any) and the site's branding available to templates.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from markupsafe import Markup
from starlette.responses import HTMLResponse, Response
from starlette.templating import Jinja2Templates

from onetime.core.errors import N_
from onetime.http.errors import Problem
from onetime.web import i18n
from onetime.web.session import form_token

TEMPLATE_DIR = Path(__file__).parent / "templates"
THEME_COOKIE = "theme"
THEMES = ("light", "dark")
_TITLES = {
    404: N_("Nothing here"),
    405: N_("Not allowed"),
    413: N_("Too large"),
    422: N_("Please check your input"),
    429: N_("Please wait a moment"),
    503: N_("Temporarily unavailable"),
}
_DEFAULT_TITLE = N_("Something went wrong")
_TOO_LARGE = N_("What you sent is larger than the limit of {limit} bytes.")


@cache
def templates() -> Jinja2Templates:
    """The template set with gettext wired to the request's language, made once per process."""
    environment = i18n.translating_environment(TEMPLATE_DIR, autoescape=True)
    environment.globals.update(
        wait_duration=i18n.wait_duration,
        time_tag=time_tag,
        languages=i18n.languages,
        translate_error=i18n.translate_error,
    )
    return Jinja2Templates(env=environment)


def time_tag(timestamp: int) -> Markup:
    """A <time> element in words (UTC); the page's script shows it in the reader's own zone."""
    when = datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")
    return Markup('<time datetime="{}" data-local>{} UTC</time>').format(
        when, i18n.moment(timestamp)
    )


def request_locale(request: Request) -> str:
    return i18n.negotiate(
        request.cookies.get(i18n.LANG_COOKIE), request.headers.get("accept-language")
    )


def render(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
    """Render a template in the request's language; `site`, `locale` and `theme` are available."""
    locale = request_locale(request)
    i18n.use_locale(locale)
    theme = request.cookies.get(THEME_COOKIE)
    signed_in = getattr(request.state, "signed_in", None)
    context = {
        "signed_in": signed_in,
        "csrf_token": form_token(signed_in) if signed_in is not None else "",
        "site": request.app.state.context.settings,
        "locale": locale,
        "html_lang": locale.replace("_", "-"),
        "theme": theme if theme in THEMES else None,
        "current_path": request.url.path,
        **values,
    }
    response = templates().TemplateResponse(request, name, context, status_code=status)
    # The same address answers in several languages and themes: caches must keep them apart.
    response.headers["Vary"] = "Accept-Language, Cookie"
    response.headers["Content-Language"] = context["html_lang"]
    return response


def render_problem_page(request: Request, problem: Problem) -> Response:
    """The page for any error on the HTML side: a title, the message, and no internals."""
    i18n.use_locale(request_locale(request))
    title = i18n.gettext_(_TITLES.get(problem.status, _DEFAULT_TITLE))
    if problem.status == 413 and not problem.template:
        # Refused before the app read it: say the limit in the reader's own number format.
        limit = request.app.state.context.settings.max_request_bytes
        message = i18n.translate_error(_TOO_LARGE, {"limit": i18n.number(limit)})
    else:
        message = i18n.translate_error(problem.text_template, problem.params)
    # The switches on an error page lead back to the start: the address may hold a key.
    response = render(
        request,
        "error.html",
        problem.status,
        title=title,
        problem=problem,
        message=message,
        current_path="/",
    )
    if problem.retry_after:
        response.headers["Retry-After"] = str(problem.retry_after)
    return response
