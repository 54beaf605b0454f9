"""Rendered projects pass their own CI: `python scripts/check.py` in each render.

Each scenario below (every preset, the unusual answer sets, a pip-only machine on
the oldest supported Python)
is rendered and its check.py (stub check, ruff, ruff format, mypy, the project's
pytest suite) started in the background when the session starts, concurrently
with every other check and test (tests/project_checks.py); each test here waits
for its own.
"""

from __future__ import annotations

import pytest

from project_checks import CHECK_TIMEOUT, SCENARIOS, RunningCheck, tail

RENDERED = [
    "defaults",
    "register_map",
    "bench_power_lock",
    "edge_cases",
    "defaults_with_pip_on_python_3_10",
]


@pytest.mark.timeout(CHECK_TIMEOUT + 120)
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
