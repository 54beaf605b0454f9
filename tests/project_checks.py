"""Rendered projects' own checks (`python scripts/check.py`), all run at once in the background.

A test marked `project(check=NAME)` needs scripts/check.py to pass in the project
that scenario NAME (SCENARIOS) prepares. At the start of the session the
`project_checks` fixture starts, for every selected test, this file as a script
(`python tests/project_checks.py NAME WORKDIR`) that prepares the scenario and then
runs its check, all together in the background, so the checks run concurrently
with each other and with the rest of the suite; each test waits for its own
(`.finish()`), which also reports a failed preparation from the log.

check.py builds the project's .venv with `uv` when it is on PATH (scripts/run_tests.py
puts .venv/bin first), so the environments come from uv's shared cache; one scenario
hides uv and goes the pip way a fresh machine does.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import copier
import pytest

import copier_alone
import update_scenario
from helpers import BENCH_POWER_LOCK, EDGE_CASES, ROOT

CHECK_TIMEOUT = 600  # seconds for one project's scripts/check.py, environment included
OUTPUT_TAIL = 120  # lines of check.py output shown when a check fails


@dataclass(frozen=True)
class Scenario:
    """How to make a project to check, and how to check it."""

    prepare: Callable[[Path], None]  # makes the project in the given directory
    use_uv: bool = True
    check_args: tuple[str, ...] = ()  # check.py's own (--resolution) and pytest's
    python: str | None = None  # the interpreter check.py (and so the project's .venv) uses
    unavailable: str = ""  # why this machine cannot run the scenario, if it cannot


def rendered(answers: dict[str, Any]) -> Callable[[Path], None]:
    """A preparation that renders the working tree's template with `answers`."""

    def prepare(project: Path) -> None:
        copier.run_copy(
            str(ROOT),
            project,
            data=dict(answers),
            defaults=True,
            unsafe=True,
            vcs_ref="HEAD",
            quiet=True,
        )

    return prepare


def oldest_supported_python() -> str | None:
    """A Python 3.10 interpreter (the generated code's floor) on PATH or in pyenv, if any."""
    candidates = [shutil.which("python3.10") or ""]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.10.*/bin/python3.10")))
    for candidate in candidates:
        if not candidate:
            continue
        probe = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 10))"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.stdout.strip() == "True":
            return candidate
    return None


PYTHON_3_10 = oldest_supported_python()

# Every preset and unusual answer set, each rendered and checked; the update scenario
# is checked after `copier update` from v1 to v2 (tests/test_update.py).
SCENARIOS: dict[str, Scenario] = {
    # NI's JSON logger with the newest versions its packages allow (what a fresh
    # install on a station gets: protobuf 7 today) ...
    "defaults": Scenario(rendered({}), check_args=("--resolution", "highest")),
    "register_map": Scenario(rendered({"preset": "register_map"})),
    "bench_power_lock": Scenario(rendered(BENCH_POWER_LOCK)),
    "edge_cases": Scenario(rendered(EDGE_CASES)),
    # ... and with the lowest versions of its direct dependencies, on the oldest Python
    # the generated code supports, on a fresh machine: no uv on PATH, so check.py
    # builds .venv with venv and pip (which installs the pinned uv to resolve).
    "defaults_with_pip_on_python_3_10": Scenario(
        rendered({}),
        use_uv=False,
        check_args=("--resolution", "lowest-direct"),
        python=PYTHON_3_10,
        unavailable="" if PYTHON_3_10 else "no Python 3.10 here (python3.10 on PATH or in pyenv)",
    ),
    "bench_power_lock_updated": Scenario(update_scenario.prepare, check_args=("-v",)),
    # A new user: Copier installed alone copies a renamed logger from a git clone
    # (tests/test_first_contact.py).
    "bench_logger_copied_with_copier_alone": Scenario(
        copier_alone.prepare_bench_logger, check_args=("-v",)
    ),
}


@dataclass
class RunningCheck:
    """A scenario being prepared and checked in the background, its output in a log file."""

    project: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    def finish(self) -> tuple[int, str]:
        """Wait for the check (killing it after CHECK_TIMEOUT); return its code and output."""
        try:
            code = self.process.wait(timeout=CHECK_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.stop()
            code = -1
        self.log.close()
        output = self.log_path.read_text("utf-8", errors="replace")
        if code == -1:
            output += f"\n[killed after {CHECK_TIMEOUT} s]\n"
        return code, output

    def stop(self) -> None:
        """Kill the preparation or check if it still runs."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def tail(output: str) -> str:
    """The last OUTPUT_TAIL lines of a check's output."""
    return "\n".join(output.splitlines()[-OUTPUT_TAIL:])


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


def start(name: str, workdir: Path) -> RunningCheck:
    """Start preparing and checking scenario `name` in `workdir`, in the background."""
    log_path = workdir / "check.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, __file__, name, str(workdir)],
        cwd=workdir,
        env=check_environment(SCENARIOS[name].use_uv),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return RunningCheck(workdir / "project", process, log_path, log)


def selected_checks(session: pytest.Session) -> list[str]:
    """The scenarios the selected tests name in their `project(check=...)` markers."""
    names: list[str] = []
    for item in session.items:
        for marker in item.iter_markers("project"):
            name = marker.kwargs.get("check")
            if name is not None and name not in names:
                names.append(name)
    return names


@pytest.fixture(scope="session", autouse=True)
def project_checks(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, RunningCheck]]:
    """Start the check of every selected project test's scenario, all at once."""
    checks: dict[str, RunningCheck] = {}
    try:
        for name in selected_checks(request.session):
            if SCENARIOS[name].unavailable:
                continue  # the test says why and skips
            checks[name] = start(name, tmp_path_factory.mktemp(f"check-{name}"))
        yield checks
    finally:
        for check in checks.values():
            check.stop()
            check.log.close()


def main(name: str, workdir: Path) -> int:
    """Prepare scenario `name` into workdir/project, then run its scripts/check.py."""
    scenario = SCENARIOS[name]
    project = workdir / "project"
    print(f"preparing {name} in {project}", flush=True)
    scenario.prepare(project)
    command = [scenario.python or sys.executable, "scripts/check.py", *scenario.check_args]
    return subprocess.run(command, cwd=project, stdin=subprocess.DEVNULL, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2])))
