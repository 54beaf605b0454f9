"""NI Session Management as the local runtime emulates it, through NI's SDK clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import grpc
import niswitch
import pytest
from ni.measurementlink.pinmap.v1.client import PinMapClient
from ni.measurementlink.sessionmanagement.v1 import session_management_service_pb2 as pb2
from ni.measurementlink.sessionmanagement.v1 import session_management_service_pb2_grpc as pb2_grpc
from ni.measurementlink.sessionmanagement.v1.client import (
    INSTRUMENT_TYPE_NI_DCPOWER,
    MultiplexerSessionInformation,
    PinMapContext,
    SessionInformation,
    SessionManagementClient,
)

from support import ServerProcess

NAMESPACE = "http://www.ni.com/TestStand/SemiconductorModule/PinMap.xsd"
TWO_SITES = f"""<?xml version="1.0" encoding="utf-8"?>
<PinMap schemaVersion="1.1" xmlns="{NAMESPACE}">
  <Instruments>
    <NIDCPowerInstrument name="DCPower1" numberOfChannels="4">
      <ChannelGroup name="CommonDCPowerChannelGroup" />
    </NIDCPowerInstrument>
    <NIDmmInstrument name="DMM1" />
  </Instruments>
  <Pins>
    <DUTPin name="Vdd" />
    <DUTPin name="Out" />
  </Pins>
  <Sites>
    <Site siteNumber="0" />
    <Site siteNumber="1" />
  </Sites>
  <Connections>
    <Connection pin="Vdd" siteNumber="0" instrument="DCPower1" channel="0" />
    <Connection pin="Vdd" siteNumber="1" instrument="DCPower1" channel="2" />
    <Connection pin="Out" siteNumber="0,1" instrument="DMM1" channel="0" />
  </Connections>
</PinMap>
"""

# Schema 1.6: one SMU channel group, DUT pins reached through two multiplexers.
MULTIPLEXED = f"""<?xml version="1.0" encoding="utf-8"?>
<PinMap schemaVersion="1.6" xmlns="{NAMESPACE}">
  <Instruments>
    <NIDCPowerInstrument name="SMU1" numberOfChannels="4">
      <ChannelGroup name="SmuGroup" />
    </NIDCPowerInstrument>
    <Multiplexer name="MuxA" multiplexerTypeId="BenchMux" />
    <Multiplexer name="MuxB" multiplexerTypeId="OtherMux" />
  </Instruments>
  <Pins>
    <DUTPin name="In1" />
    <DUTPin name="In2" />
    <DUTPin name="Out" />
  </Pins>
  <Sites>
    <Site siteNumber="0" />
    <Site siteNumber="1" />
  </Sites>
  <Connections>
    <MultiplexedConnection instrument="SMU1" channel="0">
      <MultiplexedDUTPinRoute pin="In1" siteNumber="0" multiplexer="MuxA" routeName="c0-&gt;r0" />
      <MultiplexedDUTPinRoute pin="In2" siteNumber="0" multiplexer="MuxA" routeName="c1-&gt;r0" />
    </MultiplexedConnection>
    <MultiplexedConnection instrument="SMU1" channel="1">
      <MultiplexedDUTPinRoute pin="In1" siteNumber="1" multiplexer="MuxB"
        routeName="c4-&gt;r1, c5-&gt;r1" />
    </MultiplexedConnection>
    <Connection pin="Out" siteNumber="0,1" instrument="SMU1" channel="3" />
  </Connections>
</PinMap>
"""


def register(tmp_path: Path, xml: str) -> str:
    path = tmp_path / "registered.pinmap"
    path.write_text(xml, encoding="utf-8")
    return PinMapClient().update_pin_map(path)


@pytest.fixture
def pin_map_id(runtime: ServerProcess, tmp_path: Path) -> str:
    return register(tmp_path, TWO_SITES)


@pytest.fixture
def multiplexed(runtime: ServerProcess, tmp_path: Path) -> str:
    return register(tmp_path, MULTIPLEXED)


@pytest.fixture
def registered(pin_map_id: str) -> Iterator[list[SessionInformation]]:
    """Every session of the pin map, registered as TestStand's setup registers them."""
    client = SessionManagementClient()
    with client.reserve_sessions(PinMapContext(pin_map_id=pin_map_id, sites=None)) as reserved:
        sessions = list(reserved.session_info)
        client.register_sessions(sessions)
    yield sessions
    client.unregister_sessions(sessions)


