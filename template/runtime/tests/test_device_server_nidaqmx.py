"""The local runtime's simulated NI-DAQmx, through NI's nidaqmx package over gRPC.

NI's acceptance test reads one sample of Dev1/ai0 on a channel added with
nidaqmx's default range (-5 to 5 V) and expects it within -10.5 to 10.5 V. NI
documents its simulated devices' analog input as a full-scale sine, each further
channel offset 5 degrees; the runtime's rule (runtime/README.md, "Simulated
instruments") adds the rest: 10 Hz, sampled at the task's rate, no noise.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import grpc
import nidaqmx
import nidaqmx.errors
import pytest
from nidaqmx.constants import AcquisitionType, TaskMode

from local_ni_runtime.server import LocalRuntime

INVALID_VALUE = -200077  # NI-DAQmx: requested value is not a supported value


@pytest.fixture
def task(runtime: LocalRuntime) -> Iterator[nidaqmx.Task]:
    channel = grpc.insecure_channel(runtime.address)
    options = nidaqmx.GrpcSessionOptions(channel, session_name="Dev1")
    with nidaqmx.Task(new_task_name="Dev1", grpc_options=options) as created:
        yield created
    channel.close()


def sine(minimum: float, maximum: float, rate: float, index: int, degrees: float = 0.0) -> float:
    middle, amplitude = (maximum + minimum) / 2, (maximum - minimum) / 2
    return middle + amplitude * math.sin(2 * math.pi * 10.0 * index / rate + math.radians(degrees))


def test_a_default_range_reading_is_within_it(task: nidaqmx.Task) -> None:
    # NI's acceptance test: one sample of Dev1/ai0, default range (-5 to 5 V).
    task.ai_channels.add_ai_voltage_chan("Dev1/ai0")
    task.timing.cfg_samp_clk_timing(rate=1000.0, samps_per_chan=2)
    task.start()
    (value,) = task.read(1, 10.0)
    task.stop()
    assert -5.0 <= value <= 5.0


def test_samples_follow_the_range_and_the_sample_clock(task: nidaqmx.Task) -> None:
    task.ai_channels.add_ai_voltage_chan("Dev1/ai0", min_val=0.0, max_val=5.0)
    task.timing.cfg_samp_clk_timing(rate=2000.0, samps_per_chan=200)
    samples = task.read(200, 10.0)
    assert samples == pytest.approx([sine(0.0, 5.0, 2000.0, n) for n in range(200)])
    assert max(samples) == pytest.approx(5.0)  # the peak, 1/40 s in (sample 50)
    assert min(samples) == pytest.approx(0.0)  # the trough, sample 150


def test_a_channel_range_reads_each_channel(task: nidaqmx.Task) -> None:
    task.ai_channels.add_ai_voltage_chan("Dev1/ai0:1", min_val=-1.0, max_val=1.0)
    task.timing.cfg_samp_clk_timing(rate=1000.0, samps_per_chan=30)
    first, second = task.read(30, 10.0)
    assert first == pytest.approx([sine(-1.0, 1.0, 1000.0, n) for n in range(30)])
    # NI: "the data for each channel is offset five degrees in time".
    assert second == pytest.approx([sine(-1.0, 1.0, 1000.0, n, 5.0) for n in range(30)])
    assert task.channel_names == ["Dev1/ai0", "Dev1/ai1"]


def test_reading_goes_on_where_the_last_read_stopped(task: nidaqmx.Task) -> None:
    task.ai_channels.add_ai_voltage_chan("Dev1/ai0")
    task.timing.cfg_samp_clk_timing(rate=1000.0, samps_per_chan=50)
    task.start()
    task.read(25, 10.0)
    assert task.read(1, 10.0) == [pytest.approx(sine(-5.0, 5.0, 1000.0, 25))]  # the peak
    task.control(TaskMode.TASK_ABORT)


@pytest.mark.parametrize(("low", "high"), [(-20.0, 20.0), (5.0, 1.0)])
def test_a_range_the_device_cannot_measure_is_refused(
    task: nidaqmx.Task, low: float, high: float
) -> None:
    with pytest.raises(nidaqmx.errors.DaqError) as caught:
        task.ai_channels.add_ai_voltage_chan("Dev1/ai0", min_val=low, max_val=high)
    assert caught.value.error_code == INVALID_VALUE
    assert "-10 to 10 V" in str(caught.value)


def test_a_task_set_up_once_is_attached_to_and_read_as_nis_examples_do(
    runtime: LocalRuntime,
) -> None:
    # NI's nidaqmx_analog_input example: TestStand setup creates the task and its
    # channels and leaves it; the measurement attaches and reads without adding channels.
    channel = grpc.insecure_channel(runtime.address)
    behavior = nidaqmx.SessionInitializationBehavior
    setup = nidaqmx.GrpcSessionOptions(
        channel, "Dev2", initialization_behavior=behavior.INITIALIZE_SERVER_SESSION
    )
    created = nidaqmx.Task(new_task_name="Dev2", grpc_options=setup)
    created.ai_channels.add_ai_voltage_chan("Dev2/ai0", min_val=-2.0, max_val=2.0)
    attach = nidaqmx.GrpcSessionOptions(
        channel, "Dev2", initialization_behavior=behavior.ATTACH_TO_SERVER_SESSION
    )
    with nidaqmx.Task(new_task_name="Dev2", grpc_options=attach) as attached:
        attached.timing.cfg_samp_clk_timing(rate=1000.0, samps_per_chan=26)
        samples = attached.read(26, 10.0)  # a finite read starts the task itself
        attached.control(TaskMode.TASK_ABORT)
    assert samples[25] == pytest.approx(2.0)  # the peak of the channel set up before
    created.close()  # clears the task for every client, as NI's cleanup does
    with pytest.raises(nidaqmx.errors.RpcError) as gone:
        nidaqmx.Task(new_task_name="Dev2", grpc_options=attach)
    assert "Cannot attach to 'Dev2'" in str(gone.value)
    channel.close()


def test_a_finite_task_is_done_at_once_and_a_continuous_one_when_stopped(
    task: nidaqmx.Task,
) -> None:
    # NI: "Finite tasks for NI-DAQmx simulated devices are done immediately";
    # "Continuous tasks are done when you call the Stop function".
    task.ai_channels.add_ai_voltage_chan("Dev1/ai0")
    task.timing.cfg_samp_clk_timing(rate=1000.0, samps_per_chan=1000)
    task.start()
    assert task.is_task_done()
    task.stop()
    task.timing.cfg_samp_clk_timing(rate=1000.0, sample_mode=AcquisitionType.CONTINUOUS)
    task.start()
    assert not task.is_task_done()
    task.stop()
    assert task.is_task_done()
