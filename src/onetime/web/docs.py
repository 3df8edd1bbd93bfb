"""/api/docs: the OpenAPI document as a plain page, with no third-party scripts or styles."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from onetime.web.render import render

router = APIRouter(include_in_schema=False)
_METHODS = ("get", "post", "put", "patch", "delete")


def _operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for path, item in spec.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            params = [p.get("name", "") for p in operation.get("parameters", [])]
            rows.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "tag": (operation.get("tags") or ["other"])[0],
                    "params": params,
                    "has_body": "requestBody" in operation,
                }
            )
    return rows


@router.get("/api/docs")
async def api_docs(request: Request) -> HTMLResponse:
    spec = request.app.openapi()
    return render(request, "api_docs.html", spec=spec, operations=_operations(spec))
