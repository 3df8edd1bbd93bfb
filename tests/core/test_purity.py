"""core/ stays free of web frameworks, sqlite3 and redis (it is the domain, not the plumbing)."""

import ast
from pathlib import Path

import onetime.core

FORBIDDEN = {"fastapi", "starlette", "sqlite3", "redis", "uvicorn", "jinja2", "httpx"}


def test_core_imports_no_web_sqlite_or_redis() -> None:
    core_dir = Path(onetime.core.__file__).parent
    offenders = []
    for path in core_dir.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []
