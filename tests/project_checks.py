"""Rendered projects' own checks (`python scripts/check.py`), all run at once in the background.

A test marked `project(check=NAME)` needs scripts/check.py to pass in the project
that scenario NAME (SCENARIOS) prepares. At the start of the session the
`project_checks` fixture queues, for every selected test, this file as a script
(`python tests/project_checks.py NAME WORKDIR`) that prepares the scenario and then
runs its check, in the background: as many at once as the machine has cores, in
the order the tests come, concurrently with the rest of the suite; each test
waits for its own (`.finish()`), which also reports a failed preparation from the log.

check.py builds the project's .venv with `uv` when it is on PATH (scripts/run_tests.py
puts .venv/bin first), so the environments come from uv's shared cache; one scenario
hides uv and goes the pip way a fresh machine does.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import copier
import pytest

import copier_alone
import fourth_preset
import update_scenario
from helpers import EDGE_CASES, ROOT

CHECK_TIMEOUT = 600  # seconds for one project's scripts/check.py, environment included
# A test waiting for its check may also wait for the checks queued before it.
WAIT_TIMEOUT = 2400
OUTPUT_TAIL = 120  # lines of check.py output shown when a check fails


@dataclass(frozen=True)
class Scenario:
    """How to make a project to check, and how to check it."""

    prepare: Callable[[Path], None]  # makes the project in the given directory
    use_uv: bool = True
    check_args: tuple[str, ...] = ()  # check.py's own (--resolution) and pytest's
    python: str | None = None  # the interpreter check.py (and so the project's .venv) uses
    unavailable: str = ""  # why this machine cannot run the scenario, if it cannot
    # The skips its suite may report (pytest's `SKIPPED [n] file:line: reason` lines), as
    # substrings; any other skip fails the scenario's test.
    expected_skips: tuple[str, ...] = ()
    # pytest-xdist workers for its tests (check.py's -n): one, since the scenarios already
    # run as many at once as there are cores; the defaults scenario runs as a user does.
    workers: str = "0"


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


TEMPLATE = ROOT / "template"


def with_package_tests(prepare: Callable[[Path], None]) -> Callable[[Path], None]:
    """`prepare`, then the core's and the local runtime's own tests put into the render.

    Their tests (and the core's mutation script) are not rendered (copier.yml
    excludes them): they run once, here, in one render's environment, linted and
    type-checked with the render's settings.
    """

    def prepare_with_package_tests(project: Path) -> None:
        prepare(project)
        for folder in ("core/tests", "core/scripts", "runtime/tests"):
            shutil.copytree(TEMPLATE / folder, project / folder)
        settings = project / "pyproject.toml"
        text = settings.read_text("utf-8")
        for anchor, added in [
            ('files = [\n    "core/src",', '\n    "core/tests",\n    "runtime/tests",'),
            # The core's tests import their helper (pausing) by its name.
            ('mypy_path = [\n    "core/src",', '\n    "core/tests",'),
            ('"tests/**" = ["D"]', '\n"core/tests/**" = ["D"]\n"runtime/tests/**" = ["D"]'),
        ]:
            assert anchor in text, f"pyproject.toml no longer has {anchor!r}"
            text = text.replace(anchor, anchor + added, 1)
        settings.write_text(text, "utf-8")

    return prepare_with_package_tests


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

# The render tests marked `environment` (wheels, deployed folders, start scripts
# building .venv) take most of a render's suite and do the same whatever the
# resource: they run in the defaults renders, the edge cases and the database
# preset (its own dependencies), and are deselected in the other scenarios.
ANSWER_TESTS = ("-m", "not environment")

# A scenario whose template-owned files another scenario already tests (an update
# ending with a fresh render's files, a preset added or copied the way users do) runs
# what it changes: the service's contract and its resource, beside the user's tests.
SERVICE_TESTS = ("-v", *ANSWER_TESTS, "tests/contract", "tests/resource")


def service_tests_and(user_test: Path) -> tuple[str, ...]:
    """SERVICE_TESTS and the user's own test module."""
    return (*SERVICE_TESTS, user_test.as_posix())


