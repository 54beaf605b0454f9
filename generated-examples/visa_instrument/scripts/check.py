"""Set up .venv and run every check this project's CI runs.

Usage:
    python scripts/check.py                               # stubs, ruff, mypy, then pytest
    python scripts/check.py -k behavior                   # extra arguments go to pytest
    python scripts/check.py --resolution highest          # newest versions the packages allow
    python scripts/check.py --resolution lowest-direct    # lowest versions of direct dependencies

Needs only Python 3.10+. By default .venv holds exactly requirements-dev.lock
(hashes checked) with the project's packages installed editable on top, so every
machine checks the same versions. The two other resolutions ignore the lock and
test the ends of the packages' version ranges, as CI does; they need uv, which is
taken from PATH or installed into .venv. The environment is rebuilt whenever the
resolution, the lock, requirements-dev.txt or a pyproject.toml changes; `uv` is
used when it is on PATH, pip otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
VENV = PROJECT / ".venv"
STAMP = VENV / "check-environment.sha256"
LOCK = "requirements-dev.lock"
TOOLS = "requirements-dev.txt"
# The project's own packages, installed editable. The core (session-service-core)
# is a folder here until it comes from a package index: then drop "core".
PACKAGES = ("core", "client", "server", "runtime")
INPUTS = (LOCK, TOOLS, *(f"{folder}/pyproject.toml" for folder in PACKAGES))
RESOLUTIONS = ("locked", "highest", "lowest-direct")


def venv_python() -> Path:
    """Return the interpreter of the project's virtual environment."""
    if sys.platform == "win32":
        return VENV / "Scripts" / "python.exe"
    return VENV / "bin" / "python"


def run(*command: str | Path, environment: dict[str, str] | None = None) -> None:
    """Run a command in the project directory; stop with its exit code if it fails."""
    print("+", " ".join(str(part) for part in command), flush=True)
    changed = {**os.environ, **environment} if environment else None
    result = subprocess.run([str(part) for part in command], cwd=PROJECT, env=changed, check=False)
    if result.returncode != 0:
        sys.exit(result.returncode)


def venv_executable(name: str) -> Path:
    """Return a console script installed in .venv."""
    if sys.platform == "win32":
        return VENV / "Scripts" / f"{name}.exe"
    return VENV / "bin" / name


def pinned_uv() -> str:
    """Return the uv requirement requirements-dev.txt pins, e.g. ``uv==0.13.9``."""
    found = re.search(r"^uv==\S+", (PROJECT / TOOLS).read_text(encoding="utf-8"), re.MULTILINE)
    return found.group(0) if found else "uv"


def ensure_environment(resolution: str) -> Path:
    """Make .venv hold the checked environment for `resolution`; return its python.

    Args:
        resolution: "locked" for requirements-dev.lock, or a uv resolution strategy
            ("highest", "lowest-direct") applied to the packages' version ranges.
    """
    contents = b"".join((PROJECT / name).read_bytes() for name in INPUTS)
    digest = hashlib.sha256(resolution.encode() + b"\0" + contents).hexdigest()
    python = venv_python()
    if python.exists() and STAMP.exists() and STAMP.read_text() == digest:
        return python
    if Path(sys.prefix).resolve() == VENV.resolve():
        sys.exit("check.py rebuilds .venv: run it with a Python outside .venv, e.g. python3.")
    shutil.rmtree(VENV, ignore_errors=True)  # a rebuild never keeps packages from before
    editable = [option for folder in PACKAGES for option in ("-e", folder)]
    uv = shutil.which("uv")
    if uv:
        run(uv, "venv", "--quiet", "--seed", "--python", sys.executable, VENV)
    else:
        venv.create(VENV, with_pip=True)
        pip: list[str | Path] = [python, "-m", "pip", "install", "--quiet"]
        pip.append("--disable-pip-version-check")
        if resolution == "locked":
            run(*pip, "--require-hashes", "-r", LOCK)
            run(*pip, "--no-deps", *editable)
        else:
            run(*pip, pinned_uv())
            uv = str(venv_executable("uv"))
    if uv and resolution == "locked":
        run(uv, "pip", "install", "--quiet", "--python", python, "--require-hashes", "-r", LOCK)
        run(uv, "pip", "install", "--quiet", "--python", python, "--no-deps", *editable)
    elif uv:
        resolve = ["--resolution", resolution, "-r", TOOLS, *editable]
        run(uv, "pip", "install", "--quiet", "--python", python, *resolve)
    # Every requirement of every installed package is met: a lock that misses a
    # dependency a pyproject.toml added fails here, not in a test.
    run(python, "-m", "pip", "check", "--disable-pip-version-check")
    STAMP.write_text(digest)
    return python


def describe_environment(python: Path, resolution: str) -> None:
    """Print the versions that decide wire behaviour, so a CI log shows what was tested."""
    names = ("grpcio", "protobuf", "ni.measurementlink.discovery.v1.client")
    code = (
        "import sys; from importlib.metadata import version; "
        f"print(', '.join(f'{{n}} {{version(n)}}' for n in {names!r}), end='')"
    )
    versions = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)
    found = versions.stdout.strip() or versions.stderr.strip()
    print(f"environment ({resolution}, Python {python_version(python)}): {found}", flush=True)


def python_version(python: Path) -> str:
    """Return the version of the interpreter `python`."""
    code = "import platform; print(platform.python_version())"
    result = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)
    return result.stdout.strip()


def main() -> int:
    """Run the checks in order, stopping at the first failure."""
    if sys.version_info < (3, 10):  # noqa: UP036  (say so clearly on an old Python)
        sys.exit(f"check.py needs Python 3.10 or newer; this is {sys.version.split()[0]}")
    parser = argparse.ArgumentParser(allow_abbrev=False, add_help=False)
    parser.add_argument("--resolution", choices=RESOLUTIONS, default="locked")
    args, pytest_args = parser.parse_known_args()
    python = ensure_environment(args.resolution)
    os.environ.setdefault("NO_PROXY", "localhost,127.0.0.1,::1")
    describe_environment(python, args.resolution)
    run(python, "scripts/generate_stubs.py", "--check")
    run(python, "-m", "ruff", "check", ".")
    run(python, "-m", "ruff", "format", "--check", ".")
    run(python, "-m", "mypy")
    # Code for the other platform (`if sys.platform == "win32":` on Linux) is checked too.
    run(python, "-m", "mypy", "--platform", "linux" if sys.platform == "win32" else "win32")
    # Each plug-in folder is a top level of its own (measurement.py imports session_use.py
    # beside it), checked alone with the folder on mypy's path.
    for plugin in sorted(PROJECT.glob("examples/*/measurement.py")):
        folder = {"MYPYPATH": str(plugin.parent)}
        run(python, "-m", "mypy", plugin.relative_to(PROJECT), environment=folder)
    # A worker per core; an idle worker takes tests queued for a busy one (--dist
    # worksteal), which balances the slow station tests best (a module fixture may then
    # be built on both). Pass -n 0 to run in one process.
    run(python, "-m", "pytest", "-n", "auto", "--dist", "worksteal", *pytest_args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
