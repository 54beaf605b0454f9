"""The local runtime's simulated NI-SCOPE, through NI's niscope package over gRPC.

NI's acceptance test acquires 5 points at 10 MS/s on a 5 V range and expects every
sample within -2.5 to 2.5 V; the runtime's rule (runtime/README.md, "Simulated
instruments") gives every sample: a 1 MHz sine of a quarter of the vertical range,
about the vertical offset, crossing the trigger level (rising) at the trigger.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import grpc
import hightime
import niscope
import pytest

from local_ni_runtime.server import LocalRuntime

INVALID_VALUE = -1074135024  # IVI: Invalid value for parameter or property


@pytest.fixture
def scope(runtime: LocalRuntime) -> Iterator[niscope.Session]:
    channel = grpc.insecure_channel(runtime.address)
    options = niscope.GrpcSessionOptions(channel, session_name="niScope-SCOPE1")
    with niscope.Session("SCOPE1", grpc_options=options) as session:
        yield session
    channel.close()


def acquire(
    scope: niscope.Session,
    channels: str,
    vertical_range: float,
    points: int,
    level: float,
    rate: float = 10e6,
) -> list[niscope.WaveformInfo]:
    """Configure and fetch as NI's NI-SCOPE test plug-in does."""
    scope.channels[channels].configure_vertical(vertical_range, niscope.VerticalCoupling.DC)
    scope.channels[channels].configure_chan_characteristics(1e6, max_input_frequency=0.0)
    scope.configure_horizontal_timing(rate, points, 50.0, 1, True)
    first = channels.split(",")[0]
    scope.configure_trigger_edge(first, level, niscope.TriggerCoupling.DC)
    scope.trigger_modifier = niscope.TriggerModifier.NO_TRIGGER_MOD
    with scope.initiate():
        return list(scope.channels[channels].fetch(timeout=hightime.timedelta(seconds=5)))


def test_nis_acquisition_stays_inside_the_vertical_range(scope: niscope.Session) -> None:
    # NI's acceptance test: 5 V range, 10 MS/s, 5 points, trigger at 0.5 V.
    (waveform,) = acquire(scope, "0", 5.0, 5, 0.5)
    assert len(waveform.samples) == 5
    assert all(-2.5 < sample < 2.5 for sample in waveform.samples)


def test_samples_cross_the_trigger_level_at_the_trigger(scope: niscope.Session) -> None:
    (waveform,) = acquire(scope, "1", 4.0, 20, 0.5)
    samples = list(waveform.samples)
    # Reference position 50 %: sample 10 is the trigger, where the 1 V sine rises through 0.5 V.
    assert samples[10] == pytest.approx(0.5)
    assert samples[11] > samples[10]
    phase = math.asin(0.5)
    expected = [math.sin(2 * math.pi * 1e6 * (n - 10) / 10e6 + phase) for n in range(20)]
    assert samples == pytest.approx(expected)
    assert waveform.x_increment == pytest.approx(1e-7)
    assert waveform.relative_initial_x == pytest.approx(-1e-6)


def test_each_channel_of_the_list_gets_a_waveform(scope: niscope.Session) -> None:
    waveforms = acquire(scope, "0,2", 1.0, 8, 0.0)
    assert [w.channel for w in waveforms] == ["0", "2"]
    assert all(max(abs(s) for s in w.samples) <= 0.25 for w in waveforms)


def test_a_sample_rate_beyond_the_digitizer_is_refused(scope: niscope.Session) -> None:
    with pytest.raises(niscope.errors.DriverError) as caught:
        scope.configure_horizontal_timing(5e9, 10, 50.0, 1, True)
    assert caught.value.code == INVALID_VALUE
    assert "min_sample_rate 5e+09" in str(caught.value)


def test_nis_example_flow_disables_all_then_acquires_its_channels(scope: niscope.Session) -> None:
    # NI's niscope_acquire_waveform example: all channels off, the measured ones on,
    # an edge trigger on another pin's channel, auto trigger, poll until complete, fetch.
    scope.channels[""].channel_enabled = False
    scope.channels["0,1"].configure_vertical(2.0, niscope.VerticalCoupling.DC, enabled=True)
    scope.channels["0,1"].configure_chan_characteristics(1e6, max_input_frequency=0.0)
    scope.configure_horizontal_timing(
        10e6, 10, ref_position=50.0, num_records=1, enforce_realtime=True
    )
    scope.configure_trigger_edge(
        "3", 0.25, niscope.TriggerCoupling.DC, niscope.TriggerSlope.POSITIVE
    )
    scope.trigger_modifier = niscope.TriggerModifier.AUTO
    with scope.initiate():
        assert scope.acquisition_status() == niscope.AcquisitionStatus.COMPLETE
        waveforms = scope.channels["0,1"].fetch()
    assert [len(w.samples) for w in waveforms] == [10, 10]
    assert waveforms[0].samples[5] == pytest.approx(0.25)  # 0.5 V sine through the level
    assert not scope.channels["2"].channel_enabled
