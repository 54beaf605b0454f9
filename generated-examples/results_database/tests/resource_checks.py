"""What the example plug-ins and TestStand steps log, and the rows they leave in the database.

tests/plugins/test_example_plugins.py and tests/plugins/test_local_runtime.py call these after
their own checks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from results_database_client import ResultsDatabaseClient

DCPOWER = "NI-DCPower source and measure"
DMM = "NI-DMM DC voltage"


def rows(database_url: str) -> list[dict[str, Any]]:
    """Every row of the database, oldest first, read through a session of its own."""
    with ResultsDatabaseClient(database_url) as session:
        return list(reversed(session.results(limit=10_000)))


def use_in_step(session: ResultsDatabaseClient, step: str) -> None:
    """What a measurement step of the TestStand flow does with the shared session."""
    session.log_result(measurement_name=step, status="Passed")


def check_teststand_flow(resources: list[str]) -> None:
    """Both steps logged to the pin map's database, in order."""
    assert [row["measurement_name"] for row in rows(resources[0])] == ["first", "second"]


def check_dcpower(resource: str) -> None:
    """Each NI-DCPower measurement logged a row, Failed when in compliance."""
    first, second = rows(resource)
    assert first["configurations"]["voltage_level"] == 5.0  # JSON values, as json.dumps made them
    assert (first["status"], second["status"]) == ("Passed", "Failed")
    assert second["outputs"]["in_compliance"] == [True]
    assert first["configurations"]["pin_names"] == first["pin_names"]
    assert first["pin_names"] == second["pin_names"] != []


def check_dmm(resource: str, outputs: dict[str, Any]) -> None:
    """The NI-DMM measurement logged what it returned."""
    (row,) = rows(resource)
    assert row["outputs"]["absolute_resolution"] == outputs["absolute_resolution"]
    assert row["configurations"]["resolution_digits"] == 5.5
    assert row["pin_names"] == ["DmmPin"]


def check_concurrent(resource: str) -> None:
    """Every measurement made at once logged one row."""
    names = [row["measurement_name"] for row in rows(resource)]
    assert sorted(names) == [DCPOWER] * 5 + [DMM] * 5


def demo_arguments(directory: Path) -> list[str]:
    """Arguments of examples/teststand/demo.py that keep its database in `directory`."""
    return ["--database", f"sqlite:///{(directory / 'demo.db').as_posix()}"]


def check_demo(directory: Path, stdout: str) -> None:
    """Both plug-ins logged to the demo's database, and the demo printed the rows."""
    names = [
        row["measurement_name"] for row in rows(f"sqlite:///{(directory / 'demo.db').as_posix()}")
    ]
    assert names == [DCPOWER, DMM]
    assert f'"measurement_name": "{DMM}"' in stdout
