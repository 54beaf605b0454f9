"""NI-Digital Pattern, simulated: NI PXIe-6570 instruments bursting patterns per site.

A session loads a pin map (the file NI's SDK names by the pin map id), NI's
specifications, levels and timing files (each sheet named by its file's stem) and
pattern files (.digipat, whose pattern names are the burst's start labels). A
burst runs on the requested sites where the session's instruments have pins in
the pin map, and needs the levels and timing applied there. Each of those sites
passes (NI's acceptance test expects its SPI burst to pass on a simulated 6570);
get_site_pass_fail then answers for the sites that burst, in site order. Anything not loaded or
applied is refused, naming what is missing.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

import nidigital.nidigitalpattern_pb2 as digital
from session_pb2 import Session

from .. import pin_map
from .common import INVALID_VALUE, DriverError, SessionRepository, SimulatedSession

SERVICE = digital.DESCRIPTOR.services_by_name["NiDigital"]
MESSAGES = digital

MODEL = "PXIe-6570"
# NI-Digital attribute ids (nidigital.Session) and values (nidigital.enums).
SIMULATE, CHANNEL_COUNT, SELECTED_FUNCTION, INSTRUMENT_MODEL = 1050005, 1050203, 1150004, 1050512
SELECTED_FUNCTIONS = {1100: "DIGITAL", 1101: "PPMU", 1102: "OFF", 1103: "DISCONNECT", 1104: "RIO"}
DIGITAL_FUNCTION = 1100
PASS_FAIL = 3300
CHANNELS_PER_INSTRUMENT = 32
# A TDMS string property named "name": its value is a pattern's (or the file's) name.
_TDMS_NAME = re.compile(rb"\x04\x00\x00\x00name\x20\x00\x00\x00")


@dataclass
class DigitalSession(SimulatedSession):
    """An NI-Digital Pattern session: what it loaded and applied, and its burst results."""

    sites: list[int] = field(default_factory=list)  # sites where its instruments have pins
    pin_map_sites: list[int] = field(default_factory=list)
    specifications: list[str] = field(default_factory=list)
    levels_sheets: list[str] = field(default_factory=list)
    timing_sheets: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    applied: dict[int, tuple[str, str]] = field(default_factory=dict)
    results: dict[int, bool] = field(default_factory=dict)
    selected_function: int = DIGITAL_FUNCTION

    def site_list(self, text: str) -> list[int]:
        """Return the sites a site list names ("site0,site1"), in order; all when empty."""
        if not self.pin_map_sites:
            raise DriverError(
                INVALID_VALUE, "No pin map is loaded in this session; call load_pin_map first."
            )
        if not text.strip():
            return list(self.pin_map_sites)
        sites = []
        for part in (p.strip() for p in text.split(",") if p.strip()):
            found = re.fullmatch(r"site(\d+)", part)
            if found is None or int(found.group(1)) not in self.pin_map_sites:
                known = ", ".join(f"site{s}" for s in self.pin_map_sites)
                raise DriverError(
                    INVALID_VALUE,
                    f"Invalid value for parameter or property. Site {part!r} is not in the "
                    f"loaded pin map (its sites: {known}).",
                )
            sites.append(int(found.group(1)))
        return sites


def _existing(path_text: str, what: str) -> Path:
    path = Path(path_text)
    if not path.is_file():
        raise DriverError(INVALID_VALUE, f"The {what} file {path_text!r} does not exist.")
    return path


def pattern_names(path: Path) -> list[str]:
    """Return the names in a .digipat (TDMS) file: its patterns' names, the start labels."""
    data = path.read_bytes()
    names = []
    for found in _TDMS_NAME.finditer(data):
        (length,) = struct.unpack_from("<I", data, found.end())
        start = found.end() + 4
        names.append(data[start : start + length].decode("utf-8", "replace"))
    return names


