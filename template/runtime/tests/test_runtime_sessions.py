"""NI Session Management as the local runtime emulates it, through NI's SDK clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import grpc
import niswitch
import pytest
from ni.measurementlink.pinmap.v1 import pin_map_service_pb2 as pin_map_pb2
from ni.measurementlink.pinmap.v1 import pin_map_service_pb2_grpc as pin_map_grpc
from ni.measurementlink.pinmap.v1.client import PinMapClient
from ni.measurementlink.sessionmanagement.v1 import session_management_service_pb2 as pb2
from ni.measurementlink.sessionmanagement.v1 import session_management_service_pb2_grpc as pb2_grpc
from ni.measurementlink.sessionmanagement.v1.client import (
    INSTRUMENT_TYPE_NI_DAQMX,
    INSTRUMENT_TYPE_NI_DCPOWER,
    INSTRUMENT_TYPE_NI_RELAY_DRIVER,
    MultiplexerSessionInformation,
    PinMapContext,
    SessionInformation,
    SessionManagementClient,
)

from local_ni_runtime.server import LocalRuntime

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
def pin_map_id(runtime: LocalRuntime, tmp_path: Path) -> str:
    return register(tmp_path, TWO_SITES)


@pytest.fixture
def multiplexed(runtime: LocalRuntime, tmp_path: Path) -> str:
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
    runtime: LocalRuntime, tmp_path: Path
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
    runtime: LocalRuntime, registered: list[SessionInformation], multiplexed: str
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


# NI's PinMapC facts (ni/measurement-plugin-python, tests/integration/session_management):
# relays on two relay drivers, a system relay, nested relay groups, two sites.
RELAYS = f"""<?xml version="1.0" encoding="utf-8"?>
<PinMap schemaVersion="1.6" xmlns="{NAMESPACE}">
  <Instruments>
    <NIDCPowerInstrument name="DCPower1" numberOfChannels="4">
      <ChannelGroup name="Group" />
    </NIDCPowerInstrument>
    <NIRelayDriverModule name="RelayDriver1" numberOfControlLines="64" />
    <NIRelayDriverModule name="RelayDriver2" numberOfControlLines="64" />
  </Instruments>
  <Pins>
    <DUTPin name="A" />
  </Pins>
  <PinGroups>
    <PinGroup name="Everything">
      <PinReference pin="A" />
    </PinGroup>
  </PinGroups>
  <Relays>
    <SiteRelay name="RelayUsingSameDriver" />
    <SiteRelay name="RelayUsingDifferentDrivers" />
    <SystemRelay name="SystemRelay" />
  </Relays>
  <RelayGroups>
    <RelayGroup name="RelayGroup1">
      <RelayReference relay="RelayUsingSameDriver" />
      <RelayReference relay="SystemRelay" />
    </RelayGroup>
    <RelayGroup name="RelayGroup2">
      <RelayReference relay="RelayGroup1" />
      <RelayReference relay="RelayUsingDifferentDrivers" />
    </RelayGroup>
  </RelayGroups>
  <Sites>
    <Site siteNumber="0" />
    <Site siteNumber="1" />
  </Sites>
  <Connections>
    <Connection pin="A" siteNumber="0,1" instrument="DCPower1" channel="0" />
    <RelayConnection relay="RelayUsingDifferentDrivers" siteNumber="0"
      relayDriverModule="RelayDriver1" controlLine="K10" />
    <RelayConnection relay="RelayUsingDifferentDrivers" siteNumber="1"
      relayDriverModule="RelayDriver2" controlLine="K10" />
    <RelayConnection relay="RelayUsingSameDriver" siteNumber="0"
      relayDriverModule="RelayDriver1" controlLine="K0" />
    <RelayConnection relay="RelayUsingSameDriver" siteNumber="1"
      relayDriverModule="RelayDriver1" controlLine="K1" />
    <SystemRelayConnection relay="SystemRelay" relayDriverModule="RelayDriver1"
      controlLine="K60" />
  </Connections>
</PinMap>
"""

# NI's 2Mio2Pin1Site facts: NI-DAQmx tasks name their channels in channelList.
DAQMX = f"""<?xml version="1.0" encoding="utf-8"?>
<PinMap schemaVersion="1.1" xmlns="{NAMESPACE}">
  <Instruments>
    <NIDAQmxTask name="Dev1" taskType="AnalogInput" channelList="Dev1/ai0" />
    <NIDAQmxTask name="Both" taskType="AnalogInput" channelList="Dev2/ai0:1, Dev3/ai10" />
  </Instruments>
  <Pins>
    <DUTPin name="Pin1" />
    <DUTPin name="Pin2" />
    <DUTPin name="Pin3" />
    <DUTPin name="Pin4" />
  </Pins>
  <Sites>
    <Site siteNumber="0" />
  </Sites>
  <Connections>
    <Connection pin="Pin1" siteNumber="0" instrument="Dev1" channel="Dev1/ai0" />
    <Connection pin="Pin2" siteNumber="0" instrument="Both" channel="Dev3/ai10" />
    <Connection pin="Pin3" siteNumber="0" instrument="Both" channel="Dev2/ai1" />
    <Connection pin="Pin4" siteNumber="0" instrument="Both" channel="Dev2/ai0" />
  </Connections>
