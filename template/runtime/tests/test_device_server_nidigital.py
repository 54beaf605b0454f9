"""The local runtime's simulated NI-Digital Pattern, through NI's nidigital package over gRPC.

NI's acceptance test loads its pin map, specifications, levels, timing and SPI
pattern into a session of DigitalPattern1, bursts "SPI_Pattern" on site 0 and
expects site 0 to pass. The runtime's rule (runtime/README.md, "Simulated
instruments"): a burst runs on the requested sites where the session's
instruments have pins, each of which passes; what is not loaded is refused.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import grpc
import nidigital
import pytest

from local_ni_runtime.server import LocalRuntime

INVALID_VALUE = -1074135024  # IVI: Invalid value for parameter or property
NAMESPACE = "http://www.ni.com/TestStand/SemiconductorModule/PinMap.xsd"
# NI's 2Digital2Group4Pin1Site facts: two instruments, one site each.
PIN_MAP = f"""<?xml version="1.0" encoding="utf-8"?>
<PinMap schemaVersion="1.5" xmlns="{NAMESPACE}">
  <Instruments>
    <NIDigitalPatternInstrument name="DigitalPattern1" numberOfChannels="32" group="Digital0" />
    <NIDigitalPatternInstrument name="DigitalPattern2" numberOfChannels="32" group="Digital1" />
  </Instruments>
  <Pins><DUTPin name="CS" /><DUTPin name="SCLK" /></Pins>
  <Sites><Site siteNumber="0" /><Site siteNumber="1" /></Sites>
  <Connections>
    <Connection pin="CS" siteNumber="0" instrument="DigitalPattern1" channel="0" />
    <Connection pin="SCLK" siteNumber="0" instrument="DigitalPattern1" channel="1" />
    <Connection pin="CS" siteNumber="1" instrument="DigitalPattern2" channel="0" />
    <Connection pin="SCLK" siteNumber="1" instrument="DigitalPattern2" channel="1" />
  </Connections>
</PinMap>
"""


def tdms_name(value: str) -> bytes:
    """A TDMS string property named "name", as a .digipat file names its pattern."""
    encoded = value.encode()
    return struct.pack("<I", 4) + b"name" + struct.pack("<II", 0x20, len(encoded)) + encoded


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A pin map, NI-Digital sheets and a pattern file named SPI_Pattern."""
    paths = {
        "pin_map": tmp_path / "Digital.pinmap",
        "specifications": tmp_path / "Specifications.specs",
        "levels": tmp_path / "PinLevels.digilevels",
        "timing": tmp_path / "Timing.digitiming",
        "pattern": tmp_path / "Pattern.digipat",
    }
    paths["pin_map"].write_text(PIN_MAP, encoding="utf-8")
    for name in ("specifications", "levels", "timing"):
        paths[name].write_text('<?xml version="1.0"?><Sheet />', encoding="utf-8")
    paths["pattern"].write_bytes(b"TDSm" + tdms_name("SPI_Pattern"))
    return paths


@pytest.fixture
def digital(runtime: LocalRuntime, files: dict[str, Path]) -> Iterator[nidigital.Session]:
    channel = grpc.insecure_channel(runtime.address)
    options = nidigital.GrpcSessionOptions(channel, "niDigitalPattern-DigitalPattern1")
    with nidigital.Session("DigitalPattern1", grpc_options=options) as session:
        session.load_pin_map(str(files["pin_map"]))
        session.load_specifications_levels_and_timing(
            str(files["specifications"]), str(files["levels"]), str(files["timing"])
        )
        session.load_pattern(str(files["pattern"]))
        yield session
    channel.close()


def test_a_burst_passes_on_the_sites_the_session_has_pins_on(digital: nidigital.Session) -> None:
    # NI's acceptance test: SPI_Pattern on DigitalPattern1 passes on site 0.
    sites = digital.sites["site0,site1"]
    sites.apply_levels_and_timing("PinLevels", "Timing")
    sites.burst_pattern(start_label="SPI_Pattern", wait_until_done=False)
    digital.wait_until_done()
    # DigitalPattern1 has no pins on site 1: it bursts (and reports) site 0 only.
    assert sites.get_site_pass_fail() == {0: True}
    digital.selected_function = nidigital.SelectedFunction.DISCONNECT
    assert digital.selected_function == nidigital.SelectedFunction.DISCONNECT


def test_a_start_label_no_loaded_pattern_names_is_refused(digital: nidigital.Session) -> None:
    digital.sites["site0"].apply_levels_and_timing("PinLevels", "Timing")
    with pytest.raises(nidigital.errors.DriverError) as caught:
        digital.sites["site0"].burst_pattern(start_label="I2C_Pattern")
    assert caught.value.code == INVALID_VALUE
    assert "Start label 'I2C_Pattern' is not in a loaded pattern" in str(caught.value)


def test_a_burst_needs_levels_and_timing_applied(digital: nidigital.Session) -> None:
    with pytest.raises(nidigital.errors.DriverError) as caught:
        digital.sites["site0"].burst_pattern(start_label="SPI_Pattern")
    assert "Levels and timing are not applied on site0" in str(caught.value)


@pytest.mark.parametrize(
    ("sites", "levels", "message"),
    [
        ("site2", "PinLevels", "Site 'site2' is not in the loaded pin map"),
        ("site0", "Levels2", "No levels sheet named 'Levels2' is loaded"),
    ],
)
def test_unknown_sites_and_sheets_are_refused(
    digital: nidigital.Session, sites: str, levels: str, message: str
) -> None:
    with pytest.raises(nidigital.errors.DriverError) as caught:
        digital.sites[sites].apply_levels_and_timing(levels, "Timing")
    assert caught.value.code == INVALID_VALUE
    assert message in str(caught.value)
