"""NI-DMM measurement plug-in that shares a JsonLogger session.

Reads the DMM pin with the chosen measurement function (DC volts by default), range
and resolution, and uses the JsonLogger resource reserved through the same pin map:
what it does with the session is in session_use.py, beside this file.
Run it with start.bat / start.sh, or `python measurement.py`.
"""

from __future__ import annotations

import enum
import logging
import math
import sys
from pathlib import Path

import ni_measurement_plugin_sdk_service as nims
import nidmm

from json_logger_client import JSON_LOGGER_INSTRUMENT_TYPE, JsonLoggerSessionConstructor
from session_service_core import local_runtime
from session_service_core.stopping import stop_requests

import session_use

SERVICE_DIRECTORY = Path(__file__).resolve().parent
RESERVATION_TIMEOUT = 30.0  # seconds
measurement_service = nims.MeasurementService(
    service_config_path=SERVICE_DIRECTORY / "NIDmmMeasurement.serviceconfig",
    ui_file_paths=[SERVICE_DIRECTORY / "NIDmmMeasurement.measui"],
)


class Function(enum.Enum):
    """The NI-DMM measurement functions offered (NI's SDK needs one enum value to be 0)."""

    DC_VOLTS = 0
    AC_VOLTS = 1
    DC_CURRENT = 2
    AC_CURRENT = 3
    TWO_WIRE_RES = 4
    FOUR_WIRE_RES = 5


@measurement_service.register_measurement
@measurement_service.configuration(
    "pin_name",
    nims.DataType.IOResource,
    "DmmPin",
    instrument_type=nims.session_management.INSTRUMENT_TYPE_NI_DMM,
)
@measurement_service.configuration(
    "resource_pin",
    nims.DataType.IOResource,
    "JsonLoggerPin",
    instrument_type=JSON_LOGGER_INSTRUMENT_TYPE,
)
@measurement_service.configuration(
    "function", nims.DataType.Enum, Function.DC_VOLTS, enum_type=Function
)
@measurement_service.configuration("range", nims.DataType.Double, 10.0)
@measurement_service.configuration("resolution_digits", nims.DataType.Double, 5.5)
@measurement_service.output("measured_value", nims.DataType.Double)
@measurement_service.output("signal_out_of_range", nims.DataType.Boolean)
@measurement_service.output("absolute_resolution", nims.DataType.Double)
@measurement_service.output("resource_session_name", nims.DataType.String)
def measure(
    pin_name: str,
    resource_pin: str,
    function: Function,
    range: float,
    resolution_digits: float,
) -> tuple[float, bool, float, str]:
    """Read with `function`, `range` (-1: auto range) and `resolution_digits`."""
    # Another plug-in may hold the shared resource for a moment: wait for it.
    pins = [pin_name, resource_pin]
    context = measurement_service.context
    with context.reserve_sessions(pins, timeout=RESERVATION_TIMEOUT) as reservation:  # noqa: SIM117
        with (
            reservation.initialize_nidmm_session() as dmm_info,
            reservation.initialize_session(
                JsonLoggerSessionConstructor(
                    discovery_client=measurement_service.discovery_client,
                    grpc_channel_pool=measurement_service.channel_pool,
                ),
                JSON_LOGGER_INSTRUMENT_TYPE,
            ) as resource_info,
        ):
            dmm = dmm_info.session
            dmm_function = nidmm.Function[function.name]
            dmm.configure_measurement_digits(dmm_function, range, resolution_digits)
            measured_value = dmm.read()
            signal_out_of_range = math.isnan(measured_value) or math.isinf(measured_value)
            absolute_resolution = dmm.resolution_absolute
            resource = resource_info.session
            configuration = {
                "pin_name": pin_name,
                "function": function.name,
                "range": range,
                "resolution_digits": resolution_digits,
            }
            outputs = {
                "measured_value": measured_value,
                "signal_out_of_range": signal_out_of_range,
                "absolute_resolution": absolute_resolution,
            }
            more_outputs = session_use.use_session(
                resource, "NI-DMM DC voltage", configuration, outputs
            )
            return (
                measured_value,
                signal_out_of_range,
                absolute_resolution,
                *more_outputs,
                resource.session_name,
            )


def main() -> None:
    """Host the measurement service until it is asked to stop."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        measurement_service.host_service()
    except NotImplementedError as error:  # NI Discovery Service exists only on Windows
        sys.exit(
            f"error: {error}. Without NI software, start the local runtime and set "
            "NI_LOCAL_RUNTIME to its address (see examples/README.md)."
        )
    except Exception as error:  # noqa: BLE001  (the SDK raises several kinds)
        sys.exit(
            f"error: could not register with NI Discovery Service ({type(error).__name__}: "
            f"{error}).{local_runtime.hint()}"
        )
    with stop_requests() as stopper:
        try:
            print(f"hosting {measurement_service.service_info.service_class}", flush=True)
            stopper.wait()
        finally:
            measurement_service.close_service()


if __name__ == "__main__":
    main()
