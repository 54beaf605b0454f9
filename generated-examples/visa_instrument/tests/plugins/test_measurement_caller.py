"""MeasurementCaller calls a hosted plug-in with a configuration of every type, over Measure."""

from __future__ import annotations

import enum
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from measurement_client import MeasurementCaller
from support import PROJECT, ServerProcess, launch

PLUGIN = PROJECT / "tests" / "plugins" / "every_type_plugin.py"
SERVICE_CLASS = "LocalRuntimeEveryTypeMeasurement_Python"

# A value of every configuration type, none of them the plug-in's default.
CHOSEN: dict[str, Any] = {
    "function": "AC_VOLTS",  # an enum by its name
    "functions": [5, "AC_VOLTS"],  # by number and by name
    "edge": "RISING",
    "log_path": Path("logs") / "run.txt",  # os.PathLike for a path
    "log_paths": ("b.txt", Path("c.txt")),  # a tuple for an array
    "instrument": "GPIB0::3::INSTR",
    "instruments": ["DMM1", "DMM2"],
    "pin": "Pin2",
    "pins": ["Pin1", "Pin2"],
    "enabled": False,
    "flags": [True, False, True],
    "label": "Ünïcode ✓",
    "labels": ["", "two"],
    "int32": -(2**31),
    "int32s": [2**31 - 1, 0],
    "int64": 2**62,
    "int64s": [-(2**63)],
    "uint32": 2**32 - 1,
    "uint32s": [0, 1],
    "uint64": 2**64 - 1,
    "uint64s": [2**63],
    "float": 0.75,
    "floats": [1, 0.5],  # an int where a number is taken
    "double": -1e300,
    "doubles": [],
}


@pytest.fixture(scope="module")
def caller(
    runtime: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MeasurementCaller]:
    """The plug-in hosted in its own process, and a caller found through discovery."""
    directory = tmp_path_factory.mktemp("every_type")
    command = [sys.executable, str(PLUGIN), str(directory)]
    plugin = launch(directory, command, ready="hosting ")
    found = MeasurementCaller(SERVICE_CLASS)
    yield found
    found.close()
    plugin.stop()


def plain(value: Any) -> Any:
    """Enum members as their names, paths as strings, lists element by element."""
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value.name if isinstance(value, enum.Enum) else value


def test_defaults_come_from_the_plugins_metadata(caller: MeasurementCaller) -> None:
    defaults = {name: plain(value) for name, value in caller.defaults.items()}
    assert defaults["function"] == "DC_VOLTS"
    assert defaults["functions"] == ["DC_VOLTS"]
    assert defaults["edge"] == "FALLING"
    assert defaults["log_paths"] == ["a.txt"]
    assert defaults["int64"] == -(2**40)
    assert len(defaults) == len(CHOSEN)


def test_every_type_reaches_the_plugin_and_comes_back(caller: MeasurementCaller) -> None:
    outputs = caller.measure("", **CHOSEN)
    got = {name.removesuffix("_out"): plain(value) for name, value in outputs.items()}
    assert got.pop("function") == "AC_VOLTS"
    assert got.pop("functions") == ["RESISTANCE", "AC_VOLTS"]
    assert got.pop("edge") == "RISING"
    assert got.pop("log_path") == str(Path("logs") / "run.txt")
    assert got.pop("log_paths") == ["b.txt", "c.txt"]
    assert got.pop("float") == pytest.approx(0.75)
    assert got.pop("floats") == pytest.approx([1.0, 0.5])
    expected = {name: CHOSEN[name] for name in got}
    assert got == expected


def test_enum_members_of_the_plugins_own_enum_are_accepted(caller: MeasurementCaller) -> None:
    class Function(enum.Enum):
        DC_VOLTS = 0
        RESISTANCE = 5

    outputs = caller.measure("", function=Function.RESISTANCE)
    assert plain(outputs["function_out"]) == "RESISTANCE"
    assert plain(outputs["edge_out"]) == "FALLING"  # left out: the plug-in's default


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("function", "DC_AMPS", "accepted: DC_VOLTS (0), AC_VOLTS (1), RESISTANCE (5)"),
        ("function", 2, "does not accept 2"),
        ("functions", "AC_VOLTS", "is a 1-D array: pass a list"),
        ("log_path", 3, "takes a path (str or os.PathLike)"),
        ("enabled", 1, "takes True or False"),
        ("uint32", -1, "takes an integer from 0 to 4294967295"),
        ("int32", 1.5, "takes an integer"),
        ("double", "1.0", "takes a number"),
        ("nonexistent", 1, "Unknown parameters ['nonexistent']"),
    ],
)
def test_a_wrong_value_is_refused_saying_what_is_accepted(
    caller: MeasurementCaller, name: str, value: Any, message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        caller.measure("", **{name: value})
    assert message in str(caught.value)
