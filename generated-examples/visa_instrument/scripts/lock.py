"""Lock the development environment: every package scripts/check.py installs, with hashes.

Usage:
    python scripts/lock.py           # rewrite requirements-dev.lock
    python scripts/lock.py --check   # exit 1 if requirements-dev.lock is not what this makes

The lock is resolved by `uv pip compile` from requirements-dev.txt (the pinned
tools) and the dependencies of the packages in check.PACKAGES (their pyproject.toml),
for every platform and every Python from 3.10 (`--universal`), with the hashes of
every file. The project's own packages are left out: check.py installs them
editable on top. uv keeps the versions already in the lock unless a requirement
changed, so `--check` fails only when the inputs and the lock disagree. Needs `uv`
on PATH or in .venv (requirements-dev.txt installs it) and the package index.
"""

from __future__ import annotations

import argparse
import filecmp
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from check import PACKAGES

PROJECT = Path(__file__).resolve().parent.parent
LOCK = PROJECT / "requirements-dev.lock"
TOOLS = PROJECT / "requirements-dev.txt"
OLDEST_PYTHON = "3.10"
NAME = re.compile(r'^name\s*=\s*"([^"]+)"\s*$', re.MULTILINE)


def find_uv() -> str:
    """Return the uv executable: on PATH, else the one in .venv."""
    found = shutil.which("uv")
    if found:
        return found
    local = PROJECT / ".venv" / ("Scripts/uv.exe" if sys.platform == "win32" else "bin/uv")
    if local.exists():
        return str(local)
    sys.exit("lock: uv is needed; run python scripts/check.py once (it installs uv into .venv).")


def package_name(folder: str) -> str:
    """Return the distribution name declared in folder/pyproject.toml."""
    found = NAME.search((PROJECT / folder / "pyproject.toml").read_text(encoding="utf-8"))
    if found is None:
        sys.exit(f"lock: {folder}/pyproject.toml declares no name")
    return found.group(1)


def compile_lock(uv: str, output: Path) -> None:
    """Resolve the environment into `output` (kept versions come from `output` itself)."""
    with tempfile.TemporaryDirectory() as scratch:
        inputs = Path(scratch) / "requirements-dev.in"
        local = [f"./{folder}" for folder in PACKAGES]
        leave_out = [
            arg for folder in PACKAGES for arg in ("--no-emit-package", package_name(folder))
        ]
        inputs.write_text(
            TOOLS.read_text(encoding="utf-8") + "\n".join(local) + "\n", encoding="utf-8"
        )
        command = [
            uv,
            "pip",
            "compile",
            "--quiet",
            "--universal",
            "--python-version",
            OLDEST_PYTHON,
            "--generate-hashes",
            "--no-annotate",
            "--custom-compile-command",
            "python scripts/lock.py",
            *leave_out,
            str(inputs),
            "--output-file",
            str(output),
        ]
        result = subprocess.run(command, cwd=PROJECT, check=False)
        if result.returncode != 0:
            sys.exit(f"lock: uv pip compile failed with exit code {result.returncode}")


def main(argv: list[str] | None = None) -> int:
    """Write or check the lock; return the exit code."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check the lock is current")
    args = parser.parse_args(argv)
    uv = find_uv()
    if not args.check:
        compile_lock(uv, LOCK)
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Path(scratch) / LOCK.name
        if LOCK.exists():
            shutil.copyfile(LOCK, fresh)
        compile_lock(uv, fresh)
        if LOCK.exists() and filecmp.cmp(fresh, LOCK, shallow=False):
            return 0
    print(f"{LOCK.name} is out of date: run python scripts/lock.py and commit it.")
    return 1


if __name__ == "__main__":
    sys.exit(main())
