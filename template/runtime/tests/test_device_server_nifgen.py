"""The local runtime's simulated NI-FGEN, through NI's nifgen package over gRPC.

NI's acceptance test configures a 2 Vpk-pk, 1 MHz sine on each reserved channel
and initiates; NI's example notes that a simulated generator's wait_until_done()
returns at once. The runtime keeps what each channel was configured with.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import hightime
import nifgen
import pytest

from local_ni_runtime.server import LocalRuntime

INVALID_VALUE = -1074135024  # IVI: Invalid value for parameter or property


@pytest.fixture
def generator(runtime: LocalRuntime) -> Iterator[nifgen.Session]:
    channel = grpc.insecure_channel(runtime.address)
    options = nifgen.GrpcSessionOptions(channel, session_name="niFGen-FGEN1")
    with nifgen.Session("FGEN1", grpc_options=options) as session:
        yield session
    channel.close()


def test_a_standard_sine_is_configured_and_generated(generator: nifgen.Session) -> None:
    # NI's acceptance test: FUNC mode, a 2 Vpk-pk 1 MHz sine on channel 0, initiate.
    generator.output_mode = nifgen.OutputMode.FUNC
    generator.channels["0"].configure_standard_waveform(nifgen.Waveform.SINE, 2.0, 1.0e6)
    with generator.initiate():
        generator.wait_until_done(hightime.timedelta(seconds=0.1))
    channel = generator.channels["0"]
    assert (channel.func_waveform, channel.func_amplitude, channel.func_frequency) == (
        nifgen.Waveform.SINE,
        2.0,
        1.0e6,
    )
    assert generator.channels["1"].func_amplitude != 2.0  # only the channel configured
    assert generator.simulate  # what NI's example checks before waiting on the generator


def test_a_non_positive_amplitude_is_refused(generator: nifgen.Session) -> None:
    with pytest.raises(nifgen.errors.DriverError) as caught:
        generator.channels["0"].configure_standard_waveform(nifgen.Waveform.SQUARE, 0.0, 1e3)
    assert caught.value.code == INVALID_VALUE
    assert "Amplitude 0" in str(caught.value)