</PinMap>
"""


def connected(reservation: Any, names: list[str], **filters: Any) -> list[tuple[object, ...]]:
    """(pin or relay, site, resource, channel) of each connection, as NI's tests compare them."""
    return [
        (c.pin_or_relay_name, c.site, c.session_info.resource_name, c.channel_name)
        for c in reservation.get_connections(object, pin_or_relay_names=names, **filters)
    ]


@pytest.fixture
def relays(runtime: LocalRuntime, tmp_path: Path) -> str:
    return register(tmp_path, RELAYS)


def test_a_relay_group_reserves_its_relays(relays: str) -> None:
    context = PinMapContext(pin_map_id=relays, sites=[0, 1])
    client = SessionManagementClient()
    with client.reserve_sessions(context, ["RelayGroup1"]) as reservation:
        names = ["RelayUsingSameDriver", "SystemRelay"]
        assert connected(reservation, names, sites=[0]) == [
            ("RelayUsingSameDriver", 0, "RelayDriver1", "K0"),
            ("SystemRelay", -1, "RelayDriver1", "K60"),
        ]
        (driver,) = reservation.session_info
    assert (driver.session_name, driver.channel_list, driver.instrument_type_id) == (
        "niRelayDriver-RelayDriver1",
        "K0, K1, K60",
        INSTRUMENT_TYPE_NI_RELAY_DRIVER,
    )


def test_nested_relay_groups_expand_and_map_their_relays(relays: str) -> None:
    context = PinMapContext(pin_map_id=relays, sites=[0])
    with SessionManagementClient().reserve_sessions(context, ["RelayGroup2"]) as reservation:
        names = ["RelayUsingDifferentDrivers", "RelayUsingSameDriver", "SystemRelay"]
        assert connected(reservation, names) == [
            ("RelayUsingDifferentDrivers", 0, "RelayDriver1", "K10"),
            ("RelayUsingSameDriver", 0, "RelayDriver1", "K0"),
            ("SystemRelay", -1, "RelayDriver1", "K60"),
        ]
        assert sorted(connected(reservation, ["RelayGroup2"])) == sorted(
            connected(reservation, names)
        )


def test_reserving_everything_includes_the_relays(relays: str) -> None:
    context = PinMapContext(pin_map_id=relays, sites=[0, 1])
    with SessionManagementClient().reserve_sessions(context) as reservation:
        by_driver = reservation.get_connections(
            object, instrument_type_id=INSTRUMENT_TYPE_NI_RELAY_DRIVER
        )
        found = sorted((c.pin_or_relay_name, c.site, c.channel_name) for c in by_driver)
        types = sorted(s.instrument_type_id for s in reservation.session_info)
    assert found == [
        ("RelayUsingDifferentDrivers", 0, "K10"),
        ("RelayUsingDifferentDrivers", 1, "K10"),
        ("RelayUsingSameDriver", 0, "K0"),
        ("RelayUsingSameDriver", 1, "K1"),
        ("SystemRelay", -1, "K60"),
    ]
    assert types == [INSTRUMENT_TYPE_NI_DCPOWER] + [INSTRUMENT_TYPE_NI_RELAY_DRIVER] * 2


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('controlLine="K60"', 'controlLine="K64"', "no channel 'K64'"),
        ('relay="SystemRelay" relayDriverModule', 'relay="A" relayDriverModule', "'A' is not"),
        ('relayDriverModule="RelayDriver2"', 'relayDriverModule="DCPower1"', "not an <NIRelay"),
        ('<RelayReference relay="SystemRelay" />', '<RelayReference relay="Nope" />', "'Nope'"),
    ],
)
def test_bad_relay_references_are_refused_by_line(
    runtime: LocalRuntime, tmp_path: Path, old: str, new: str, message: str
) -> None:
    xml = RELAYS.replace(old, new)
    if "Nope" in new:  # an unknown relay in a group fails when the group is reserved
        context = PinMapContext(pin_map_id=register(tmp_path, xml), sites=[0])
        with pytest.raises(grpc.RpcError) as caught:
            SessionManagementClient().reserve_sessions(context, ["RelayGroup1"])
    else:
        with pytest.raises(grpc.RpcError) as caught:
            register(tmp_path, xml)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in str(caught.value.details())