def described(session: SessionInformation) -> tuple[object, ...]:
    """What a plug-in or cleanup module reads of a session."""
    return (
        session.session_name,
        session.resource_name,
        session.channel_list,
        session.instrument_type_id,
        tuple(tuple(mapping) for mapping in session.channel_mappings),
    )


def test_registered_sessions_come_back_complete(registered: list[SessionInformation]) -> None:
    client = SessionManagementClient()
    with client.reserve_all_registered_sessions() as reservation:
        found = {described(session) for session in reservation.session_info}
        assert all(session.session_exists for session in reservation.session_info)
    assert found == {described(session) for session in registered}
    smu = next(s for s in registered if s.instrument_type_id == INSTRUMENT_TYPE_NI_DCPOWER)
    assert smu.channel_list == "DCPower1/0, DCPower1/2"
    assert [(m.pin_or_relay_name, m.site) for m in smu.channel_mappings] == [
        ("Vdd", 0),
        ("Vdd", 1),
    ]


def test_registered_sessions_filtered_by_instrument_type(
    registered: list[SessionInformation],
) -> None:
    client = SessionManagementClient()
    with client.reserve_all_registered_sessions(INSTRUMENT_TYPE_NI_DCPOWER) as reservation:
        (smu,) = reservation.session_info
    assert smu.channel_list == "DCPower1/0, DCPower1/2"
    assert len(list(smu.channel_mappings)) == 2


def test_reserved_connections_carry_their_multiplexer_routes(multiplexed: str) -> None:
    context = PinMapContext(pin_map_id=multiplexed, sites=[0, 1])
    with SessionManagementClient().reserve_sessions(context, ["In1", "In2"]) as reservation:
        (smu,) = reservation.session_info
        routes = [tuple(mapping) for mapping in smu.channel_mappings]
        muxes = [
            (m.session_name, m.resource_name, m.multiplexer_type_id, m.session_exists)
            for m in reservation.multiplexer_session_info
        ]
    assert smu.channel_list == "SMU1/0, SMU1/1"
    assert smu.resource_name == "SMU1/0, SMU1/1, SMU1/3"
    assert routes == [
        ("In1", 0, "SMU1/0", "MuxA", "c0->r0"),
        ("In2", 0, "SMU1/0", "MuxA", "c1->r0"),
        ("In1", 1, "SMU1/1", "MuxB", "c4->r1, c5->r1"),
    ]
    assert muxes == [("MuxA", "MuxA", "BenchMux", False), ("MuxB", "MuxB", "OtherMux", False)]


def test_plugin_style_connections_with_multiplexer_sessions(multiplexed: str) -> None:
    context = PinMapContext(pin_map_id=multiplexed, sites=[0])
    with ExitStack() as stack:
        reservation = stack.enter_context(
            SessionManagementClient().reserve_sessions(context, ["In1", "In2"])
        )
        stack.enter_context(reservation.initialize_nidcpower_sessions())
        stack.enter_context(reservation.initialize_niswitch_multiplexer_sessions(simulate=True))
        connections = reservation.get_nidcpower_connections_with_multiplexer(
            niswitch.Session, ["In1", "In2"]
        )
        for connection in connections:
            connection.multiplexer_session.connect_multiple(connection.multiplexer_route)
        (mux,) = {id(c.multiplexer_session): c.multiplexer_session for c in connections}.values()
        assert mux.can_connect("c1", "r0") == niswitch.PathCapability.PATH_EXISTS
        assert [(c.channel_name, c.multiplexer_resource_name) for c in connections] == [
            ("SMU1/0", "MuxA"),
            ("SMU1/0", "MuxA"),
        ]


