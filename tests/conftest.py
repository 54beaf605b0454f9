"""Pytest configuration for the template's tests.

Every test renders the real template from this repository's working tree with
Copier (through pytest-copie, which passes vcs_ref="HEAD", so uncommitted
template changes are what gets tested), with the stub-generating task enabled.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from helpers import ROOT
from project_checks import check_environment, project_checks  # noqa: F401  (background checks)

DEPLOY_TARGETS = Path(__file__).parent / "scripts" / "test_deploy_targets.py"
DEPLOY_WAIT_S = 1200  # the background deploys' own limit is per deploy; this bounds them all


def pytest_configure(config: pytest.Config) -> None:
    """Point pytest-copie at this repository unless --template says otherwise."""
    if config.option.template in (None, "."):
        config.option.template = str(ROOT)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the tests that wait for a project's background check last, in their order.

    The checks run from the session's start (project_checks); tests that do their own
    work go first, beside them, so no core idles while a test waits.
    """
    items.sort(key=lambda item: item.get_closest_marker("project") is not None)


@pytest.fixture(scope="session", autouse=True)
def deploy_targets(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[], tuple[dict[str, Path], Path]]]:
    """Start tests/scripts/test_deploy_targets.py's renders and deploys as the session starts.

    They wait on the package index most of the time, so they run beside the rest of
    the suite. Yields a function that waits for them and returns the rendered
    projects by preset and the folder the deploys went to (failing the test that
    calls it if a deploy failed).
    """
    selected = any(item.path.name == DEPLOY_TARGETS.name for item in request.session.items)
    workdir = tmp_path_factory.mktemp("deploy-targets")
    process = None
    if selected:
        log = (workdir / "deploys.log").open("w", encoding="utf-8")
        process = subprocess.Popen(
            [sys.executable, str(DEPLOY_TARGETS), str(workdir)],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=check_environment(use_uv=True),
        )
        log.close()

    def finish() -> tuple[dict[str, Path], Path]:
        assert process is not None
        code = process.wait(DEPLOY_WAIT_S)
        output = (workdir / "deploys.log").read_text(encoding="utf-8")
        assert code == 0, f"the deploys failed:\n{output[-6000:]}"
        projects = {preset: workdir / preset for preset in ("json_logger", "database")}
        return projects, workdir / "deployed"

    yield finish
    if process is not None and process.poll() is None:
        process.kill()
        process.wait()
