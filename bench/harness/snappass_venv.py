"""snappass in a venv of its own (bench/.venv-snappass), installed from pinned requirements."""

from __future__ import annotations

import hashlib
import shutil
import subprocess

from harness.paths import SNAPPASS_PYTHON, SNAPPASS_REQUIREMENTS, SNAPPASS_VENV

_STAMP = SNAPPASS_VENV / ".installed"


def _requirements_digest() -> str:
    return hashlib.sha256(SNAPPASS_REQUIREMENTS.read_bytes()).hexdigest()


def snappass_is_installed() -> bool:
    """True when the venv holds exactly what the requirements file asks for."""
    return (
        SNAPPASS_PYTHON.exists()
        and _STAMP.is_file()
        and _STAMP.read_text().strip() == _requirements_digest()
    )


def ensure_snappass_venv() -> bool:
    """Create and fill the venv unless the stamp says it is current; True if it installed."""
    if snappass_is_installed():
        return False
    if not SNAPPASS_PYTHON.exists():
        python3 = shutil.which("python3")
        if python3 is None:
            raise RuntimeError("python3 is needed to create the snappass venv")
        subprocess.run([python3, "-m", "venv", str(SNAPPASS_VENV)], check=True)  # noqa: S603
    pip = [str(SNAPPASS_PYTHON), "-m", "pip"]
    # --no-deps: every package is pinned in the file; `pip check` proves none is missing.
    install = [*pip, "install", "-qq", "--no-deps", "-r", str(SNAPPASS_REQUIREMENTS)]
    subprocess.run(install, check=True)  # noqa: S603
    subprocess.run([*pip, "check"], check=True, stdout=subprocess.DEVNULL)  # noqa: S603
    subprocess.run([str(SNAPPASS_PYTHON), "-c", "import snappass.main"], check=True)  # noqa: S603
    _STAMP.write_text(_requirements_digest() + "\n")
    return True