def test_multiplexer_sessions_register_look_up_and_unregister(multiplexed: str) -> None:
    client = SessionManagementClient()
    every_site = PinMapContext(pin_map_id=multiplexed, sites=None)
    found = client.get_multiplexer_sessions(every_site)
    assert [m.session_name for m in found.multiplexer_session_info] == ["MuxA", "MuxB"]
    site_0 = PinMapContext(pin_map_id=multiplexed, sites=[0])
    only_a = client.get_multiplexer_sessions(site_0).multiplexer_session_info
    assert [m.session_name for m in only_a] == ["MuxA"]
    bench = client.get_multiplexer_sessions(every_site, "BenchMux").multiplexer_session_info
    assert [m.session_name for m in bench] == ["MuxA"]

    client.register_multiplexer_sessions(found.multiplexer_session_info)
    try:
        registered = client.get_all_registered_multiplexer_sessions()
        assert [m.session_name for m in registered.multiplexer_session_info] == ["MuxA", "MuxB"]
        other = client.get_all_registered_multiplexer_sessions("OtherMux")
        assert [m.session_name for m in other.multiplexer_session_info] == ["MuxB"]
        again = client.get_multiplexer_sessions(site_0).multiplexer_session_info
        assert [m.session_exists for m in again] == [True]
        with pytest.raises(grpc.RpcError) as duplicate:
            client.register_multiplexer_sessions(only_a)
        assert isinstance(duplicate.value, grpc.Call)
        assert duplicate.value.code() == grpc.StatusCode.ALREADY_EXISTS
    finally:
        client.unregister_multiplexer_sessions(found.multiplexer_session_info)
    assert list(client.get_all_registered_multiplexer_sessions().multiplexer_session_info) == []


def test_multiplexer_lookups_get_nis_status_codes(multiplexed: str) -> None:
    client = SessionManagementClient()
    nameless = MultiplexerSessionInformation("", "MuxA", "BenchMux", False)
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: client.register_multiplexer_sessions([nameless]), "INVALID_ARGUMENT"),
        (
            lambda: client.get_multiplexer_sessions(PinMapContext(multiplexed, [7])),
            "INVALID_ARGUMENT",
        ),
        (lambda: client.get_multiplexer_sessions(PinMapContext("/no/such", [0])), "NOT_FOUND"),
    ]
    for call, code in cases:
        with pytest.raises(grpc.RpcError) as caught:
            call()
        assert isinstance(caught.value, grpc.Call)
        assert caught.value.code().name == code


def test_a_route_through_an_undefined_multiplexer_is_refused(
    runtime: ServerProcess, tmp_path: Path
) -> None:
    broken = MULTIPLEXED.replace('multiplexer="MuxB"', 'multiplexer="MuxC"')
    with pytest.raises(grpc.RpcError) as caught:
        register(tmp_path, broken)
    assert isinstance(caught.value, grpc.Call)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "<MultiplexedDUTPinRoute>: multiplexer 'MuxC' is not defined" in (
        caught.value.details() or ""
    )


def test_get_sessions_lists_registered_and_reserved_sessions(
    runtime: ServerProcess, registered: list[SessionInformation], multiplexed: str
) -> None:
    def names(instrument_type_id: str = "") -> list[str]:
        with grpc.insecure_channel(runtime.address) as channel:
            stub = pb2_grpc.SessionManagementServiceStub(channel)
            answer = stub.GetSessions(pb2.GetSessionsRequest(instrument_type_id=instrument_type_id))
        return sorted(info.session.name for info in answer.sessions)

    assert names() == sorted(s.session_name for s in registered)
    assert names(INSTRUMENT_TYPE_NI_DCPOWER) == ["niDCPower-DCPower1/0, DCPower1/2"]
    context = PinMapContext(pin_map_id=multiplexed, sites=[0])
    with SessionManagementClient().reserve_sessions(context, ["In1"]):
        assert "niDCPower-SMU1/0, SMU1/1, SMU1/3" in names(INSTRUMENT_TYPE_NI_DCPOWER)
    assert "niDCPower-SMU1/0, SMU1/1, SMU1/3" not in names()
