"""Set up .venv and run every check this project's CI runs.

Usage:
    python scripts/check.py              # stubs current, ruff, mypy, then pytest
    python scripts/check.py -k behavior  # extra arguments go to pytest

Needs only Python 3.10+. The environment is rebuilt when requirements-dev.txt or a
pyproject.toml changes; `uv` is used when it is on PATH, pip otherwise.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
VENV = PROJECT / ".venv"
STAMP = VENV / "check-environment.sha256"
INPUTS = (
    "requirements-dev.txt",
    "client/pyproject.toml",
    "server/pyproject.toml",
    "runtime/pyproject.toml",
)


def venv_python() -> Path:
    """Return the interpreter of the project's virtual environment."""
    if sys.platform == "win32":
        return VENV / "Scripts" / "python.exe"
    return VENV / "bin" / "python"


def run(*command: str | Path) -> None:
    """Run a command in the project directory; stop with its exit code if it fails."""
    print("+", " ".join(str(part) for part in command), flush=True)
    result = subprocess.run([str(part) for part in command], cwd=PROJECT, check=False)
    if result.returncode != 0:
        sys.exit(result.returncode)


def ensure_environment() -> Path:
    """Create or refresh .venv with the pinned tools and the project's packages (editable)."""
    digest = hashlib.sha256(b"".join((PROJECT / name).read_bytes() for name in INPUTS)).hexdigest()
    python = venv_python()
    if python.exists() and STAMP.exists() and STAMP.read_text() == digest:
        return python
    install = ["-r", "requirements-dev.txt", "-e", "client", "-e", "server", "-e", "runtime"]
    uv = shutil.which("uv")
    if uv:
        run(uv, "venv", "--quiet", "--seed", "--allow-existing", "--python", sys.executable, VENV)
        run(uv, "pip", "install", "--quiet", "--python", python, *install)
    else:
        if not python.exists():
            venv.create(VENV, with_pip=True)
        run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *install)
    STAMP.write_text(digest)
    return python


def main() -> int:
    """Run the checks in order, stopping at the first failure."""
    if sys.version_info < (3, 10):  # noqa: UP036  (say so clearly on an old Python)
        sys.exit(f"check.py needs Python 3.10 or newer; this is {sys.version.split()[0]}")
    python = ensure_environment()
    os.environ.setdefault("NO_PROXY", "localhost,127.0.0.1,::1")
    run(python, "scripts/generate_stubs.py", "--check")
    run(python, "-m", "ruff", "check", ".")
    run(python, "-m", "ruff", "format", "--check", ".")
    run(python, "-m", "mypy")
    # Code for the other platform (`if sys.platform == "win32":` on Linux) is checked too.
    run(python, "-m", "mypy", "--platform", "linux" if sys.platform == "win32" else "win32")
    for plugin in sorted(PROJECT.glob("examples/*/measurement.py")):
        run(python, "-m", "mypy", plugin.relative_to(PROJECT))
    run(python, "-m", "pytest", *sys.argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
