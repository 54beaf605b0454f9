"""The local runtime's simulated NI gRPC Device Server, through NI's own driver packages.

The expected values are NI's where NI states them (runtime/README.md, "Simulated
instruments", gives each source) and the README's rules elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import grpc
import hightime
import nidcpower
import nidmm
import pytest
from nidcpower import nidcpower_pb2, nidcpower_pb2_grpc
from session_pb2 import Session

from support import ServerProcess

INVALID_VALUE = -1074135024  # IVI: Invalid value for parameter or property


@pytest.fixture
def smu(runtime: ServerProcess) -> Iterator[nidcpower.Session]:
    channel = grpc.insecure_channel(runtime.address)
    options = nidcpower.GrpcSessionOptions(channel, session_name="test-smu")
    with nidcpower.Session("DCPower1/0, DCPower1/1", grpc_options=options) as session:
        yield session
    channel.close()


@pytest.fixture
def dmm(runtime: ServerProcess) -> Iterator[nidmm.Session]:
    channel = grpc.insecure_channel(runtime.address)
    options = nidmm.GrpcSessionOptions(channel, session_name="test-dmm")
    with nidmm.Session("DMM1", grpc_options=options) as session:
        yield session
    channel.close()


def source_voltage(
    channel: Any,  # a channel of an nidcpower.Session (the package is untyped)
    level: float,
    limit: float,
    level_range: float = 10.0,
    limit_range: float = 0.01,
) -> tuple[float, float, bool]:
    """Configure a DC voltage as NI's NI-DCPower test plug-in does; return V, I, compliance."""
    channel.source_mode = nidcpower.SourceMode.SINGLE_POINT
    channel.output_function = nidcpower.OutputFunction.DC_VOLTAGE
    channel.current_limit = limit
    channel.voltage_level_range = level_range
    channel.current_limit_range = limit_range
    channel.source_delay = hightime.timedelta(seconds=0.1)
    channel.voltage_level = level
    with channel.initiate():
        channel.wait_for_event(nidcpower.Event.SOURCE_COMPLETE, timeout=10.0)
        (reading,) = channel.measure_multiple()
        return reading.voltage, reading.current, channel.query_in_compliance()


def test_smu_measures_what_nis_simulated_4141_measures(smu: nidcpower.Session) -> None:
    # NI's acceptance test: 5 V, 10 mA limit, 10 V range -> 5 V and 0.0001 A.
    voltage, current, compliance = source_voltage(smu.channels["DCPower1/0"], 5.0, 0.01)
    assert (voltage, current) == pytest.approx((5.0, 0.0001))
    assert not compliance


def test_smu_clamps_at_the_current_limit_and_reports_compliance(smu: nidcpower.Session) -> None:
    voltage, current, compliance = source_voltage(
        smu.channels["DCPower1/1"], 5.0, 10e-6, limit_range=10e-6
    )
    assert compliance
    assert current == pytest.approx(10e-6)
    assert voltage < 5.0


def test_smu_refuses_a_level_outside_the_selected_range(smu: nidcpower.Session) -> None:
    channel = smu.channels["DCPower1/0"]
    with pytest.raises(nidcpower.errors.DriverError) as caught:
        source_voltage(channel, 10.0, 0.01, level_range=6.0)
    assert caught.value.code == INVALID_VALUE
    assert "voltage_level 10 is outside the selected voltage_level_range of 6" in str(caught.value)
    channel.voltage_level = 5.0
    channel.commit()  # the same configuration within range is accepted


def test_smu_refuses_a_limit_outside_the_selected_range(smu: nidcpower.Session) -> None:
    with pytest.raises(nidcpower.errors.DriverError) as caught:
        source_voltage(smu.channels["DCPower1/0"], 1.0, 0.05, limit_range=0.01)
    assert caught.value.code == INVALID_VALUE
    assert "current_limit 0.05" in str(caught.value)


def test_smu_coerces_a_range_up_to_one_the_4141_has(smu: nidcpower.Session) -> None:
    channel = smu.channels["DCPower1/0"]
    channel.voltage_level_range = 5.0
    channel.current_limit_range = 0.002
    assert (channel.voltage_level_range, channel.current_limit_range) == (6.0, 0.01)


def test_driver_errors_arrive_as_nis_do(smu: nidcpower.Session) -> None:
    with pytest.raises(nidcpower.errors.DriverError) as caught:
        smu.channels["DCPower1/0"].voltage_level = 30.0
    assert caught.value.code == INVALID_VALUE
    assert "voltage_level" in str(caught.value)


