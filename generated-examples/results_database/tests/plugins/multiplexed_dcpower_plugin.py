"""A measurement plug-in that sources and measures DUT pins reached through multiplexers.

    python tests/multiplexed_dcpower_plugin.py DIRECTORY

Writes its .serviceconfig to DIRECTORY, hosts itself (through NI_LOCAL_RUNTIME when
set) and prints `hosting <service class>`. For each pin it connects the pin map's
multiplexer route, sources a DC voltage on the NI-DCPower channel behind it,
measures, and disconnects the route again, so the next pin can use the same channel.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import ni_measurement_plugin_sdk_service as nims
import nidcpower
import niswitch

from session_service_core.stopping import stop_requests

SERVICE_CLASS = "LocalRuntimeMultiplexedDCPower_Python"


def service(directory: Path) -> nims.MeasurementService:
    """Write the .serviceconfig to `directory` and return the measurement service."""
    config = directory / "MultiplexedDCPower.serviceconfig"
    config.write_text(
        json.dumps(
            {
                "services": [
                    {
                        "displayName": "NI-DCPower through a multiplexer",
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

    @measurement_service.register_measurement
    @measurement_service.configuration(
        "pin_names",
        nims.DataType.IOResourceArray1D,
        ["In1", "In2"],
        instrument_type=nims.session_management.INSTRUMENT_TYPE_NI_DCPOWER,
    )
    @measurement_service.configuration("voltage_level", nims.DataType.Double, 1.0)
    @measurement_service.configuration("current_limit", nims.DataType.Double, 0.01)
    @measurement_service.output("routes", nims.DataType.StringArray1D)
    @measurement_service.output("route_connected", nims.DataType.BooleanArray1D)
    @measurement_service.output("channels", nims.DataType.StringArray1D)
    @measurement_service.output("voltages", nims.DataType.DoubleArray1D)
    @measurement_service.output("currents", nims.DataType.DoubleArray1D)
    def measure(
        pin_names: list[str], voltage_level: float, current_limit: float
    ) -> tuple[list[str], list[bool], list[str], list[float], list[float]]:
        routes: list[str] = []
        connected: list[bool] = []
        channels: list[str] = []
        voltages: list[float] = []
        currents: list[float] = []
        context = measurement_service.context
        with (
            context.reserve_sessions(pin_names) as reservation,
            reservation.initialize_nidcpower_sessions(),
            reservation.initialize_niswitch_multiplexer_sessions(),
        ):
            for connection in reservation.get_nidcpower_connections_with_multiplexer(
                niswitch.Session, pin_names
            ):
                multiplexer = connection.multiplexer_session
                route = connection.multiplexer_route
                multiplexer.connect_multiple(route)
                try:
                    multiplexer.wait_for_debounce()
                    routes.append(route)
                    connected.append(all(_exists(multiplexer, leg) for leg in route.split(",")))
                    channels.append(connection.channel_name)
                    channel = connection.session.channels[connection.channel_name]
                    channel.source_mode = nidcpower.SourceMode.SINGLE_POINT
                    channel.output_function = nidcpower.OutputFunction.DC_VOLTAGE
                    channel.current_limit = current_limit
                    channel.voltage_level = voltage_level
                    with channel.initiate():
                        channel.wait_for_event(nidcpower.Event.SOURCE_COMPLETE, timeout=10.0)
                        (reading,) = channel.measure_multiple()
                    voltages.append(reading.voltage)
                    currents.append(reading.current)
                finally:
                    multiplexer.disconnect_multiple(route)
        return routes, connected, channels, voltages, currents

    return measurement_service


def _exists(multiplexer: niswitch.Session, leg: str) -> bool:
    """Tell whether the multiplexer has the leg "a->b" connected."""
    first, *_, last = (part.strip() for part in leg.strip(" []").split("->"))
    return bool(multiplexer.can_connect(first, last) == niswitch.PathCapability.PATH_EXISTS)


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
