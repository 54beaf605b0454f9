"""Render a new session-managed service project from this template.

Usage:
    python3 scripts/new_service.py DEST [copier options...]

Examples:
    python3 scripts/new_service.py ../bench_power_lock
    python3 scripts/new_service.py ../lock --data preset=blank --data "display_name=Bench Lock"

Sets up .venv from requirements.lock on first use, then runs
`copier copy --trust --vcs-ref HEAD <this repository> DEST [copier options...]` with
.venv's bin directory first on PATH: Copier's task calls `{{ _copier_python }}`
(Copier's own interpreter, here .venv's) to generate the gRPC stubs, and that
interpreter needs the pinned grpcio-tools and mypy-protobuf.

`--vcs-ref HEAD` renders the working tree, uncommitted template changes included.
When stdin is not a terminal, `--defaults` is added so Copier does not wait for
answers. DEST must be missing or empty unless `--force` (or `--overwrite`) is given.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import _bootstrap

USAGE = "usage: python3 scripts/new_service.py DEST [copier options...]"
OVERWRITE_FLAGS = {"-f", "--force", "-w", "--overwrite"}
NON_INTERACTIVE_FLAGS = {"-l", "--defaults", "-f", "--force"}


def has_option(extra: list[str], *names: str) -> bool:
    """Tell whether any of the named options appears in `extra`, as `--x` or `--x=value`."""
    return any(arg in names or arg.split("=", 1)[0] in names for arg in extra)


def copier_command(copier: Path, dest: str, extra: list[str], interactive: bool) -> list[str]:
    """Return the copier command line for rendering this repository into `dest`.

    Args:
        copier: The copier executable in .venv.
        dest: The destination directory, as the user gave it.
        extra: Copier options passed through unchanged.
        interactive: Whether a person can answer Copier's questions on stdin.
    """
    command = [str(copier), "copy"]
    if not has_option(extra, "--trust", "--UNSAFE"):
        command.append("--trust")
    if not has_option(extra, "-r", "--vcs-ref"):
        command += ["--vcs-ref", "HEAD"]
    if not interactive and not has_option(extra, *NON_INTERACTIVE_FLAGS):
        command.append("--defaults")
    return [*command, *extra, str(_bootstrap.ROOT), dest]


def main(argv: list[str]) -> int:
    """Check the destination, set up .venv and run copier; return copier's exit code."""
    _bootstrap.require_supported_python()
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0 if argv else 2
    dest, extra = argv[0], argv[1:]
    if dest.startswith("-"):
        print(f"{USAGE}\nThe destination comes first; got the option {dest!r}.", file=sys.stderr)
        return 2
    target = Path(dest)
    if target.exists() and not target.is_dir():
        print(f"new_service: {dest} exists and is not a directory.", file=sys.stderr)
        return 2
    if target.is_dir() and any(target.iterdir()) and not has_option(extra, *OVERWRITE_FLAGS):
        print(
            f"new_service: {dest} is not empty; Copier would merge the new project into it.\n"
            "Choose a new or empty directory, or pass --force to render over its files.",
            file=sys.stderr,
        )
        return 2
    _python, tools = _bootstrap.ensure_venv()
    copier = tools / ("copier.exe" if sys.platform == "win32" else "copier")
    command = copier_command(copier, dest, extra, interactive=sys.stdin.isatty())
    result = subprocess.run(command, env=_bootstrap.tool_environment(tools), check=False)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
