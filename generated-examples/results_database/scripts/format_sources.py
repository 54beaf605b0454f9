"""Format the project's Python with the pinned ruff: import order, then layout.

Usage:
    python scripts/format_sources.py

Copier runs it after rendering, so the templates write plain code and ruff decides
how it is wrapped and how imports are ordered, the same way scripts/check.py
checks it. Any Python 3.10+ runs this script: without the pinned ruff it uses
the cached tool environment of scripts/pinned_tools.py, built on first use.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pinned_tools

PROJECT = Path(__file__).resolve().parent.parent
# Import order is the one lint rule with a fix that only moves lines; every other
# finding is left for scripts/check.py to report.
COMMANDS = (
    ["check", "--select", "I", "--fix", "--quiet", "--no-cache", "."],
    ["format", "--quiet", "--no-cache", "."],
)


def main() -> int:
    """Sort the imports and format every Python file of the project; return the exit code."""
    try:
        python = pinned_tools.python_with_pins()
    except pinned_tools.ToolInstallError as error:
        sys.exit(f"format_sources: {error}")
    for arguments in COMMANDS:
        command = [str(python), "-m", "ruff", *arguments]
        result = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            sys.exit(f"format_sources: ruff {arguments[0]} failed:\n{result.stdout}{result.stderr}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