def test_daqmx_tasks_name_their_channels_in_the_channel_list(
    runtime: LocalRuntime, tmp_path: Path
) -> None:
    context = PinMapContext(pin_map_id=register(tmp_path, DAQMX), sites=[0])
    pins = ["Pin1", "Pin2", "Pin3", "Pin4"]
    with SessionManagementClient().reserve_sessions(context, pins) as reservation:
        sessions = [
            (s.session_name, s.resource_name, s.channel_list, s.instrument_type_id)
            for s in reservation.session_info
        ]
        assert connected(reservation, ["Pin1", "Pin4"]) == [
            ("Pin1", 0, "Dev1", "Dev1/ai0"),
            ("Pin4", 0, "Both", "Dev2/ai0"),
        ]
    # NI names an NI-DAQmx session after its task (NI's acceptance test expects "Dev1").
    assert sessions == [
        ("Dev1", "Dev1", "Dev1/ai0", INSTRUMENT_TYPE_NI_DAQMX),
        ("Both", "Both", "Dev2/ai0, Dev2/ai1, Dev3/ai10", INSTRUMENT_TYPE_NI_DAQMX),
    ]


def test_a_daqmx_channel_outside_the_channel_list_is_refused(
    runtime: LocalRuntime, tmp_path: Path
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        register(tmp_path, DAQMX.replace('channel="Dev1/ai0"', 'channel="Dev1/ai1"'))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "instrument 'Dev1' has no channel 'Dev1/ai1'" in str(caught.value.details())


def test_digital_pattern_channels_are_named_by_site_and_pin(
    runtime: LocalRuntime, tmp_path: Path
) -> None:
    # NI's 2Digital2Group4Pin1Site facts: channel lists read "site0/CS, site0/SCLK, ...".
    xml = f"""<?xml version="1.0" encoding="utf-8"?>
<PinMap schemaVersion="1.5" xmlns="{NAMESPACE}">
  <Instruments>
    <NIDigitalPatternInstrument name="DigitalPattern1" numberOfChannels="32" group="Digital0" />
  </Instruments>
  <Pins><DUTPin name="CS" /><DUTPin name="SCLK" /><SystemPin name="VCC" /></Pins>
  <Sites><Site siteNumber="0" /><Site siteNumber="1" /></Sites>
  <Connections>
    <Connection pin="CS" siteNumber="0" instrument="DigitalPattern1" channel="0" />
    <Connection pin="SCLK" siteNumber="0" instrument="DigitalPattern1" channel="1" />
    <Connection pin="CS" siteNumber="1" instrument="DigitalPattern1" channel="2" />
    <SystemConnection pin="VCC" instrument="DigitalPattern1" channel="3" />
  </Connections>
</PinMap>
"""
    context = PinMapContext(pin_map_id=register(tmp_path, xml), sites=[0, 1])
    with SessionManagementClient().reserve_sessions(context) as reservation:
        (session,) = reservation.session_info
        assert connected(reservation, ["CS"]) == [
            ("CS", 0, "DigitalPattern1", "site0/CS"),
            ("CS", 1, "DigitalPattern1", "site1/CS"),
        ]
    assert session.session_name == "niDigitalPattern-DigitalPattern1"
    assert session.channel_list == "site0/CS, site0/SCLK, site1/CS, VCC"


def test_the_pin_map_service_lists_pins_relays_and_their_groups(
    runtime: LocalRuntime, relays: str
) -> None:
    with grpc.insecure_channel(runtime.address) as channel:
        stub = pin_map_grpc.PinMapServiceStub(channel)
        pins = stub.QueryPins(pin_map_pb2.QueryPinsRequest(pin_map_id=relays))
        by_type = stub.QueryPins(
            pin_map_pb2.QueryPinsRequest(
                pin_map_id=relays, instrument_type_id=INSTRUMENT_TYPE_NI_RELAY_DRIVER
            )
        )
        found = stub.QueryRelays(pin_map_pb2.QueryRelaysRequest(pin_map_id=relays))
        with pytest.raises(grpc.RpcError) as unknown:
            stub.QueryRelays(pin_map_pb2.QueryRelaysRequest(pin_map_id="no such pin map"))
    assert [(p.display_name, p.is_system_pin) for p in pins.pins] == [("A", False)]
    assert [(g.display_name, list(g.resolved_pins)) for g in pins.pin_groups] == [
        ("Everything", ["A"])
    ]
    assert list(by_type.pins) == []  # no pin is wired to a relay driver
    assert [(r.display_name, r.is_system_relay) for r in found.relays] == [
        ("RelayUsingSameDriver", False),
        ("RelayUsingDifferentDrivers", False),
        ("SystemRelay", True),
    ]
    nested = {g.display_name: list(g.resolved_relays) for g in found.relay_groups}
    assert nested == {
        "RelayGroup1": ["RelayUsingSameDriver", "SystemRelay"],
        "RelayGroup2": ["RelayUsingSameDriver", "SystemRelay", "RelayUsingDifferentDrivers"],
    }
    assert isinstance(unknown.value, grpc.Call)
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
