"""NI-DCPower source-and-measure plug-in that shares a ResultsDatabase session.

Sources a DC voltage on the SMU pins, measures voltage and current, and uses the
ResultsDatabase resource reserved through the same pin map: what it does with the session
is in session_use.py, beside this file.
Run it with start.bat / start.sh, or `python measurement.py`.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import ni_measurement_plugin_sdk_service as nims
import nidcpower

from results_database_client import (
    RESULTS_DATABASE_INSTRUMENT_TYPE,
    ResultsDatabaseSessionConstructor,
)
from session_service_core import local_runtime
from session_service_core.stopping import stop_requests

import session_use

SERVICE_DIRECTORY = Path(__file__).resolve().parent
RESERVATION_TIMEOUT = 30.0  # seconds
measurement_service = nims.MeasurementService(
    service_config_path=SERVICE_DIRECTORY / "NIDCPowerMeasurement.serviceconfig",
    ui_file_paths=[SERVICE_DIRECTORY / "NIDCPowerMeasurement.measui"],
)


@measurement_service.register_measurement
@measurement_service.configuration(
    "pin_names",
    nims.DataType.IOResourceArray1D,
    ["SmuPin"],
    instrument_type=nims.session_management.INSTRUMENT_TYPE_NI_DCPOWER,
)
@measurement_service.configuration(
    "resource_pin",
    nims.DataType.IOResource,
    "ResultsDatabasePin",
    instrument_type=RESULTS_DATABASE_INSTRUMENT_TYPE,
)
@measurement_service.configuration("voltage_level", nims.DataType.Double, 1.0)
@measurement_service.configuration("voltage_level_range", nims.DataType.Double, 6.0)
@measurement_service.configuration("current_limit", nims.DataType.Double, 0.01)
@measurement_service.configuration("current_limit_range", nims.DataType.Double, 0.01)
@measurement_service.configuration("source_delay", nims.DataType.Double, 0.0)
@measurement_service.output("measured_voltages", nims.DataType.DoubleArray1D)
@measurement_service.output("measured_currents", nims.DataType.DoubleArray1D)
@measurement_service.output("in_compliance", nims.DataType.BooleanArray1D)
@measurement_service.output("resource_session_name", nims.DataType.String)
def measure(
    pin_names: list[str],
    resource_pin: str,
    voltage_level: float,
    voltage_level_range: float,
    current_limit: float,
    current_limit_range: float,
    source_delay: float,
) -> tuple[list[float], list[float], list[bool], str]:
    """Source `voltage_level` on every pin and measure it."""
    # Another plug-in may hold the shared resource for a moment: wait for it.
    pins = [*pin_names, resource_pin]
    context = measurement_service.context
    with context.reserve_sessions(pins, timeout=RESERVATION_TIMEOUT) as reservation:  # noqa: SIM117
        with (
            reservation.initialize_nidcpower_sessions(),
            reservation.initialize_session(
                ResultsDatabaseSessionConstructor(
                    discovery_client=measurement_service.discovery_client,
                    grpc_channel_pool=measurement_service.channel_pool,
                ),
                RESULTS_DATABASE_INSTRUMENT_TYPE,
            ) as resource_info,
        ):
            voltages: list[float] = []
            currents: list[float] = []
            compliance: list[bool] = []
            for connection in reservation.get_nidcpower_connections(pin_names):
                channel = connection.session.channels[connection.channel_name]
                channel.source_mode = nidcpower.SourceMode.SINGLE_POINT
                channel.output_function = nidcpower.OutputFunction.DC_VOLTAGE
                channel.voltage_level_range = voltage_level_range
                channel.current_limit_range = current_limit_range
                channel.current_limit = current_limit
                channel.source_delay = source_delay
                channel.voltage_level = voltage_level
                with channel.initiate():
                    channel.wait_for_event(nidcpower.Event.SOURCE_COMPLETE, timeout=10.0)
                    (reading,) = channel.measure_multiple()
                    voltages.append(reading.voltage)
                    currents.append(reading.current)
                    compliance.append(channel.query_in_compliance())
            resource = resource_info.session
            configuration = {
                "pin_names": pin_names,
                "voltage_level": voltage_level,
                "voltage_level_range": voltage_level_range,
                "current_limit": current_limit,
                "current_limit_range": current_limit_range,
                "source_delay": source_delay,
            }
            outputs = {
                "measured_voltages": voltages,
                "measured_currents": currents,
                "in_compliance": compliance,
            }
            more_outputs = session_use.use_session(
                resource, "NI-DCPower source and measure", configuration, outputs
            )
            return (voltages, currents, compliance, *more_outputs, resource.session_name)


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
