"""A multiplexed NI-DCPower measurement end to end: pin map, TestStand-like setup, Measure, cleanup.

Two DUT pins reach one SMU channel through one multiplexer (NI pin map schema 1.6).
The setup opens and registers the SMU and multiplexer sessions as a TestStand
ProcessSetup does; the plug-in, hosted as its own process and called through the
v2 Measure RPC, connects each pin's route, sources, measures and disconnects; the
cleanup closes and unregisters everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import niswitch
import pytest
from ni.measurementlink.pinmap.v1.client import PinMapClient
from ni.measurementlink.sessionmanagement.v1.client import (
    PinMapContext,
    SessionInitializationBehavior,
    SessionManagementClient,
)

from measurement_client import MeasurementCaller
from support import PROJECT, ServerProcess, launch

PLUGIN = PROJECT / "tests" / "plugins" / "multiplexed_dcpower_plugin.py"
SERVICE_CLASS = "LocalRuntimeMultiplexedDCPower_Python"
PIN_MAP = """<?xml version="1.0" encoding="utf-8"?>
<PinMap schemaVersion="1.6" xmlns="http://www.ni.com/TestStand/SemiconductorModule/PinMap.xsd">
  <Instruments>
    <NIDCPowerInstrument name="SMU1" numberOfChannels="4">
      <ChannelGroup name="SmuGroup" />
    </NIDCPowerInstrument>
    <Multiplexer name="BenchMux" multiplexerTypeId="BenchMuxType" />
  </Instruments>
  <Pins>
    <DUTPin name="In1" />
    <DUTPin name="In2" />
  </Pins>
  <Sites>
    <Site siteNumber="0" />
  </Sites>
  <Connections>
    <MultiplexedConnection instrument="SMU1" channel="0">
      <MultiplexedDUTPinRoute pin="In1" siteNumber="0" multiplexer="BenchMux"
        routeName="c0-&gt;r0" />
      <MultiplexedDUTPinRoute pin="In2" siteNumber="0" multiplexer="BenchMux"
        routeName="c1-&gt;r0" />
    </MultiplexedConnection>
  </Connections>
</PinMap>
"""
SETUP = SessionInitializationBehavior.INITIALIZE_SESSION_THEN_DETACH
CLEANUP = SessionInitializationBehavior.ATTACH_TO_SESSION_THEN_CLOSE


@pytest.fixture(scope="module")
def caller(
    runtime: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MeasurementCaller]:
    directory = tmp_path_factory.mktemp("multiplexed")
    plugin = launch(directory, [sys.executable, str(PLUGIN), str(directory)], ready="hosting ")
    found = MeasurementCaller(SERVICE_CLASS)
    yield found
    found.close()
    plugin.stop()


def setup_sessions(pin_map_id: str) -> None:
    """What a TestStand ProcessSetup does: open the sessions, register them, let go."""
    client = SessionManagementClient()
    context = PinMapContext(pin_map_id=pin_map_id, sites=None)
    with (
        client.reserve_sessions(context) as reservation,
        reservation.initialize_nidcpower_sessions(initialization_behavior=SETUP),
    ):
        client.register_sessions(reservation.session_info)
    multiplexers = client.get_multiplexer_sessions(context)
    with multiplexers.initialize_niswitch_multiplexer_sessions(initialization_behavior=SETUP):
        client.register_multiplexer_sessions(multiplexers.multiplexer_session_info)


def cleanup_sessions() -> None:
    """What a TestStand ProcessCleanup does: attach, close and unregister everything."""
    client = SessionManagementClient()
    with client.reserve_all_registered_sessions() as reservation:
        client.unregister_sessions(reservation.session_info)
        with reservation.initialize_nidcpower_sessions(initialization_behavior=CLEANUP):
            pass
    multiplexers = client.get_all_registered_multiplexer_sessions()
    client.unregister_multiplexer_sessions(multiplexers.multiplexer_session_info)
    with multiplexers.initialize_niswitch_multiplexer_sessions(initialization_behavior=CLEANUP):
        pass


def registered(runtime: ServerProcess) -> dict[str, list[str]]:
    result = subprocess.run(
        [sys.executable, "-m", "local_ni_runtime", "reservations", "--address", runtime.address],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    answer: dict[str, list[str]] = json.loads(result.stdout)
    return answer


def test_measure_through_a_multiplexer_to_two_pins(
    caller: MeasurementCaller, runtime: ServerProcess, tmp_path: Path
) -> None:
    path = tmp_path / "multiplexed.pinmap"
    path.write_text(PIN_MAP, encoding="utf-8")
    pin_map_id = PinMapClient().update_pin_map(path)
    setup_sessions(pin_map_id)
    try:
        for level in (3.0, 5.0):  # twice: each call leaves the routes disconnected
            outputs = caller.measure(pin_map_id, voltage_level=level)
            assert outputs["routes"] == ["c0->r0", "c1->r0"]
            assert outputs["route_connected"] == [True, True]
            assert outputs["channels"] == ["SMU1/0", "SMU1/0"]
            assert outputs["voltages"] == pytest.approx([level, level])
            assert outputs["currents"] == pytest.approx([level / 50e3] * 2)
    finally:
        cleanup_sessions()
    state = registered(runtime)
    assert state["registered_sessions"] == []
    assert state["registered_multiplexer_sessions"] == []
    assert state["reservations"] == []
    # Cleanup closed the multiplexer's driver session: attaching to it now fails.
    with grpc.insecure_channel(runtime.address) as channel:
        attach = niswitch.GrpcSessionOptions(
            channel,
            "BenchMux",
            initialization_behavior=niswitch.SessionInitializationBehavior.ATTACH_TO_SERVER_SESSION,
        )
        with pytest.raises(niswitch.errors.RpcError) as closed:
            niswitch.Session("BenchMux", grpc_options=attach)
    assert closed.value.rpc_code == grpc.StatusCode.FAILED_PRECONDITION
