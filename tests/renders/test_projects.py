"""Rendered projects pass their own CI: `python scripts/check.py` in each render.

Each scenario below (every preset, the unusual answer sets, the JSON logger at
both ends of its packages' version ranges, the low end on a pip-only machine with
the oldest supported Python) is rendered and its check.py (stub check, ruff, ruff
format, mypy, the project's pytest suite) started in the background when the
session starts, concurrently with every other check and test
(tests/project_checks.py); each test here waits for its own.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from project_checks import SCENARIOS, WAIT_TIMEOUT, RunningCheck, tail, unexpected_skips

RENDERED = [
    "defaults",
    "register_map",
    "database",
    "visa_instrument",
    "edge_cases",
    "defaults_with_pip_on_python_3_10",
]


@pytest.mark.timeout(WAIT_TIMEOUT)
@pytest.mark.parametrize(
    "name", [pytest.param(name, marks=pytest.mark.project(check=name)) for name in RENDERED]
)
def test_rendered_project_passes_its_own_checks(
    project_checks: dict[str, RunningCheck], name: str
) -> None:
    assert name in SCENARIOS
    if SCENARIOS[name].unavailable:
        pytest.skip(f"{SCENARIOS[name].unavailable}; the defaults scenario checks the same project")
    check = project_checks[name]
    code, output = check.finish()
    assert code == 0, (
        f"scripts/check.py failed in the {name} render ({check.project}):\n{tail(output)}"
    )
    assert " passed" in tail(output), f"the {name} render's pytest ran no tests:\n{tail(output)}"
    surprises = unexpected_skips(name, output)
    assert not surprises, f"the {name} render's suite skipped what it should run:\n" + "\n".join(
        surprises
    )
    environment = re.search(r"^environment \((\S+), Python (\S+)\): (.*)$", output, re.M)
    assert environment, f"check.py did not report its environment:\n{tail(output)}"
    resolution, python, versions = environment.groups()
    arguments = SCENARIOS[name].check_args
    assert resolution == (arguments[1] if arguments[:1] == ("--resolution",) else "locked")
    if resolution == "lowest-direct":
        # The lowest grpcio and protobuf the client's pyproject.toml allows are the ones tested.
        for package in ("grpcio", "protobuf"):
            assert f"{package} {lowest_allowed(check.project, package)}," in versions + ",", (
                versions
            )
        assert python.startswith("3.10."), python
    if resolution == "highest":
        assert re.search(r"protobuf (\d+)\.", versions), versions
        assert not versions.count("protobuf 6."), f"the newest versions kept protobuf 6: {versions}"


def lowest_allowed(project: Path, package: str) -> str:
    """The lower bound of `package` in the client's dependencies (`"name>=X,<Y"`)."""
    text = (project / "client" / "pyproject.toml").read_text("utf-8")
    found = re.search(rf'"{re.escape(package)}>=([^,"]+)', text)
    assert found, f"client/pyproject.toml has no lower bound for {package}"
    return found.group(1)
