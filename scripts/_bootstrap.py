"""Create or refresh the repository's .venv from requirements.lock.

The other scripts call `ensure_venv()` first. It needs nothing but Python 3.10+
(the standard library's venv and the pip that venv bundles): no uv, no copier.

The environment is rebuilt from scratch whenever the sha256 of requirements.lock
differs from the stamp written inside .venv after the last successful install, so
.venv always holds exactly the locked packages. A failed install leaves no stamp,
and the next run starts over.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

MINIMUM_PYTHON = (3, 10)
ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
LOCK = ROOT / "requirements.lock"
STAMP = VENV / "requirements.lock.sha256"

# Copier commits uncommitted template changes in a scratch clone (vcs_ref="HEAD");
# git refuses to commit without an identity, so one is supplied when none is set.
FALLBACK_GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Template Harness",
    "GIT_AUTHOR_EMAIL": "template-harness@localhost",
    "GIT_COMMITTER_NAME": "Template Harness",
    "GIT_COMMITTER_EMAIL": "template-harness@localhost",
}


def require_supported_python() -> None:
    """Stop with a clear message when this interpreter is older than Python 3.10."""
    if sys.version_info < MINIMUM_PYTHON:
        found = ".".join(str(part) for part in sys.version_info[:3])
        wanted = ".".join(str(part) for part in MINIMUM_PYTHON)
        sys.exit(
            f"This repository's scripts need Python {wanted} or newer; "
            f"{sys.executable} is Python {found}."
        )


def bin_dir() -> Path:
    """Return the directory holding the environment's executables."""
    return VENV / ("Scripts" if sys.platform == "win32" else "bin")


def venv_python() -> Path:
    """Return the environment's interpreter."""
    return bin_dir() / ("python.exe" if sys.platform == "win32" else "python")


def lock_digest() -> str:
    """Return the sha256 of requirements.lock, the key that decides a rebuild."""
    return hashlib.sha256(LOCK.read_bytes()).hexdigest()


def is_current(digest: str) -> bool:
    """Tell whether .venv exists and was built from a lock with this digest."""
    return (
        venv_python().exists()
        and STAMP.is_file()
        and STAMP.read_text(encoding="utf-8").strip() == digest
    )


def ensure_venv() -> tuple[Path, Path]:
    """Make .venv match requirements.lock, rebuilding it when the lock changed.

    Returns:
        The environment's python executable and its bin (Scripts) directory.
    """
    require_supported_python()
    if not LOCK.is_file():
        sys.exit(f"{LOCK} is missing; it lists the packages this repository's scripts need.")
    digest = lock_digest()
    if is_current(digest):
        return venv_python(), bin_dir()
    print(
        f"Setting up {VENV} from {LOCK.name} (first run or the lock changed)...",
        file=sys.stderr,
        flush=True,
    )
    if VENV.exists():
        shutil.rmtree(VENV)
    venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    command = [
        str(venv_python()),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--quiet",  # twice: errors only, no notices about the machine's index settings
        "--disable-pip-version-check",
        "--no-input",
        "--require-virtualenv",
        "--require-hashes",  # every file is checked against the lock's hashes
        "-r",
        str(LOCK),
    ]
    result = subprocess.run(command, check=False)
    if result.returncode != 0:
        sys.exit(
            f"Installing {LOCK.name} into {VENV} failed (pip exit code {result.returncode}); "
            "fix the problem above and run the script again."
        )
    STAMP.write_text(digest + "\n", encoding="utf-8")
    return venv_python(), bin_dir()


def git_has_identity() -> bool:
    """Tell whether git can name the author of a commit in this environment."""
    if all(os.environ.get(name) for name in FALLBACK_GIT_IDENTITY):
        return True
    for variable in ("GIT_AUTHOR_IDENT", "GIT_COMMITTER_IDENT"):
        try:
            result = subprocess.run(["git", "var", variable], capture_output=True, check=False)
        except OSError:
            return True  # no git at all: copier says so itself, an identity would not help
        if result.returncode != 0:
            return False
    return True


def tool_environment(tools: Path) -> dict[str, str]:
    """Return os.environ with `tools` first on PATH and a git identity if git lacks one.

    Args:
        tools: The environment's bin directory, so that `copier`, `uv` and the
            protoc plugins installed there are found first.
    """
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join(filter(None, [str(tools), env.get("PATH", "")]))
    if not git_has_identity():
        for name, value in FALLBACK_GIT_IDENTITY.items():
            env.setdefault(name, value)
    return env
