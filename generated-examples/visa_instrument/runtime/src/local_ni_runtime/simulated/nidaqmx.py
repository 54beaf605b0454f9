"""NI-DAQmx, simulated: analog input voltage tasks on simulated devices (e.g. a PCIe-6363).

As NI documents for its simulated devices ("Reading and Writing Data with NI-DAQmx
Simulated Devices"), every analog input channel reads a full-scale sine: its
configured range (min_val to max_val) sets the amplitude, and each further channel
of the task is offset 5 degrees. This runtime's own choices: the sine is 10 Hz,
sampled at the task's sample clock rate (1 kHz until configured), starts at the
middle of the range when the task starts, and has none of NI's 3 % noise, so that a
reading follows from the request alone and never leaves the configured range. As on
NI's simulated devices, samples are there at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from nidaqmx._stubs import nidaqmx_pb2 as daqmx
from session_pb2 import Session

from .common import DriverError, SessionRepository, SimulatedSession

SERVICE = daqmx.DESCRIPTOR.services_by_name["NiDAQmx"]
MESSAGES = daqmx

# NI-DAQmx errors: an unsupported value, and reading a channel the task does not have.
INVALID_VALUE = -200077
CHANNEL_NOT_IN_TASK = -200486
# The simulated device's largest analog input range (a PCIe-6363: +-10 V).
LARGEST_RANGE = 10.0
SINE_HERTZ = 10.0
CHANNEL_OFFSET_DEGREES = 5.0
DEFAULT_RATE = 1000.0
# Attribute ids and values, from NI-DAQmx's constants (nidaqmx.constants).
TASK_NAME, TASK_CHANNELS, TASK_NUM_CHANS, TASK_COMPLETE = 0x1276, 0x1273, 0x2181, 0x1274
READ_CHANNELS_TO_READ = 0x1823
CHAN_TYPE, AI_MEAS_TYPE, AI_MIN, AI_MAX = 0x187F, 0x0695, 0x17DE, 0x17DD
PHYSICAL_CHANNEL_NAME = 0x18F5
SAMPLE_RATE, SAMPLES_PER_CHANNEL, SAMPLE_MODE = 0x1344, 0x1310, 0x1300
ANALOG_INPUT, VOLTAGE = 10100, 10322
FINITE, CONTINUOUS = 10178, 10123
GROUP_BY_SCAN_NUMBER = 1
# TaskControl actions (nidaqmx.constants.TaskMode): start, stop; abort stops too.
TASK_START, TASK_STOP, TASK_ABORT = 0, 1, 6
READ_ALL_AVAILABLE = -1


@dataclass
class AiChannel:
    """An analog input voltage channel: its physical channel and configured range."""

    physical: str
    minimum: float
    maximum: float


@dataclass
class DaqTask(SimulatedSession):
    """An NI-DAQmx task: its channels (virtual name -> channel), timing and progress."""

    channels: dict[str, AiChannel] = field(default_factory=dict)
    rate: float = DEFAULT_RATE
    samples_per_channel: int = 1000
    sample_mode: int = FINITE
    running: bool = False
    samples_read: int = 0

    def channel(self, name: str) -> AiChannel:
        """Return one channel by its name in the task."""
        if name not in self.channels:
            known = ", ".join(self.channels) or "none"
            raise DriverError(
                CHANNEL_NOT_IN_TASK,
                f"Channel '{name}' is not in task '{self.resource_name}' (its channels: {known}).",
            )
        return self.channels[name]

    def selected(self, names: str) -> list[AiChannel]:
        """Return the channels a channel string names; all of them when it is empty."""
        wanted = expand_channels(names) or list(self.channels)
        return [self.channel(name) for name in wanted]

    def sample(self, position: int, channel: AiChannel, index: int) -> float:
        """The index-th sample since start of the task's position-th channel."""
        middle = (channel.maximum + channel.minimum) / 2
        amplitude = (channel.maximum - channel.minimum) / 2
        phase = math.radians(CHANNEL_OFFSET_DEGREES * position)
        return middle + amplitude * math.sin(2 * math.pi * SINE_HERTZ * index / self.rate + phase)


def expand_channels(text: str) -> list[str]:
    """Expand NI-DAQmx's channel syntax: "Dev1/ai0:2, Dev2/ai0" names four channels."""
    names: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        prefix, _, last = part.rpartition(":")
        head = prefix.rstrip("0123456789")
        first = prefix[len(head) :]
        if prefix and first.isdigit() and last.isdigit():
            step = 1 if int(last) >= int(first) else -1
            names.extend(f"{head}{n}" for n in range(int(first), int(last) + step, step))
        else:
            names.append(part)
    return names


