"""NI Session Management as the local runtime emulates it, through NI's SDK clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ni.measurementlink.pinmap.v1.client import PinMapClient
from ni.measurementlink.sessionmanagement.v1.client import (
    INSTRUMENT_TYPE_NI_DCPOWER,
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


@pytest.fixture
def pin_map_id(runtime: ServerProcess, tmp_path: Path) -> str:
    path = tmp_path / "two_sites.pinmap"
    path.write_text(TWO_SITES, encoding="utf-8")
    return PinMapClient().update_pin_map(path)


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