class Simulation:
    """The NI-Digital Pattern RPCs a pattern burst calls, over a session repository."""

    def __init__(self, sessions: SessionRepository) -> None:
        self.sessions = sessions

    def InitWithOptions(
        self, request: digital.InitWithOptionsRequest
    ) -> digital.InitWithOptionsResponse:
        resource = request.resource_name.strip()
        if not resource:
            raise DriverError(
                INVALID_VALUE,
                "Resource name is empty; use the instrument's name, e.g. DigitalPattern1.",
            )
        name, new = self.sessions.initialize(
            request.session_name,
            request.initialization_behavior,
            lambda: DigitalSession(resource),
        )
        return digital.InitWithOptionsResponse(vi=Session(name=name), new_session_initialized=new)

    def LoadPinMap(self, request: digital.LoadPinMapRequest) -> digital.LoadPinMapResponse:
        session = self._session(request.vi)
        path = _existing(request.file_path, "pin map")
        try:
            parsed = pin_map.parse(path.read_text(encoding="utf-8-sig"))
        except pin_map.PinMapError as error:
            raise DriverError(INVALID_VALUE, f"{request.file_path}: {error}") from None
        instruments = {name.strip() for name in session.resource_name.split(",")}
        session.pin_map_sites = sorted(parsed.sites)
        session.sites = sorted(
            {c.site for c in parsed.connections.values() if c.instrument in instruments}
        )
        return digital.LoadPinMapResponse()

    def LoadSpecifications(
        self, request: digital.LoadSpecificationsRequest
    ) -> digital.LoadSpecificationsResponse:
        session = self._session(request.vi)
        session.specifications.append(_existing(request.file_path, "specifications").stem)
        return digital.LoadSpecificationsResponse()

    def LoadLevels(self, request: digital.LoadLevelsRequest) -> digital.LoadLevelsResponse:
        session = self._session(request.vi)
        session.levels_sheets.append(_existing(request.file_path, "levels").stem)
        return digital.LoadLevelsResponse()

    def LoadTiming(self, request: digital.LoadTimingRequest) -> digital.LoadTimingResponse:
        session = self._session(request.vi)
        session.timing_sheets.append(_existing(request.file_path, "timing").stem)
        return digital.LoadTimingResponse()

    def LoadPattern(self, request: digital.LoadPatternRequest) -> digital.LoadPatternResponse:
        session = self._session(request.vi)
        session.labels.extend(pattern_names(_existing(request.file_path, "pattern")))
        return digital.LoadPatternResponse()

    def ApplyLevelsAndTiming(
        self, request: digital.ApplyLevelsAndTimingRequest
    ) -> digital.ApplyLevelsAndTimingResponse:
        session = self._session(request.vi)
        for sheet, loaded, what in (
            (request.levels_sheet, session.levels_sheets, "levels"),
            (request.timing_sheet, session.timing_sheets, "timing"),
        ):
            if sheet not in loaded:
                raise DriverError(
                    INVALID_VALUE,
                    f"Invalid value for parameter or property. No {what} sheet named {sheet!r} "
                    f"is loaded (loaded: {', '.join(loaded) or 'none'}).",
                )
        for site in session.site_list(request.site_list):
            session.applied[site] = (request.levels_sheet, request.timing_sheet)
        return digital.ApplyLevelsAndTimingResponse()

    def BurstPattern(self, request: digital.BurstPatternRequest) -> digital.BurstPatternResponse:
        session = self._session(request.vi)
        if request.start_label not in session.labels:
            raise DriverError(
                INVALID_VALUE,
                f"Invalid value for parameter or property. Start label {request.start_label!r} "
                f"is not in a loaded pattern (loaded: {', '.join(session.labels) or 'none'}).",
            )
        sites = [s for s in session.site_list(request.site_list) if s in session.sites]
        unapplied = [site for site in sites if site not in session.applied]
        if unapplied:
            raise DriverError(
                INVALID_VALUE,
                "Levels and timing are not applied on "
                f"{', '.join(f'site{s}' for s in unapplied)}; call apply_levels_and_timing.",
            )
        if request.select_digital_function:
            session.selected_function = DIGITAL_FUNCTION
        session.results = {site: True for site in sites}
        return digital.BurstPatternResponse()

    def WaitUntilDone(self, request: digital.WaitUntilDoneRequest) -> digital.WaitUntilDoneResponse:
        self._session(request.vi)  # a simulated burst is done at once
        return digital.WaitUntilDoneResponse()

    def GetSitePassFail(
        self, request: digital.GetSitePassFailRequest
    ) -> digital.GetSitePassFailResponse:
        session = self._session(request.vi)
        sites = self._result_sites(session, request.site_list)
        return digital.GetSitePassFailResponse(
            pass_fail=[session.results[s] for s in sites], actual_num_sites=len(sites)
        )

    def GetSiteResultsSiteNumbers(
        self, request: digital.GetSiteResultsSiteNumbersRequest
    ) -> digital.GetSiteResultsSiteNumbersResponse:
        session = self._session(request.vi)
        kind = request.site_result_type_raw or request.site_result_type
        if kind != PASS_FAIL:
            raise DriverError(
                INVALID_VALUE,
                f"Site result type {kind} is not simulated (simulated: {PASS_FAIL}, pass/fail).",
            )
        sites = self._result_sites(session, request.site_list)
        return digital.GetSiteResultsSiteNumbersResponse(
            site_numbers=sites, actual_num_site_numbers=len(sites)
        )

    def SetAttributeViInt32(
        self, request: digital.SetAttributeViInt32Request
    ) -> digital.SetAttributeViInt32Response:
        session = self._session(request.vi)
        value = request.value_raw or request.value
        if request.attribute != SELECTED_FUNCTION or value not in SELECTED_FUNCTIONS:
            raise DriverError(
                INVALID_VALUE,
                f"Attribute {request.attribute} = {value} is not simulated; simulated: "
                f"selected_function ({SELECTED_FUNCTION}) = "
                f"{', '.join(f'{n} ({v})' for v, n in SELECTED_FUNCTIONS.items())}.",
            )
        session.selected_function = value
        return digital.SetAttributeViInt32Response()

    def GetAttributeViInt32(
        self, request: digital.GetAttributeViInt32Request
    ) -> digital.GetAttributeViInt32Response:
        session = self._session(request.vi)
        instruments = len(session.resource_name.split(","))
        values = {
            SELECTED_FUNCTION: session.selected_function,
            CHANNEL_COUNT: CHANNELS_PER_INSTRUMENT * instruments,
        }
        if request.attribute not in values:
            raise DriverError(
                INVALID_VALUE,
                f"Attribute {request.attribute} is not simulated (simulated: selected_function, "
                "channel_count).",
            )
        return digital.GetAttributeViInt32Response(value=values[request.attribute])

    def GetAttributeViBoolean(
        self, request: digital.GetAttributeViBooleanRequest
    ) -> digital.GetAttributeViBooleanResponse:
        self._session(request.vi)
        if request.attribute != SIMULATE:
            raise DriverError(
                INVALID_VALUE,
                f"Attribute {request.attribute} is not simulated (simulated: simulate).",
            )
        return digital.GetAttributeViBooleanResponse(value=True)

    def GetChannelNameFromString(
        self, request: digital.GetChannelNameFromStringRequest
    ) -> digital.GetChannelNameFromStringResponse:
        session = self._session(request.vi)
        instruments = [name.strip() for name in session.resource_name.split(",")]
        channels = [
            f"{instrument}/{n}" if len(instruments) > 1 else str(n)
            for instrument in instruments
            for n in range(CHANNELS_PER_INSTRUMENT)
        ]
        names = []
        for part in (p.strip() for p in request.indices.split(",") if p.strip()):
            first, _, last = part.replace(":", "-").partition("-")
            if not first.isdigit() or not (last or first).isdigit():
                raise DriverError(INVALID_VALUE, f"Channel index {part!r} is not like 0 or 0-3.")
            low, high = int(first), int(last or first)
            step = 1 if high >= low else -1
            for index in range(low, high + step, step):
                if index >= len(channels):
                    raise DriverError(
                        INVALID_VALUE,
                        f"Channel index {index} is beyond the session's {len(channels)} channels.",
                    )
                names.append(channels[index])
        return digital.GetChannelNameFromStringResponse(names=",".join(names))

    def Close(self, request: digital.CloseRequest) -> digital.CloseResponse:
        self.sessions.close(request.vi)
        return digital.CloseResponse()

    def ErrorMessage(self, request: digital.ErrorMessageRequest) -> digital.ErrorMessageResponse:
        return digital.ErrorMessageResponse(
            error_message=f"Simulated NI-Digital Pattern status {request.error_code}."
        )

    def _session(self, vi: Session) -> DigitalSession:
        return self.sessions.get(vi, DigitalSession)

    def _result_sites(self, session: DigitalSession, site_list: str) -> list[int]:
        wanted = session.site_list(site_list)
        return sorted(site for site in wanted if site in session.results)
