"""Run the template repository's test suite the way CI does.

Usage:
    python3 scripts/run_tests.py                  # everything
    python3 scripts/run_tests.py -m "not project"  # skip the rendered projects' own checks
    python3 scripts/run_tests.py -k validator      # extra arguments go to pytest

Sets up .venv from requirements.lock on first use, puts its bin directory first
on PATH (so the rendered projects' scripts/check.py finds the pinned `uv` and
builds their environments quickly), adds localhost,127.0.0.1,::1 to NO_PROXY,
and runs `python -m pytest` from the repository root with .venv's python.

Exits with pytest's exit code, except that "no tests collected" (5) is reported
and turned into 1: a selection that matches nothing is a mistake, not a pass.
"""

from __future__ import annotations

import subprocess
import sys

import _bootstrap

NO_TESTS_COLLECTED = 5
LOOPBACK = ("localhost", "127.0.0.1", "::1")


def no_proxy(current: str) -> str:
    """Return `current` (a NO_PROXY value) with the loopback names added, keeping its entries.

    The rendered projects' tests talk gRPC to servers on localhost; an HTTP proxy
    configured for the machine must not intercept that.
    """
    entries = [entry.strip() for entry in current.split(",") if entry.strip()]
    entries += [name for name in LOOPBACK if name not in entries]
    return ",".join(entries)


def main(argv: list[str]) -> int:
    """Set up .venv and run pytest with `argv`; return the exit code to report."""
    _bootstrap.require_supported_python()
    python, tools = _bootstrap.ensure_venv()
    env = _bootstrap.tool_environment(tools)
    bypass = no_proxy(env.get("NO_PROXY") or env.get("no_proxy") or "")
    env["NO_PROXY"] = bypass
    if sys.platform != "win32":  # Windows environment names ignore case
        env["no_proxy"] = bypass
    command = [str(python), "-m", "pytest", *argv]
    code = subprocess.run(command, cwd=_bootstrap.ROOT, env=env, check=False).returncode
    if code == NO_TESTS_COLLECTED:
        print(
            "run_tests: pytest collected no tests (exit code 5); "
            "check the selection arguments or the tests/ directory. Reporting failure.",
            file=sys.stderr,
        )
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
