"""A measurement plug-in with a configuration of every type MeasurementCaller accepts.

    python tests/every_type_plugin.py DIRECTORY

Writes its .serviceconfig to DIRECTORY, hosts itself (through NI_LOCAL_RUNTIME when
set) and prints `hosting <service class>`. Measure returns every configuration
unchanged, as outputs of the same types, so a caller sees what the plug-in got.
"""

from __future__ import annotations

import enum
import inspect
import json
import sys
from pathlib import Path
from typing import Any

import ni_measurement_plugin_sdk_service as nims

from session_service_core.stopping import stop_requests

SERVICE_CLASS = "LocalRuntimeEveryTypeMeasurement_Python"


class Function(enum.Enum):
    """A DMM-like measurement function."""

    DC_VOLTS = 0
    AC_VOLTS = 1
    RESISTANCE = 5


class Edge(enum.Enum):
    """A second enum, to show each parameter keeps its own values."""

    RISING = 0
    FALLING = 1


D = nims.DataType
# (name, type, default, enum type): one configuration and one output each.
PARAMETERS: list[tuple[str, nims.DataType, Any, type[enum.Enum] | None]] = [
    ("function", D.Enum, Function.DC_VOLTS, Function),
    ("functions", D.EnumArray1D, [Function.DC_VOLTS], Function),
    ("edge", D.Enum, Edge.FALLING, Edge),
    ("log_path", D.Path, "log.txt", None),
    ("log_paths", D.PathArray1D, ["a.txt"], None),
    ("instrument", D.IOResource, "DMM1", None),
    ("instruments", D.IOResourceArray1D, ["DMM1"], None),
    ("pin", D.Pin, "Pin1", None),
    ("pins", D.PinArray1D, ["Pin1"], None),
    ("enabled", D.Boolean, True, None),
    ("flags", D.BooleanArray1D, [False], None),
    ("label", D.String, "text", None),
    ("labels", D.StringArray1D, ["one"], None),
    ("int32", D.Int32, -3, None),
    ("int32s", D.Int32Array1D, [1, -2], None),
    ("int64", D.Int64, -(2**40), None),
    ("int64s", D.Int64Array1D, [2**40], None),
    ("uint32", D.UInt32, 7, None),
    ("uint32s", D.UInt32Array1D, [7], None),
    ("uint64", D.UInt64, 2**40, None),
    ("uint64s", D.UInt64Array1D, [2**40], None),
    ("float", D.Float, 0.5, None),
    ("floats", D.FloatArray1D, [0.25], None),
    ("double", D.Double, 1.5, None),
    ("doubles", D.DoubleArray1D, [1.5, -2.5], None),
]


def service(directory: Path) -> nims.MeasurementService:
    """Write the .serviceconfig to `directory` and return the service with every parameter."""
    config = directory / "EveryType.serviceconfig"
    config.write_text(
        json.dumps(
            {
                "services": [
                    {
                        "displayName": "Every configuration type",
                        "serviceClass": SERVICE_CLASS,
                        "descriptionUrl": "",
                        "providedInterfaces": [
                            "ni.measurementlink.measurement.v1.MeasurementService",
                            "ni.measurementlink.measurement.v2.MeasurementService",
                        ],
                        "path": "start.bat",
                        "version": "1.0.0.0",
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    measurement_service = nims.MeasurementService(service_config_path=config, ui_file_paths=[])

    names = [name for name, _, _, _ in PARAMETERS]

    def measure(**values: Any) -> tuple[Any, ...]:
        return tuple(values[name] for name in names)

    # NI's SDK passes the configurations by the measure function's parameter names.
    measure.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in names]
    )
    for name, data_type, default, enum_type in PARAMETERS:
        measurement_service.configuration(name, data_type, default, enum_type=enum_type)
    for name, data_type, _, enum_type in PARAMETERS:
        measurement_service.output(f"{name}_out", data_type, enum_type=enum_type)
    measurement_service.register_measurement(measure)
    return measurement_service


def main() -> None:
    """Host the plug-in until it is asked to stop."""
    measurement_service = service(Path(sys.argv[1]))
    measurement_service.host_service()
    with stop_requests() as stopper:
        try:
            print(f"hosting {SERVICE_CLASS}", flush=True)
            stopper.wait()
        finally:
            measurement_service.close_service()


if __name__ == "__main__":
    main()
