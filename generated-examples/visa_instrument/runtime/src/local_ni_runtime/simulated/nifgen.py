"""NI-FGEN, simulated: a 2-channel NI PXIe-5423 (the model NI's examples simulate).

Standard function generation: each channel keeps the waveform, amplitude, DC
offset, frequency and start phase it was configured with, and reads them back;
initiate starts generating, abort stops; as NI's example says of simulated
NI-FGEN instruments, waiting until done succeeds at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import nifgen.nifgen_pb2 as fgen
from session_pb2 import Session

from .common import INVALID_VALUE, DriverError, SessionRepository, SimulatedSession

SERVICE = fgen.DESCRIPTOR.services_by_name["NiFgen"]
MESSAGES = fgen

MODEL = "PXIe-5423 (2CH)"
CHANNELS = 2
# NI-FGEN attribute ids (nifgen.Session) and values (nifgen.enums).
SIMULATE, CHANNEL_COUNT, INSTRUMENT_MODEL = 1050005, 1050203, 1050512
OUTPUT_MODE, OUTPUT_ENABLED, OUTPUT_IMPEDANCE = 1250001, 1250003, 1250004
FUNC_WAVEFORM, FUNC_AMPLITUDE, FUNC_DC_OFFSET = 1250101, 1250102, 1250103
FUNC_FREQUENCY, FUNC_START_PHASE = 1250104, 1250105
OUTPUT_MODES = {0: "FUNC", 1: "ARB", 2: "SEQ", 3: "SCRIPT", 101: "FREQ_LIST"}
WAVEFORMS = {1: "SINE", 2: "SQUARE", 3: "TRIANGLE", 4: "RAMP_UP", 5: "RAMP_DOWN", 6: "DC"}
DC = 6
FUNC = 0


@dataclass
class FgenChannel:
    """One output channel's settings, by attribute id."""

    settings: dict[int, float] = field(
        default_factory=lambda: {
            FUNC_WAVEFORM: 1,
            FUNC_AMPLITUDE: 0.01,
            FUNC_DC_OFFSET: 0.0,
            FUNC_FREQUENCY: 1000.0,
            FUNC_START_PHASE: 0.0,
            OUTPUT_ENABLED: 1,
            OUTPUT_IMPEDANCE: 50.0,
        }
    )


@dataclass
class FgenSession(SimulatedSession):
    """An NI-FGEN session: its channels, output mode and whether it is generating."""

    channels: dict[str, FgenChannel] = field(default_factory=dict)
    output_mode: int = FUNC
    generating: bool = False

    def selected(self, channel_name: str) -> list[FgenChannel]:
        """Return the channels a channel string names ("0", "0,1", "0-1"); all when empty."""
        names: list[str] = []
        for part in (p.strip() for p in channel_name.split(",")):
            first, dash, last = part.partition("-")
            if dash and first.isdigit() and last.isdigit():
                names.extend(str(n) for n in range(int(first), int(last) + 1))
            elif part:
                names.append(part.rpartition("/")[2])
        unknown = [name for name in names if name not in self.channels]
        if unknown:
            raise DriverError(
                INVALID_VALUE,
                f"Invalid value for parameter or property. Channel(s) {', '.join(unknown)} are "
                f"not in this session ({', '.join(self.channels)}).",
            )
        return [self.channels[name] for name in names or list(self.channels)]


