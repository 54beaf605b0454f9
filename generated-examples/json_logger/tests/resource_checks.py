"""What the example plug-ins and TestStand steps log, and the records they leave in the file.

tests/plugins/test_example_plugins.py and tests/plugins/test_local_runtime.py call these after
their own checks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from json_logger_client import JsonLoggerClient

DCPOWER = "NI-DCPower source and measure"
DMM = "NI-DMM DC voltage"


def records(path: str | Path) -> list[dict[str, Any]]:
    """The records of a log file, in order."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def use_in_step(session: JsonLoggerClient, step: str) -> None:
    """What a measurement step of the TestStand flow does with the shared session."""
    session.log_data(step, {"step": step}, {"result": "pass"})


def check_teststand_flow(resources: list[str]) -> None:
    """Both steps logged to the pin map's file, in order."""
    assert [record["measurement_name"] for record in records(resources[0])] == ["first", "second"]


def check_dcpower(resource: str) -> None:
    """Each NI-DCPower measurement logged its configuration and outputs."""
    first, second = records(resource)
    assert first["measurement_configurations"]["voltage_level"] == "5.0"
    assert first["measurement_outputs"]["in_compliance"] == "[False]"
    assert second["measurement_configurations"]["current_limit"] == "1e-05"
    assert second["measurement_outputs"]["in_compliance"] == "[True]"


def check_dmm(resource: str, outputs: dict[str, Any]) -> None:
    """The NI-DMM measurement logged what it returned."""
    (record,) = records(resource)
    resolution = str(outputs["absolute_resolution"])
    assert record["measurement_outputs"]["absolute_resolution"] == resolution
    assert record["measurement_configurations"]["resolution_digits"] == "5.5"


def check_concurrent(resource: str) -> None:
    """Every measurement made at once logged one whole record."""
    names = [record["measurement_name"] for record in records(resource)]
    assert sorted(names) == [DCPOWER] * 5 + [DMM] * 5


def demo_arguments(directory: Path) -> list[str]:
    """Arguments of examples/teststand/demo.py that keep its log file in `directory`."""
    return ["--log", str(directory / "demo.ndjson")]


def check_demo(directory: Path, stdout: str) -> None:
    """Both plug-ins logged to the demo's file, and the demo printed its records."""
    names = [record["measurement_name"] for record in records(directory / "demo.ndjson")]
    assert names == [DCPOWER, DMM]
    assert f'"measurement_name": "{DMM}"' in stdout