class Simulation:
    """The NI-DAQmx RPCs an analog input measurement calls, over a session repository."""

    def __init__(self, sessions: SessionRepository) -> None:
        self.sessions = sessions

    def CreateTask(self, request: daqmx.CreateTaskRequest) -> daqmx.CreateTaskResponse:
        name, new = self.sessions.initialize(
            request.session_name,
            request.initialization_behavior,
            lambda: DaqTask(request.session_name),
        )
        task = self._task(Session(name=name))
        task.resource_name = task.resource_name or name  # a generated name is the task's
        return daqmx.CreateTaskResponse(task=Session(name=name), new_session_initialized=new)

    def CreateAIVoltageChan(
        self, request: daqmx.CreateAIVoltageChanRequest
    ) -> daqmx.CreateAIVoltageChanResponse:
        task = self._task(request.task)
        low, high = request.min_val, request.max_val
        if not low < high or max(abs(low), abs(high)) > LARGEST_RANGE:
            raise DriverError(
                INVALID_VALUE,
                f"Requested value is not a supported value for this property: min_val {low:g} "
                f"and max_val {high:g}. The simulated device measures -{LARGEST_RANGE:g} to "
                f"{LARGEST_RANGE:g} V, with min_val below max_val.",
            )
        physical = expand_channels(request.physical_channel)
        if not physical:
            raise DriverError(
                INVALID_VALUE,
                "physical_channel is empty; name one like 'Dev1/ai0' or 'Dev1/ai0:3'.",
            )
        names = expand_channels(request.name_to_assign_to_channel) or physical
        if len(names) != len(physical):
            raise DriverError(
                INVALID_VALUE,
                f"{len(names)} names for {len(physical)} physical channels "
                f"({request.physical_channel!r}).",
            )
        for name, channel in zip(names, physical, strict=True):
            task.channels[name] = AiChannel(channel, low, high)
        return daqmx.CreateAIVoltageChanResponse()

    def CfgSampClkTiming(
        self, request: daqmx.CfgSampClkTimingRequest
    ) -> daqmx.CfgSampClkTimingResponse:
        task = self._task(request.task)
        mode = request.sample_mode_raw or request.sample_mode or FINITE
        if request.rate <= 0 or mode not in (FINITE, CONTINUOUS):
            raise DriverError(
                INVALID_VALUE,
                f"Requested value is not a supported value for this property: rate "
                f"{request.rate:g} (a positive number of samples per second), sample_mode "
                f"{mode} ({FINITE} finite or {CONTINUOUS} continuous).",
            )
        task.rate, task.sample_mode = request.rate, mode
        task.samples_per_channel = request.samps_per_chan
        return daqmx.CfgSampClkTimingResponse()

    def StartTask(self, request: daqmx.StartTaskRequest) -> daqmx.StartTaskResponse:
        task = self._task(request.task)
        task.running, task.samples_read = True, 0
        return daqmx.StartTaskResponse()

    def StopTask(self, request: daqmx.StopTaskRequest) -> daqmx.StopTaskResponse:
        self._task(request.task).running = False
        return daqmx.StopTaskResponse()

    def TaskControl(self, request: daqmx.TaskControlRequest) -> daqmx.TaskControlResponse:
        task = self._task(request.task)
        action = request.action_raw or request.action
        if action == TASK_START:
            task.running, task.samples_read = True, 0
        elif action in (TASK_STOP, TASK_ABORT):
            task.running = False
        return daqmx.TaskControlResponse()  # verify, commit, reserve, unreserve: nothing to do

    def ClearTask(self, request: daqmx.ClearTaskRequest) -> daqmx.ClearTaskResponse:
        self._task(request.task)
        self.sessions.close(request.task)
        return daqmx.ClearTaskResponse()

    def IsTaskDone(self, request: daqmx.IsTaskDoneRequest) -> daqmx.IsTaskDoneResponse:
        task = self._task(request.task)
        # NI: "Finite tasks for NI-DAQmx simulated devices are done immediately".
        done = not task.running or task.sample_mode == FINITE
        return daqmx.IsTaskDoneResponse(is_task_done=done)

    def WaitUntilTaskDone(
        self, request: daqmx.WaitUntilTaskDoneRequest
    ) -> daqmx.WaitUntilTaskDoneResponse:
        self._task(request.task)  # simulated samples are there at once
        return daqmx.WaitUntilTaskDoneResponse()

    def ReadAnalogF64(self, request: daqmx.ReadAnalogF64Request) -> daqmx.ReadAnalogF64Response:
        task = self._task(request.task)
        channels = list(task.channels.values())
        if not channels:
            raise DriverError(
                CHANNEL_NOT_IN_TASK, f"Task '{task.resource_name}' has no channels to read."
            )
        count = request.num_samps_per_chan
        if count == READ_ALL_AVAILABLE:
            count = max(task.samples_per_channel - task.samples_read, 0)
            if task.sample_mode == CONTINUOUS:
                count = max(int(task.rate / 10), 1)  # 100 ms of samples
        count = min(count, request.array_size_in_samps // len(channels))
        start = task.samples_read
        rows = [
            [task.sample(position, c, start + n) for n in range(count)]
            for position, c in enumerate(channels)
        ]
        task.samples_read += count
        values = (
            [row[n] for n in range(count) for row in rows]
            if (request.fill_mode_raw or request.fill_mode) == GROUP_BY_SCAN_NUMBER
            else [value for row in rows for value in row]
        )
        return daqmx.ReadAnalogF64Response(read_array=values, samps_per_chan_read=count)

    def GetTaskAttributeUInt32(
        self, request: daqmx.GetTaskAttributeUInt32Request
    ) -> daqmx.GetTaskAttributeUInt32Response:
        task = self._task(request.task)
        _known(request.attribute_raw, (TASK_NUM_CHANS,))
        return daqmx.GetTaskAttributeUInt32Response(value=len(task.channels))

    def GetTaskAttributeString(
        self, request: daqmx.GetTaskAttributeStringRequest
    ) -> daqmx.GetTaskAttributeStringResponse:
        task = self._task(request.task)
        values = {TASK_NAME: request.task.name, TASK_CHANNELS: ", ".join(task.channels)}
        _known(request.attribute_raw, tuple(values))
        return daqmx.GetTaskAttributeStringResponse(value=values[request.attribute_raw])

    def GetTaskAttributeBool(
        self, request: daqmx.GetTaskAttributeBoolRequest
    ) -> daqmx.GetTaskAttributeBoolResponse:
        _known(request.attribute_raw, (TASK_COMPLETE,))
        done = self.IsTaskDone(daqmx.IsTaskDoneRequest(task=request.task)).is_task_done
        return daqmx.GetTaskAttributeBoolResponse(value=done)

    def GetReadAttributeString(
        self, request: daqmx.GetReadAttributeStringRequest
    ) -> daqmx.GetReadAttributeStringResponse:
        task = self._task(request.task)
        _known(request.attribute_raw, (READ_CHANNELS_TO_READ,))
        return daqmx.GetReadAttributeStringResponse(value=", ".join(task.channels))

    def GetChanAttributeInt32(
        self, request: daqmx.GetChanAttributeInt32Request
    ) -> daqmx.GetChanAttributeInt32Response:
        task = self._task(request.task)
        task.selected(request.channel)
        values = {CHAN_TYPE: ANALOG_INPUT, AI_MEAS_TYPE: VOLTAGE}
        _known(request.attribute_raw, tuple(values))
        return daqmx.GetChanAttributeInt32Response(value_raw=values[request.attribute_raw])

    def GetChanAttributeDouble(
        self, request: daqmx.GetChanAttributeDoubleRequest
    ) -> daqmx.GetChanAttributeDoubleResponse:
        first, *_ = self._task(request.task).selected(request.channel)
        values = {AI_MIN: first.minimum, AI_MAX: first.maximum}
        _known(request.attribute_raw, tuple(values))
        return daqmx.GetChanAttributeDoubleResponse(value=values[request.attribute_raw])

    def GetChanAttributeString(
        self, request: daqmx.GetChanAttributeStringRequest
    ) -> daqmx.GetChanAttributeStringResponse:
        chosen = self._task(request.task).selected(request.channel)
        _known(request.attribute_raw, (PHYSICAL_CHANNEL_NAME,))
        return daqmx.GetChanAttributeStringResponse(value=", ".join(c.physical for c in chosen))

    def GetTimingAttributeDouble(
        self, request: daqmx.GetTimingAttributeDoubleRequest
    ) -> daqmx.GetTimingAttributeDoubleResponse:
        _known(request.attribute_raw, (SAMPLE_RATE,))
        return daqmx.GetTimingAttributeDoubleResponse(value=self._task(request.task).rate)

    def GetTimingAttributeUInt64(
        self, request: daqmx.GetTimingAttributeUInt64Request
    ) -> daqmx.GetTimingAttributeUInt64Response:
        task = self._task(request.task)
        _known(request.attribute_raw, (SAMPLES_PER_CHANNEL,))
        return daqmx.GetTimingAttributeUInt64Response(value=task.samples_per_channel)

    def GetTimingAttributeInt32(
        self, request: daqmx.GetTimingAttributeInt32Request
    ) -> daqmx.GetTimingAttributeInt32Response:
        task = self._task(request.task)
        _known(request.attribute_raw, (SAMPLE_MODE,))
        return daqmx.GetTimingAttributeInt32Response(value_raw=task.sample_mode)

    def GetErrorString(self, request: daqmx.GetErrorStringRequest) -> daqmx.GetErrorStringResponse:
        return daqmx.GetErrorStringResponse(
            error_string=f"Simulated NI-DAQmx status {request.error_code}."
        )

    def _task(self, vi: Session) -> DaqTask:
        return self.sessions.get(vi, DaqTask)


def _known(attribute: int, simulated: tuple[int, ...]) -> None:
    if attribute not in simulated:
        raise DriverError(
            INVALID_VALUE,
            f"Attribute {attribute:#x} is not simulated by the local runtime's NI-DAQmx "
            f"(here: {', '.join(f'{a:#x}' for a in simulated)}).",
        )