class Simulation:
    """The NI-FGEN RPCs standard function generation calls, over a session repository."""

    def __init__(self, sessions: SessionRepository) -> None:
        self.sessions = sessions

    def InitializeWithChannels(
        self, request: fgen.InitializeWithChannelsRequest
    ) -> fgen.InitializeWithChannelsResponse:
        resource = request.resource_name.strip()
        if not resource:
            raise DriverError(
                INVALID_VALUE, "Resource name is empty; use the generator's name, e.g. FGEN1."
            )

        def create() -> FgenSession:
            channels = {str(n): FgenChannel() for n in range(CHANNELS)}
            session = FgenSession(resource, channels)
            if request.channel_name.strip():  # the session holds only the channels named
                kept = {id(c) for c in session.selected(request.channel_name)}
                session.channels = {n: c for n, c in channels.items() if id(c) in kept}
            return session

        name, new = self.sessions.initialize(
            request.session_name, request.initialization_behavior, create
        )
        return fgen.InitializeWithChannelsResponse(
            vi=Session(name=name), new_session_initialized=new
        )

    def ConfigureStandardWaveform(
        self, request: fgen.ConfigureStandardWaveformRequest
    ) -> fgen.ConfigureStandardWaveformResponse:
        session = self._session(request.vi)
        waveform = request.waveform_raw or request.waveform
        if waveform not in WAVEFORMS:
            accepted = ", ".join(f"{name} ({number})" for number, name in WAVEFORMS.items())
            raise DriverError(
                INVALID_VALUE,
                f"Invalid value for parameter or property. Waveform {waveform} is not a "
                f"standard function the simulated {MODEL} generates: {accepted}.",
            )
        if waveform != DC and (request.amplitude <= 0 or request.frequency <= 0):
            raise DriverError(
                INVALID_VALUE,
                f"Invalid value for parameter or property. Amplitude {request.amplitude:g} "
                f"and frequency {request.frequency:g}: both are positive for "
                f"{WAVEFORMS[waveform]}.",
            )
        for channel in session.selected(request.channel_name):
            channel.settings.update(
                {
                    FUNC_WAVEFORM: waveform,
                    FUNC_AMPLITUDE: request.amplitude,
                    FUNC_DC_OFFSET: request.dc_offset,
                    FUNC_FREQUENCY: request.frequency,
                    FUNC_START_PHASE: request.start_phase,
                }
            )
        return fgen.ConfigureStandardWaveformResponse()

    def ConfigureOutputEnabled(
        self, request: fgen.ConfigureOutputEnabledRequest
    ) -> fgen.ConfigureOutputEnabledResponse:
        for channel in self._session(request.vi).selected(request.channel_name):
            channel.settings[OUTPUT_ENABLED] = int(request.enabled)
        return fgen.ConfigureOutputEnabledResponse()

    def InitiateGeneration(
        self, request: fgen.InitiateGenerationRequest
    ) -> fgen.InitiateGenerationResponse:
        self._session(request.vi).generating = True
        return fgen.InitiateGenerationResponse()

    def AbortGeneration(self, request: fgen.AbortGenerationRequest) -> fgen.AbortGenerationResponse:
        self._session(request.vi).generating = False
        return fgen.AbortGenerationResponse()

    def WaitUntilDone(self, request: fgen.WaitUntilDoneRequest) -> fgen.WaitUntilDoneResponse:
        self._session(request.vi)  # a simulated generation is done at once
        return fgen.WaitUntilDoneResponse()

    def IsDone(self, request: fgen.IsDoneRequest) -> fgen.IsDoneResponse:
        self._session(request.vi)
        return fgen.IsDoneResponse(done=True)

    def SetAttributeViInt32(
        self, request: fgen.SetAttributeViInt32Request
    ) -> fgen.SetAttributeViInt32Response:
        session = self._session(request.vi)
        value = request.attribute_value_raw or request.attribute_value
        if request.attribute_id == OUTPUT_MODE:
            if value not in OUTPUT_MODES:
                raise DriverError(
                    INVALID_VALUE,
                    f"Invalid value for parameter or property. Output mode {value}: use one of "
                    f"{', '.join(f'{n} ({v})' for v, n in OUTPUT_MODES.items())}.",
                )
            session.output_mode = value
        elif request.attribute_id == FUNC_WAVEFORM:
            for channel in session.selected(request.channel_name):
                channel.settings[FUNC_WAVEFORM] = value
        else:
            raise _not_simulated(request.attribute_id)
        return fgen.SetAttributeViInt32Response()

    def GetAttributeViInt32(
        self, request: fgen.GetAttributeViInt32Request
    ) -> fgen.GetAttributeViInt32Response:
        session = self._session(request.vi)
        if request.attribute_id == OUTPUT_MODE:
            value = session.output_mode
        elif request.attribute_id == CHANNEL_COUNT:
            value = len(session.channels)
        elif request.attribute_id == FUNC_WAVEFORM:
            value = int(session.selected(request.channel_name)[0].settings[FUNC_WAVEFORM])
        else:
            raise _not_simulated(request.attribute_id)
        return fgen.GetAttributeViInt32Response(attribute_value=value)

    def SetAttributeViReal64(
        self, request: fgen.SetAttributeViReal64Request
    ) -> fgen.SetAttributeViReal64Response:
        if request.attribute_id not in _REAL64:
            raise _not_simulated(request.attribute_id)
        for channel in self._session(request.vi).selected(request.channel_name):
            channel.settings[request.attribute_id] = request.attribute_value_raw
        return fgen.SetAttributeViReal64Response()

    def GetAttributeViReal64(
        self, request: fgen.GetAttributeViReal64Request
    ) -> fgen.GetAttributeViReal64Response:
        if request.attribute_id not in _REAL64:
            raise _not_simulated(request.attribute_id)
        (first, *_) = self._session(request.vi).selected(request.channel_name)
        return fgen.GetAttributeViReal64Response(
            attribute_value=first.settings[request.attribute_id]
        )

    def SetAttributeViBoolean(
        self, request: fgen.SetAttributeViBooleanRequest
    ) -> fgen.SetAttributeViBooleanResponse:
        if request.attribute_id != OUTPUT_ENABLED:
            raise _not_simulated(request.attribute_id)
        for channel in self._session(request.vi).selected(request.channel_name):
            channel.settings[OUTPUT_ENABLED] = int(request.attribute_value)
        return fgen.SetAttributeViBooleanResponse()

    def GetAttributeViBoolean(
        self, request: fgen.GetAttributeViBooleanRequest
    ) -> fgen.GetAttributeViBooleanResponse:
        session = self._session(request.vi)
        if request.attribute_id == SIMULATE:
            value = True  # what NI's examples check before waiting on a simulated generator
        elif request.attribute_id == OUTPUT_ENABLED:
            value = bool(session.selected(request.channel_name)[0].settings[OUTPUT_ENABLED])
        else:
            raise _not_simulated(request.attribute_id)
        return fgen.GetAttributeViBooleanResponse(attribute_value=value)

    def GetAttributeViString(
        self, request: fgen.GetAttributeViStringRequest
    ) -> fgen.GetAttributeViStringResponse:
        self._session(request.vi)
        if request.attribute_id != INSTRUMENT_MODEL:
            raise _not_simulated(request.attribute_id)
        return fgen.GetAttributeViStringResponse(attribute_value=MODEL)

    def Close(self, request: fgen.CloseRequest) -> fgen.CloseResponse:
        self.sessions.close(request.vi)
        return fgen.CloseResponse()

    def ErrorMessage(self, request: fgen.ErrorMessageRequest) -> fgen.ErrorMessageResponse:
        return fgen.ErrorMessageResponse(
            error_message=f"Simulated NI-FGEN status {request.error_code}."
        )

    def _session(self, vi: Session) -> FgenSession:
        return self.sessions.get(vi, FgenSession)


_REAL64 = (FUNC_AMPLITUDE, FUNC_DC_OFFSET, FUNC_FREQUENCY, FUNC_START_PHASE, OUTPUT_IMPEDANCE)


def _not_simulated(attribute: int) -> DriverError:
    return DriverError(
        INVALID_VALUE,
        f"Attribute {attribute} is not simulated by the local runtime's NI-FGEN (simulated: "
        "output_mode, output_enabled, func_waveform, func_amplitude, func_dc_offset, "
        "func_frequency, func_start_phase, output_impedance, simulate, channel_count).",
    )
