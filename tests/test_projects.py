"""Rendered projects pass their own CI: `python scripts/check.py` in each render.

check.py builds the project's .venv (with `uv` when it is on PATH, which
scripts/run_tests.py and the fixture below arrange), then runs the stub check,
ruff, mypy and the project's pytest suite. The two projects are checked
concurrently: each check is started when the module's fixture is set up and
each test waits for its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
from pytest_copie.plugin import Copie

from helpers import BENCH_POWER_LOCK, ROOT

pytestmark = pytest.mark.project

CHECK_TIMEOUT = 600  # seconds for one project's scripts/check.py, environment included
OUTPUT_TAIL = 120  # lines of check.py output shown when a check fails

# name -> (answers, whether check.py may use uv). One render goes the way a fresh
# machine with only Python does: venv and pip, no uv anywhere on PATH.
PROJECTS: dict[str, tuple[dict[str, Any], bool]] = {
    "defaults": ({}, True),
    "bench_power_lock": (BENCH_POWER_LOCK, True),
    "defaults_with_pip_only": ({}, False),
}


@dataclass
class RunningCheck:
    """A project's scripts/check.py running in the background, its output in a log file."""

    project: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    def finish(self) -> tuple[int, str]:
        """Wait for the check (killing it after CHECK_TIMEOUT); return its code and output tail."""
        try:
            code = self.process.wait(timeout=CHECK_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            code = -1
        self.log.close()
        lines = self.log_path.read_text("utf-8", errors="replace").splitlines()
        tail = "\n".join(lines[-OUTPUT_TAIL:])
        if code == -1:
            tail += f"\n[killed after {CHECK_TIMEOUT} s]"
        return code, tail


def check_environment(use_uv: bool) -> dict[str, str]:
    """Return the environment for check.py: this venv's tools (uv) first on PATH, or no uv."""
    env = dict(os.environ)
    paths = [str(Path(sys.executable).parent), *env.get("PATH", "").split(os.pathsep)]
    if not use_uv:
        paths = [p for p in paths if p and not (Path(p) / "uv").exists()]
    env["PATH"] = os.pathsep.join(paths)
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_CURRENT_TEST", None)
    return env


@pytest.fixture(scope="module")
def running_checks(
    copie_session: Copie, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, RunningCheck]]:
    """Render every project in PROJECTS and start its scripts/check.py, all at once."""
    logs = tmp_path_factory.mktemp("check-logs")
    checks: dict[str, RunningCheck] = {}
    try:
        for name, (answers, use_uv) in PROJECTS.items():
            result = copie_session.copy(extra_answers=dict(answers), template_dir=ROOT)
            if result.exit_code != 0 or result.project_dir is None:
                pytest.fail(f"rendering {name} failed: {result.exception!r}")
            log_path = logs / f"{name}.log"
            log = log_path.open("wb")
            process = subprocess.Popen(
                [sys.executable, "scripts/check.py"],
                cwd=result.project_dir,
                env=check_environment(use_uv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            checks[name] = RunningCheck(result.project_dir, process, log_path, log)
        yield checks
    finally:
        for check in checks.values():
            if check.process.poll() is None:
                check.process.kill()
                check.process.wait()
            check.log.close()


@pytest.mark.timeout(CHECK_TIMEOUT + 120)
@pytest.mark.parametrize("name", list(PROJECTS))
def test_rendered_project_passes_its_own_checks(
    running_checks: dict[str, RunningCheck], name: str
) -> None:
    check = running_checks[name]
    code, tail = check.finish()
    assert code == 0, f"scripts/check.py failed in the {name} render ({check.project}):\n{tail}"
    assert " passed" in tail, f"the {name} render's pytest ran no tests:\n{tail}"