# Every preset and unusual answer set, each rendered and checked; the update scenario
# is checked after `copier update` from v1 to v2 (tests/update/test_update.py).
SCENARIOS: dict[str, Scenario] = {
    # NI's JSON logger with the newest versions its packages allow (what a fresh
    # install on a station gets: protobuf 7 today) ... and the core's and the local
    # runtime's own tests.
    "defaults": Scenario(
        with_package_tests(rendered({})),
        check_args=("--resolution", "highest", "tests", "core/tests", "runtime/tests"),
        workers="auto",
    ),
    "register_map": Scenario(rendered({"preset": "register_map"}), check_args=ANSWER_TESTS),
    # SQLite and a PostgreSQL server its tests start (.ci/run installs one when missing);
    # root writes to read-only files, so the chmod test cannot run as root (a file
    # SQLite itself treats as read-only is tested for every user).
    "database": Scenario(
        rendered({"preset": "database"}),
        expected_skips=("this user writes to read-only files (root)",),
    ),
    # The simulated bench DMM (pyvisa-sim) behind real pyvisa. The environment tests (wheels,
    # deployed folders) are the database scenario's: they install a preset's own
    # dependencies the same way.
    "visa_instrument": Scenario(rendered({"preset": "visa_instrument"}), check_args=ANSWER_TESTS),
    # Rendered, both RPCs written, then Ping added and SetLimits removed by update.
    "bench_power_lock_grown": Scenario(
        update_scenario.prepare_grown,
        check_args=SERVICE_TESTS,
        expected_skips=("BenchPowerLockResource.heartbeat is written",),
    ),
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
    "bench_power_lock_updated": Scenario(
        update_scenario.prepare,
        check_args=service_tests_and(update_scenario.USER_TEST_PATH),
        # The template's skeleton test steps aside for the RPC the user filled in.
        expected_skips=("BenchPowerLockResource.heartbeat is written",),
    ),
    # A 0.3 project of each preset 0.3 offered besides blank, with a note and a test of
    # the user's, updated to the working tree by the copier command line.
    **{
        scenario.check: Scenario(
            update_scenario.prepare_preset_update(preset),
            check_args=service_tests_and(scenario.user_test_path),
            # The JSON logger's tests of the path-following log step aside for the
            # resource.py the user kept (a 0.3 one, with its own check and writes).
            expected_skips=("resource.py does not open its logs through ndjson.LogFile",),
        )
        for preset, scenario in update_scenario.PRESET_UPDATES.items()
    },
    # A project of every preset there was before session_service_core, with a note in
    # resource.py and a test of the user's importing moved modules, updated to the working
    # tree. Every template-owned file must then equal a fresh render's (the other scenarios
    # check those), so pytest runs the contract, the resource and the user's tests.
    **{
        update.check: Scenario(
            update_scenario.prepare_core_update(preset),
            check_args=service_tests_and(update.user_test_path),
            # The kept database resource.py stores values as it did before 0.4's fix.
            expected_skips=(
                "this user writes to read-only files (root)",
                "resource.py predates storing texts JSON cannot hold as strings",
            ),
        )
        for preset, update in update_scenario.CORE_UPDATES.items()
    },
    # A fourth preset, added as template/_presets/README.md says
    # (tests/renders/test_preset_catalog.py).
    "fourth_preset": Scenario(
        fourth_preset.prepare,
        check_args=SERVICE_TESTS,
        expected_skips=("TallyCounterResource.increment is written",),
    ),
    # A new user: Copier installed alone copies a renamed logger from a git clone
    # (tests/renders/test_first_contact.py).
    "bench_logger_copied_with_copier_alone": Scenario(
        copier_alone.prepare_bench_logger,
        # ... and its plug-ins and local runtime, which carry the new name.
        check_args=(*SERVICE_TESTS, "tests/plugins"),
    ),
}


class RunningCheck:
    """A scenario prepared and checked in the background, its output in a log file.

    It waits for one of the machine's cores (`slots`) before it starts, so the
    checks never run more at once than there are cores.
    """

    def __init__(
        self, name: str, workdir: Path, slots: threading.Semaphore, env: dict[str, str]
    ) -> None:
        self.project = workdir / "project"
        self.log_path = workdir / "check.log"
        self._command = [sys.executable, __file__, name, str(workdir)]
        self._workdir = workdir
        self._env = env
        self._slots = slots
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._cancelled = False
        self._code: int | None = None
        self._thread = threading.Thread(target=self._run, name=f"check-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with self._slots, self.log_path.open("wb") as log:
            with self._lock:
                if self._cancelled:
                    return
                self._process = subprocess.Popen(
                    self._command,
                    cwd=self._workdir,
                    env=self._env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            try:
                self._code = self._process.wait(timeout=CHECK_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
                self._code = -1

    def finish(self) -> tuple[int, str]:
        """Wait for the check (killed after CHECK_TIMEOUT once started); return code and output."""
        self._thread.join()
        output = self.log_path.read_text("utf-8", errors="replace")
        if self._code == -1:
            output += f"\n[killed after {CHECK_TIMEOUT} s]\n"
        return (-1 if self._code is None else self._code), output

    def stop(self) -> None:
        """Cancel the check if it has not started; kill it if it runs."""
        with self._lock:
            self._cancelled = True
            process = self._process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()


# A render's tests of Windows-only behaviour skip elsewhere, saying so.
ELSEWHERE_THAN_WINDOWS = () if sys.platform == "win32" else ("on Windows",)


def unexpected_skips(name: str, output: str) -> list[str]:
    """The skips a check's pytest summary reports that scenario `name` does not expect."""
    skipped = [line for line in output.splitlines() if line.startswith("SKIPPED [")]
    expected = SCENARIOS[name].expected_skips + ELSEWHERE_THAN_WINDOWS
    return [line for line in skipped if not any(reason in line for reason in expected)]


def reported(output: str, test_id: str, outcome: str) -> bool:
    """Whether pytest -v reports `outcome` (PASSED, SKIPPED) for a test whose id ends in `test_id`.

    One process writes `tests/x.py::test_id PASSED`; pytest-xdist's workers (check.py
    runs them) write `[gw0] [ 50%] PASSED tests/x.py::test_id`.
    """
    alone = f"{test_id} {outcome}" in output
    pattern = rf"{outcome} \S*{re.escape(test_id)}(?:\s|$)"
    return alone or re.search(pattern, output, re.MULTILINE) is not None


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
    slots = threading.Semaphore(os.cpu_count() or 1)
    try:
        for name in selected_checks(request.session):
            if SCENARIOS[name].unavailable:
                continue  # the test says why and skips
            workdir = tmp_path_factory.mktemp(f"check-{name}")
            env = check_environment(SCENARIOS[name].use_uv)
            checks[name] = RunningCheck(name, workdir, slots, env)
        yield checks
    finally:
        for check in checks.values():
            check.stop()


def main(name: str, workdir: Path) -> int:
    """Prepare scenario `name` into workdir/project, then run its scripts/check.py."""
    scenario = SCENARIOS[name]
    project = workdir / "project"
    print(f"preparing {name} in {project}", flush=True)
    scenario.prepare(project)
    command = [scenario.python or sys.executable, "scripts/check.py", *scenario.check_args]
    command += ["-n", scenario.workers]  # after check.py's own -n, so it decides
    return subprocess.run(command, cwd=project, stdin=subprocess.DEVNULL, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2])))
