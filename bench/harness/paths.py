"""Where things are: the repository, the harness's files, and the interpreters it runs."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent
ROOT = BENCH_DIR.parent
LUA_DIR = BENCH_DIR / "lua"
RESULTS_DIR = BENCH_DIR / "results"
DEFAULT_WORK_DIR = BENCH_DIR / "work"

# onetime runs from the interpreter running the harness: `make bench` uses our venv's Python.
# sys.prefix (not the resolved executable) is the venv itself.
ONETIME_PYTHON = Path(sys.executable)
ONETIME_BIN = Path(sys.prefix) / "bin" / "onetime"

SNAPPASS_VENV = BENCH_DIR / ".venv-snappass"
SNAPPASS_BIN = SNAPPASS_VENV / "bin"
SNAPPASS_PYTHON = SNAPPASS_BIN / "python"
SNAPPASS_REQUIREMENTS = BENCH_DIR / "snappass-requirements.txt"

PRECREATE_ONETIME = BENCH_DIR / "precreate_onetime.py"
PRECREATE_SNAPPASS = BENCH_DIR / "precreate_snappass.py"
FILL_ONETIME = BENCH_DIR / "fill_onetime.py"


def repository_relative(path: Path) -> str:
    """`path` relative to the repository when it is inside it (results files stay the same
    wherever the repository is cloned), else as given."""
    resolved = path.resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else str(path)
