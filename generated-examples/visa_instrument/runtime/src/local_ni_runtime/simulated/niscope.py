"""NI-SCOPE, simulated: a 4-channel NI PXIe-5162 digitizer (the model NI's examples simulate).

Every enabled channel sees a 1 MHz sine whose amplitude is a quarter of the
channel's vertical range, about its vertical offset; an acquisition samples it at
the configured rate for the configured record length, triggered on the rising
edge where the sine crosses the trigger level (at once, from the sine's zero
crossing, when the level is beyond the sine). A record therefore follows from the
request and stays inside the vertical range, as NI's simulated digitizers do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import niscope.niscope_pb2 as scope
from session_pb2 import Session

from .common import INVALID_VALUE, DriverError, SessionRepository, SimulatedSession

SERVICE = scope.DESCRIPTOR.services_by_name["NiScope"]
MESSAGES = scope

MODEL = "PXIe-5162 (4CH)"
CHANNELS = 4
SIGNAL_HERTZ = 1e6
MAX_SAMPLE_RATE = 1.25e9
# NI-SCOPE attribute ids (niscope.Session) and values.
CHANNEL_COUNT, CHANNEL_ENABLED, INSTRUMENT_MODEL = 1050203, 1250005, 1050512
VERTICAL_RANGE, VERTICAL_OFFSET, VERTICAL_COUPLING = 1250001, 1250002, 1250003
INPUT_IMPEDANCE, MAX_INPUT_FREQUENCY = 1250103, 1250006
HORZ_RECORD_LENGTH, HORZ_MIN_NUM_PTS, HORZ_SAMPLE_RATE = 1250008, 1250009, 1250010
HORZ_NUM_RECORDS, HORZ_ENFORCE_REALTIME, MIN_SAMPLE_RATE = 1150001, 1150004, 1150009
TRIGGER_TYPE, TRIGGER_SOURCE, TRIGGER_LEVEL, TRIGGER_MODIFIER = 1250012, 1250013, 1250017, 1250102
FETCH_RELATIVE_TO, FETCH_OFFSET, FETCH_RECORD_NUMBER = 1150077, 1150078, 1150079
FETCH_NUM_RECORDS, ACQUISITION_TYPE = 1150080, 1250101
ACQUISITION_COMPLETE, ACQUISITION_IN_PROGRESS = 1, 0
DC_COUPLING, EDGE_TRIGGER, NO_TRIGGER_MOD, PRETRIGGER, NORMAL_ACQUISITION = 1, 1, 1, 477, 0


# An attribute's value, as the session stores it.
Value = float | int | bool | str


@dataclass
class ScopeChannel:
    """One channel's vertical settings."""

    enabled: bool = True
    range: float = 10.0
    offset: float = 0.0
    coupling: int = DC_COUPLING
    impedance: float = 1e6
    max_input_frequency: float = 0.0


@dataclass
class ScopeSession(SimulatedSession):
    """An NI-SCOPE session: its channels, timing, trigger and whether it acquired."""

    channels: dict[str, ScopeChannel] = field(default_factory=dict)
    sample_rate: float = 10e6
    record_length: int = 1000
    reference_position: float = 50.0
    records: int = 1
    trigger_source: str = "0"
    trigger_level: float = 0.0
    other: dict[int, Value] = field(default_factory=dict)  # attributes only stored
    acquired: bool = False

    def selected(self, channel_list: str) -> dict[str, ScopeChannel]:
        """Return the channels a channel list names ("0,1", "0-3"); all when it is empty."""
        names = _expand(channel_list) or list(self.channels)
        unknown = [name for name in names if name not in self.channels]
        if unknown:
            raise DriverError(
                INVALID_VALUE,
                f"Invalid value for parameter or property. Channel(s) {', '.join(unknown)} "
                f"are not in this session ({', '.join(self.channels)}).",
            )
        return {name: self.channels[name] for name in names}

    def record(self, channel: ScopeChannel) -> list[float]:
        """One record of the channel: the sine, sampled around its trigger point."""
        amplitude = channel.range / 4
        ratio = (self.trigger_level - channel.offset) / amplitude
        phase = math.asin(ratio) if abs(ratio) <= 1 else 0.0
        start = -self.record_length * self.reference_position / 100
        return [
            channel.offset
            + amplitude
            * math.sin(2 * math.pi * SIGNAL_HERTZ * (start + n) / self.sample_rate + phase)
            for n in range(self.record_length)
        ]