def test_dmm_resolution_is_nis_simulated_4081s(dmm: nidmm.Session) -> None:
    # NI's acceptance test: DC volts, 10 V range, 5.5 digits -> 5.0e-05.
    dmm.configure_measurement_digits(nidmm.Function.DC_VOLTS, 10.0, 5.5)
    assert dmm.resolution_absolute == pytest.approx(5.0e-05)
    dmm.configure_measurement_digits(nidmm.Function.DC_VOLTS, 10.0, 6.5)
    assert dmm.resolution_absolute == pytest.approx(5.0e-06)
    dmm.configure_measurement_digits(nidmm.Function.DC_VOLTS, 1.0, 5.5)
    assert dmm.resolution_absolute == pytest.approx(5.0e-06)


def test_dmm_reads_in_the_configured_function(dmm: nidmm.Session) -> None:
    readings = {}
    for function, range_ in (
        (nidmm.Function.DC_VOLTS, 10.0),
        (nidmm.Function.AC_VOLTS, 5.0),
        (nidmm.Function.DC_CURRENT, 0.1),
        (nidmm.Function.TWO_WIRE_RES, 10e3),
        (nidmm.Function.FOUR_WIRE_RES, 10e3),
    ):
        dmm.configure_measurement_digits(function, range_, 5.5)
        readings[function] = dmm.read()
        assert dmm.function == function
    assert len(set(readings.values())) == len(readings)
    assert readings[nidmm.Function.DC_VOLTS] == pytest.approx(1.5)


def test_dmm_honours_the_range(dmm: nidmm.Session) -> None:
    dmm.configure_measurement_digits(nidmm.Function.DC_VOLTS, 1.0, 5.5)
    assert math.isnan(dmm.read())  # the 1.5 V input is over the 1 V range
    dmm.configure_measurement_digits(nidmm.Function.DC_VOLTS, 5.0, 5.5)
    assert dmm.range == 10.0  # coerced up to the next range
    assert dmm.read() == pytest.approx(1.5)
    dmm.configure_measurement_digits(nidmm.Function.DC_VOLTS, -1.0, 5.5)  # auto range
    assert dmm.read() == pytest.approx(1.5)
    assert dmm.resolution_absolute == pytest.approx(5.0e-05)  # auto range picked 10 V


def test_dmm_refuses_what_a_4081_cannot_do(dmm: nidmm.Session) -> None:
    with pytest.raises(nidmm.errors.DriverError) as caught:
        dmm.configure_measurement_digits(nidmm.Function.DC_VOLTS, 2000.0, 5.5)
    assert caught.value.code == INVALID_VALUE
    assert "0.1, 1, 10, 100, 1000" in str(caught.value)
    with pytest.raises(nidmm.errors.DriverError) as caught:
        dmm.configure_measurement_digits(nidmm.Function.TEMPERATURE, 10.0, 5.5)
    assert "TEMPERATURE" not in str(caught.value).split("simulated:")[1]
    assert "DC_VOLTS (1)" in str(caught.value)
    with pytest.raises(nidmm.errors.DriverError):
        dmm.configure_measurement_digits(nidmm.Function.DC_VOLTS, 10.0, 8.5)


def test_session_names_follow_nis_initialize_and_attach_rules(runtime: ServerProcess) -> None:
    channel = grpc.insecure_channel(runtime.address)
    attach = nidmm.GrpcSessionOptions(
        channel,
        "shared-dmm",
        initialization_behavior=nidmm.SessionInitializationBehavior.ATTACH_TO_SERVER_SESSION,
    )
    with pytest.raises(nidmm.errors.RpcError) as missing:
        nidmm.Session("DMM1", grpc_options=attach)
    assert missing.value.rpc_code == grpc.StatusCode.FAILED_PRECONDITION
    create = nidmm.GrpcSessionOptions(channel, "shared-dmm")
    with nidmm.Session("DMM1", grpc_options=create) as owner:
        with nidmm.Session("DMM1", grpc_options=attach) as attached:
            attached.configure_measurement_digits(nidmm.Function.DC_VOLTS, 10.0, 6.5)
            assert attached.read() == pytest.approx(1.5)
        assert owner.resolution_absolute == pytest.approx(5e-6)
    channel.close()


def test_rpcs_not_simulated_answer_unimplemented_by_name(runtime: ServerProcess) -> None:
    with grpc.insecure_channel(runtime.address) as channel:
        stub = nidcpower_pb2_grpc.NiDCPowerStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.SelfTest(nidcpower_pb2.SelfTestRequest(vi=Session(name="any")))
    assert isinstance(caught.value, grpc.Call)
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "nidcpower_grpc.NiDCPower.SelfTest" in (caught.value.details() or "")
