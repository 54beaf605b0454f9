"""The local runtime's simulated NI gRPC Device Server, through NI's own driver packages."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import nidcpower
import nidmm
import pytest
from nidcpower import nidcpower_pb2, nidcpower_pb2_grpc
from session_pb2 import Session

from support import ServerProcess


@pytest.fixture
def smu(runtime: ServerProcess) -> Iterator[nidcpower.Session]:
    channel = grpc.insecure_channel(runtime.address)
    options = nidcpower.GrpcSessionOptions(channel, session_name="test-smu")
    with nidcpower.Session("DCPower1/0, DCPower1/1", grpc_options=options) as session:
        yield session
    channel.close()


def test_smu_sources_into_the_load_and_clamps_at_the_current_limit(smu: nidcpower.Session) -> None:
    channel = smu.channels["DCPower1/0"]
    channel.output_function = nidcpower.OutputFunction.DC_VOLTAGE
    channel.current_limit = 0.01
    channel.voltage_level = 3.0
    with channel.initiate():
        (reading,) = channel.measure_multiple()
        assert (reading.voltage, reading.current) == pytest.approx((3.0, 0.003))
        assert not channel.query_in_compliance()
    channel.current_limit = 0.002
    with channel.initiate():
        (reading,) = channel.measure_multiple()
        assert (reading.voltage, reading.current) == pytest.approx((2.0, 0.002))
        assert channel.query_in_compliance()


def test_driver_errors_arrive_as_nis_do(smu: nidcpower.Session) -> None:
    with pytest.raises(nidcpower.errors.DriverError) as caught:
        smu.channels["DCPower1/0"].voltage_level = 30.0
    assert caught.value.code == -1074135024
    assert "voltage_level" in str(caught.value)


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
        assert owner.resolution_absolute == pytest.approx(1e-5)
    channel.close()


def test_rpcs_not_simulated_answer_unimplemented_by_name(runtime: ServerProcess) -> None:
    with grpc.insecure_channel(runtime.address) as channel:
        stub = nidcpower_pb2_grpc.NiDCPowerStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.SelfTest(nidcpower_pb2.SelfTestRequest(vi=Session(name="any")))
    assert isinstance(caught.value, grpc.Call)
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "nidcpower_grpc.NiDCPower.SelfTest" in (caught.value.details() or "")