def _expand(channel_list: str) -> list[str]:
    names: list[str] = []
    for part in (p.strip() for p in channel_list.split(",")):
        first, dash, last = part.partition("-")
        if dash and first.isdigit() and last.isdigit():
            names.extend(str(n) for n in range(int(first), int(last) + 1))
        elif part:
            names.append(part)
    return names


class Simulation:
    """The NI-SCOPE RPCs a waveform acquisition calls, over a session repository."""

    def __init__(self, sessions: SessionRepository) -> None:
        self.sessions = sessions

    def InitWithOptions(
        self, request: scope.InitWithOptionsRequest
    ) -> scope.InitWithOptionsResponse:
        resource = request.resource_name.strip()
        if not resource:
            raise DriverError(
                INVALID_VALUE, "Resource name is empty; use the digitizer's name, e.g. SCOPE1."
            )

        def create() -> ScopeSession:
            channels = {str(n): ScopeChannel() for n in range(CHANNELS)}
            return ScopeSession(resource, channels)

        name, new = self.sessions.initialize(
            request.session_name, request.initialization_behavior, create
        )
        return scope.InitWithOptionsResponse(vi=Session(name=name), new_session_initialized=new)

    def ConfigureVertical(
        self, request: scope.ConfigureVerticalRequest
    ) -> scope.ConfigureVerticalResponse:
        chosen = self._session(request.vi).selected(request.channel_list)
        if request.range <= 0:
            raise DriverError(
                INVALID_VALUE,
                f"Invalid value for parameter or property. Vertical range {request.range:g}: "
                "a range is a positive number of volts peak-to-peak.",
            )
        for channel in chosen.values():
            channel.range, channel.offset = request.range, request.offset
            channel.coupling = request.coupling_raw or request.coupling or DC_COUPLING
            channel.enabled = request.enabled
        return scope.ConfigureVerticalResponse()

    def ConfigureChanCharacteristics(
        self, request: scope.ConfigureChanCharacteristicsRequest
    ) -> scope.ConfigureChanCharacteristicsResponse:
        for channel in self._session(request.vi).selected(request.channel_list).values():
            channel.impedance = request.input_impedance
            channel.max_input_frequency = request.max_input_frequency
        return scope.ConfigureChanCharacteristicsResponse()

    def ConfigureHorizontalTiming(
        self, request: scope.ConfigureHorizontalTimingRequest
    ) -> scope.ConfigureHorizontalTimingResponse:
        session = self._session(request.vi)
        rate, points, position = request.min_sample_rate, request.min_num_pts, request.ref_position
        if not 0 < rate <= MAX_SAMPLE_RATE or points < 1 or not 0 <= position <= 100:
            raise DriverError(
                INVALID_VALUE,
                f"Invalid value for parameter or property. min_sample_rate {rate:g} (up to "
                f"{MAX_SAMPLE_RATE:g} on the {MODEL}), min_num_pts {points} (at least 1), "
                f"ref_position {position:g} (0 to 100 percent).",
            )
        session.sample_rate, session.record_length = rate, points
        session.reference_position, session.records = position, max(request.num_records, 1)
        return scope.ConfigureHorizontalTimingResponse()

    def ConfigureTriggerEdge(
        self, request: scope.ConfigureTriggerEdgeRequest
    ) -> scope.ConfigureTriggerEdgeResponse:
        session = self._session(request.vi)
        session.trigger_source, session.trigger_level = request.trigger_source, request.level
        return scope.ConfigureTriggerEdgeResponse()

    def ConfigureTriggerImmediate(
        self, request: scope.ConfigureTriggerImmediateRequest
    ) -> scope.ConfigureTriggerImmediateResponse:
        self._session(request.vi).trigger_level = math.inf  # no level: from the zero crossing
        return scope.ConfigureTriggerImmediateResponse()

    def InitiateAcquisition(
        self, request: scope.InitiateAcquisitionRequest
    ) -> scope.InitiateAcquisitionResponse:
        self._session(request.vi).acquired = True  # the simulated signal is there at once
        return scope.InitiateAcquisitionResponse()

    def AcquisitionStatus(
        self, request: scope.AcquisitionStatusRequest
    ) -> scope.AcquisitionStatusResponse:
        done = self._session(request.vi).acquired
        status = ACQUISITION_COMPLETE if done else ACQUISITION_IN_PROGRESS
        return scope.AcquisitionStatusResponse(acquisition_status_raw=status)

    def Abort(self, request: scope.AbortRequest) -> scope.AbortResponse:
        self._session(request.vi).acquired = False
        return scope.AbortResponse()

    def Fetch(self, request: scope.FetchRequest) -> scope.FetchResponse:
        session = self._session(request.vi)
        if not session.acquired:
            raise DriverError(
                INVALID_VALUE,
                "No acquisition has been initiated; call initiate() before fetch().",
            )
        chosen = session.selected(request.channel_list)
        samples = session.record_length
        if 0 <= request.num_samples < samples:
            samples = request.num_samples
        increment = 1 / session.sample_rate
        start = -session.record_length * session.reference_position / 100 * increment
        waveform: list[float] = []
        infos = []
        for channel in chosen.values():
            record = session.record(channel)[:samples]
            for _ in range(session.records):
                waveform.extend(record)
                infos.append(
                    scope.WaveformInfo(
                        relative_initial_x=start,
                        x_increment=increment,
                        actual_samples=len(record),
                        gain=1.0,
                    )
                )
        return scope.FetchResponse(waveform=waveform, wfm_info=infos)

    def ActualNumWfms(self, request: scope.ActualNumWfmsRequest) -> scope.ActualNumWfmsResponse:
        session = self._session(request.vi)
        count = len(session.selected(request.channel_list)) * session.records
        return scope.ActualNumWfmsResponse(num_wfms=count)

    def ActualRecordLength(
        self, request: scope.ActualRecordLengthRequest
    ) -> scope.ActualRecordLengthResponse:
        return scope.ActualRecordLengthResponse(
            record_length=self._session(request.vi).record_length
        )

    def SetAttributeViInt32(
        self, request: scope.SetAttributeViInt32Request
    ) -> scope.SetAttributeViInt32Response:
        session = self._session(request.vi)
        value = request.value_raw or request.value
        if request.attribute_id == HORZ_MIN_NUM_PTS:
            session.record_length = value
        elif request.attribute_id == HORZ_NUM_RECORDS:
            session.records = value
        else:
            session.other[request.attribute_id] = value
        return scope.SetAttributeViInt32Response()

    def GetAttributeViInt32(
        self, request: scope.GetAttributeViInt32Request
    ) -> scope.GetAttributeViInt32Response:
        session = self._session(request.vi)
        values: dict[int, Value] = {
            CHANNEL_COUNT: len(session.channels),
            HORZ_RECORD_LENGTH: session.record_length,
            HORZ_MIN_NUM_PTS: session.record_length,
            HORZ_NUM_RECORDS: session.records,
            TRIGGER_TYPE: EDGE_TRIGGER,
            TRIGGER_MODIFIER: NO_TRIGGER_MOD,
            FETCH_RELATIVE_TO: PRETRIGGER,
            ACQUISITION_TYPE: NORMAL_ACQUISITION,
            **session.other,
        }
        if request.attribute_id == VERTICAL_COUPLING:
            values[VERTICAL_COUPLING] = self._first(session, request.channel_list).coupling
        return scope.GetAttributeViInt32Response(value=int(_known(values, request.attribute_id)))

    def SetAttributeViReal64(
        self, request: scope.SetAttributeViReal64Request
    ) -> scope.SetAttributeViReal64Response:
        session = self._session(request.vi)
        value = request.value_raw
        attribute = request.attribute_id
        if attribute in (VERTICAL_RANGE, VERTICAL_OFFSET, INPUT_IMPEDANCE, MAX_INPUT_FREQUENCY):
            for channel in session.selected(request.channel_list).values():
                setattr(channel, _CHANNEL_REAL64[attribute], value)
        elif attribute in (MIN_SAMPLE_RATE, HORZ_SAMPLE_RATE):
            session.sample_rate = value
        elif attribute == TRIGGER_LEVEL:
            session.trigger_level = value
        else:
            session.other[attribute] = value
        return scope.SetAttributeViReal64Response()

    def GetAttributeViReal64(
        self, request: scope.GetAttributeViReal64Request
    ) -> scope.GetAttributeViReal64Response:
        session = self._session(request.vi)
        values: dict[int, Value] = {
            HORZ_SAMPLE_RATE: session.sample_rate,
            MIN_SAMPLE_RATE: session.sample_rate,
            TRIGGER_LEVEL: session.trigger_level,
            **session.other,
        }
        if request.attribute_id in _CHANNEL_REAL64:
            channel = self._first(session, request.channel_list)
            values[request.attribute_id] = getattr(channel, _CHANNEL_REAL64[request.attribute_id])
        value = _known(values, request.attribute_id)
        return scope.GetAttributeViReal64Response(value=float(value))

    def SetAttributeViBoolean(
        self, request: scope.SetAttributeViBooleanRequest
    ) -> scope.SetAttributeViBooleanResponse:
        session = self._session(request.vi)
        if request.attribute_id == CHANNEL_ENABLED:
            for channel in session.selected(request.channel_list).values():
                channel.enabled = request.value
        else:
            session.other[request.attribute_id] = request.value
        return scope.SetAttributeViBooleanResponse()

    def GetAttributeViBoolean(
        self, request: scope.GetAttributeViBooleanRequest
    ) -> scope.GetAttributeViBooleanResponse:
        session = self._session(request.vi)
        values: dict[int, Value] = {HORZ_ENFORCE_REALTIME: True, **session.other}
        if request.attribute_id == CHANNEL_ENABLED:
            values[CHANNEL_ENABLED] = self._first(session, request.channel_list).enabled
        return scope.GetAttributeViBooleanResponse(value=bool(_known(values, request.attribute_id)))

    def SetAttributeViString(
        self, request: scope.SetAttributeViStringRequest
    ) -> scope.SetAttributeViStringResponse:
        session = self._session(request.vi)
        if request.attribute_id == TRIGGER_SOURCE:
            session.trigger_source = request.value_raw
        else:
            session.other[request.attribute_id] = request.value_raw
        return scope.SetAttributeViStringResponse()

    def GetAttributeViString(
        self, request: scope.GetAttributeViStringRequest
    ) -> scope.GetAttributeViStringResponse:
        session = self._session(request.vi)
        values: dict[int, Value] = {
            INSTRUMENT_MODEL: MODEL,
            TRIGGER_SOURCE: session.trigger_source,
            **session.other,
        }
        return scope.GetAttributeViStringResponse(value=str(_known(values, request.attribute_id)))

    def GetChannelNameFromString(
        self, request: scope.GetChannelNameFromStringRequest
    ) -> scope.GetChannelNameFromStringResponse:
        session = self._session(request.vi)
        names = list(session.selected(request.index))
        return scope.GetChannelNameFromStringResponse(name=",".join(names))

    def Close(self, request: scope.CloseRequest) -> scope.CloseResponse:
        self.sessions.close(request.vi)
        return scope.CloseResponse()

    def GetErrorMessage(
        self, request: scope.GetErrorMessageRequest
    ) -> scope.GetErrorMessageResponse:
        return scope.GetErrorMessageResponse(
            error_message=f"Simulated NI-SCOPE status {request.error_code}."
        )

    def _session(self, vi: Session) -> ScopeSession:
        return self.sessions.get(vi, ScopeSession)

    def _first(self, session: ScopeSession, channel_list: str) -> ScopeChannel:
        return next(iter(session.selected(channel_list).values()))


_CHANNEL_REAL64 = {
    VERTICAL_RANGE: "range",
    VERTICAL_OFFSET: "offset",
    INPUT_IMPEDANCE: "impedance",
    MAX_INPUT_FREQUENCY: "max_input_frequency",
}


def _known(values: dict[int, Value], attribute: int) -> Value:
    if attribute not in values:
        raise DriverError(
            INVALID_VALUE,
            f"Attribute {attribute} is not simulated by the local runtime's NI-SCOPE and was "
            "not set in this session.",
        )
    return values[attribute]
