"""Format the Python the template rendered with the pinned ruff: import order, then layout.

Usage:
    python scripts/format_sources.py          # what the last render wrote
    python scripts/format_sources.py --all    # every Python file of the project

Copier runs it after every copy and update, so the templates write plain code and
ruff decides how it is wrapped and how imports are ordered, the same way
scripts/check.py checks it. In a git work tree only the Python files that differ
from the last commit are formatted, which after `copier update` are the files the
update wrote: your own files stay as you committed them. Elsewhere (a new render)
every file is. Any Python 3.10+ runs this script: without the pinned ruff it
uses the cached tool environment of scripts/pinned_tools.py, built on first use.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import pinned_tools

PROJECT = Path(__file__).resolve().parent.parent
# Import order is the one lint rule with a fix that only moves lines; every other
# finding is left for scripts/check.py to report.
# --force-exclude: the project's exclusions (the generated stubs) hold for files
# named on the command line too.
COMMANDS = (
    ["check", "--select", "I", "--fix", "--quiet", "--no-cache", "--force-exclude"],
    ["format", "--quiet", "--no-cache", "--force-exclude"],
)


def changed_python_files(project: Path) -> list[str] | None:
    """Return the project's Python files that differ from git's HEAD, or None outside git."""
    git = shutil.which("git")
    if git is None:
        return None
    listing = subprocess.run(
        [git, "status", "--porcelain", "--untracked-files=all", "--no-renames", "-z", "."],
        cwd=project,
        capture_output=True,
        check=False,
    )
    head = subprocess.run(
        [git, "rev-parse", "--verify", "--quiet", "HEAD"], cwd=project, capture_output=True
    )
    if listing.returncode != 0 or head.returncode != 0:
        return None  # not a work tree, or nothing committed yet: format everything
    prefix = subprocess.run(
        [git, "rev-parse", "--show-prefix"], cwd=project, capture_output=True, text=True
    ).stdout.strip()
    changed = []
    for entry in listing.stdout.decode("utf-8", "replace").split("\0"):
        status, path = entry[:2], entry[3:]
        if path.endswith(".py") and "D" not in status:
            changed.append(path[len(prefix) :] if path.startswith(prefix) else path)
    return changed


def main(argv: list[str] | None = None) -> int:
    """Sort the imports and format the rendered Python files; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="format every Python file")
    args = parser.parse_args(argv)
    paths = None if args.all else changed_python_files(PROJECT)
    if paths == []:
        return 0
    try:
        python = pinned_tools.python_with_pins()
    except pinned_tools.ToolInstallError as error:
        sys.exit(f"format_sources: {error}")
    for arguments in COMMANDS:
        command = [str(python), "-m", "ruff", *arguments, "--", *(paths or ["."])]
        result = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            # A file ruff cannot parse (conflict markers an update left, say) stays
            # as it is; the update itself must not fail for it.
            print(f"format_sources: ruff {arguments[0]} left some files as they were:")
            print((result.stdout + result.stderr).strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
