"""Rendering pages: one Jinja2 environment, and the error page every HTML error goes through."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from starlette.responses import HTMLResponse, Response
from starlette.templating import Jinja2Templates

from onetime.http.errors import Problem

TEMPLATE_DIR = Path(__file__).parent / "templates"
_TITLES = {
    404: "Nothing here",
    405: "Not allowed",
    413: "Too large",
    422: "Please check your input",
    429: "Please wait a moment",
    503: "Temporarily unavailable",
}


@cache
def templates() -> Jinja2Templates:
    """The template set, made once per process on first use."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True, auto_reload=False
    )
    return Jinja2Templates(env=environment)


def render(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
    """Render a template with the site's settings available as `site`."""
    context = {"site": request.app.state.context.settings, **values}
    return templates().TemplateResponse(request, name, context, status_code=status)


def render_problem_page(request: Request, problem: Problem) -> Response:
    """The page for any error on the HTML side: a title, the message, and no internals."""
    headers = {"Retry-After": str(problem.retry_after)} if problem.retry_after else None
    title = _TITLES.get(problem.status, "Something went wrong")
    response = render(request, "error.html", problem.status, title=title, problem=problem)
    if headers:
        response.headers.update(headers)
    return response
