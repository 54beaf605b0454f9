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
import niswitch
import pytest
from ni.measurementlink.discovery.v1.client import DiscoveryClient
from ni.measurementlink.sessionmanagement.v1.client._drivers._grpcdevice import (
    get_insecure_grpc_device_server_channel,
)
from ni_grpc_extensions.channelpool import GrpcChannelPool
from nidaqmx._stubs import nidaqmx_pb2, nidaqmx_pb2_grpc
from nidcpower import nidcpower_pb2, nidcpower_pb2_grpc
from nidigital import nidigitalpattern_pb2, nidigitalpattern_pb2_grpc
from nifgen import nifgen_pb2, nifgen_pb2_grpc
from niscope import niscope_pb2, niscope_pb2_grpc
from niswitch import niswitch_pb2, niswitch_pb2_grpc
from session_pb2 import Session

from local_ni_runtime.server import LocalRuntime

INVALID_VALUE = -1074135024  # IVI: Invalid value for parameter or property


@pytest.fixture
def smu(runtime: LocalRuntime) -> Iterator[nidcpower.Session]:
    channel = grpc.insecure_channel(runtime.address)
    options = nidcpower.GrpcSessionOptions(channel, session_name="test-smu")
    with nidcpower.Session("DCPower1/0, DCPower1/1", grpc_options=options) as session:
        yield session
    channel.close()


@pytest.fixture
def dmm(runtime: LocalRuntime) -> Iterator[nidmm.Session]:
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


def test_smu_autoranging_selects_the_range_that_holds_the_level(smu: nidcpower.Session) -> None:
    channel = smu.channels["DCPower1/0"]
    channel.voltage_level_range = 1.0
    channel.voltage_level_autorange = 1  # NIDCPOWER_VAL_ON (the package takes a ViInt32)
    channel.voltage_level = 8.0
    channel.commit()
    assert channel.voltage_level_range == 10.0
    channel.voltage_level = 0.5
    channel.commit()
    assert channel.voltage_level_range == 1.0


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


@pytest.fixture
def mux(runtime: LocalRuntime) -> Iterator[niswitch.Session]:
    channel = grpc.insecure_channel(runtime.address)
    options = niswitch.GrpcSessionOptions(channel, session_name="Multiplexer1")
    with niswitch.Session("", "2525/2-Wire Sixteen 4x1 Mux", True, grpc_options=options) as session:
        yield session
    channel.close()


def test_switch_connects_and_disconnects_routes(mux: niswitch.Session) -> None:
    assert mux.can_connect("c1", "r2") == niswitch.PathCapability.PATH_AVAILABLE
    mux.connect_multiple("c1->r2, [c2->r2]")
    mux.wait_for_debounce()
    assert mux.can_connect("c1", "r2") == niswitch.PathCapability.PATH_EXISTS
    assert mux.can_connect("r2", "c2") == niswitch.PathCapability.PATH_EXISTS
    mux.disconnect("c2", "r2")
    assert mux.can_connect("c2", "r2") == niswitch.PathCapability.PATH_AVAILABLE
    mux.disconnect_all()
    assert mux.can_connect("c1", "r2") == niswitch.PathCapability.PATH_AVAILABLE


@pytest.mark.parametrize(
    ("connected", "action", "code"),
    [
        ("c1->r0", lambda m: m.connect("r0", "c1"), -1074126836),  # explicit connection exists
        ("", lambda m: m.disconnect("c1", "r0"), -1074126840),  # no such path
        ("", lambda m: m.connect("c1", "c1"), -1074126827),  # cannot connect to itself
        ("", lambda m: m.connect_multiple("c1->, c2"), -1074126847),  # invalid switch path
    ],
    ids=["connect-twice", "disconnect-missing", "to-itself", "bad-list"],
)
def test_switch_refuses_what_ni_switch_refuses(
    mux: niswitch.Session, connected: str, action: Any, code: int
) -> None:
    if connected:
        mux.connect_multiple(connected)
    with pytest.raises(niswitch.errors.DriverError) as caught:
        action(mux)
    assert caught.value.code == code


def test_switch_sessions_are_shared_by_name(runtime: LocalRuntime) -> None:
    channel = grpc.insecure_channel(runtime.address)
    attach = niswitch.GrpcSessionOptions(
        channel,
        "shared-mux",
        initialization_behavior=niswitch.SessionInitializationBehavior.ATTACH_TO_SERVER_SESSION,
    )
    with niswitch.Session(
        "", simulate=True, grpc_options=niswitch.GrpcSessionOptions(channel, "shared-mux")
    ) as owner:
        owner.connect("c0", "r0")
        with niswitch.Session("", simulate=True, grpc_options=attach) as attached:
            assert attached.can_connect("c0", "r0") == niswitch.PathCapability.PATH_EXISTS
    with pytest.raises(niswitch.errors.RpcError) as closed:
        niswitch.Session("", simulate=True, grpc_options=attach)
    assert closed.value.rpc_code == grpc.StatusCode.FAILED_PRECONDITION
    channel.close()


def test_session_names_follow_nis_initialize_and_attach_rules(runtime: LocalRuntime) -> None:
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


ANY = Session(name="any")


@pytest.mark.parametrize(
    ("rpc", "message", "stub_type"),
    [
        ("SelfTest", nidcpower_pb2.SelfTestRequest(vi=ANY), nidcpower_pb2_grpc.NiDCPowerStub),
        ("InitiateScan", niswitch_pb2.InitiateScanRequest(vi=ANY), niswitch_pb2_grpc.NiSwitchStub),
        (
            "CreateAOVoltageChan",
            nidaqmx_pb2.CreateAOVoltageChanRequest(task=ANY),
            nidaqmx_pb2_grpc.NiDAQmxStub,
        ),
        (
            "FetchArrayMeasurement",
            niscope_pb2.FetchArrayMeasurementRequest(vi=ANY),
            niscope_pb2_grpc.NiScopeStub,
        ),
        (
            "ConfigureArbWaveform",
            nifgen_pb2.ConfigureArbWaveformRequest(vi=ANY),
            nifgen_pb2_grpc.NiFgenStub,
        ),
        (
            "ReadStatic",
            nidigitalpattern_pb2.ReadStaticRequest(vi=ANY),
            nidigitalpattern_pb2_grpc.NiDigitalStub,
        ),
    ],
)
def test_rpcs_not_simulated_answer_unimplemented_by_name(
    runtime: LocalRuntime, rpc: str, message: Any, stub_type: Any
) -> None:
    with (
        grpc.insecure_channel(runtime.address) as channel,
        pytest.raises(grpc.RpcError) as caught,
    ):
        getattr(stub_type(channel), rpc)(message)
    assert isinstance(caught.value, grpc.Call)
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
    details = caught.value.details() or ""
    assert f".{rpc} is not simulated" in details
    assert "MEASUREMENT_PLUGIN_GRPC_DEVICE_SERVER_ADDRESS=" in details


@pytest.mark.parametrize(
    "interface",
    [
        "nirfsg_grpc.NiRFSG",
        "visa_grpc.Visa",
    ],
)
def test_other_device_server_interfaces_say_how_to_test_with_nis_server(
    runtime: LocalRuntime, interface: str
) -> None:
    # What NI's SDK does when a plug-in initializes a session of this driver.
    with pytest.raises(grpc.RpcError) as caught:
        get_insecure_grpc_device_server_channel(DiscoveryClient(), GrpcChannelPool(), interface)
    assert isinstance(caught.value, grpc.Call)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    details = caught.value.details() or ""
    assert f"does not simulate {interface} (NI gRPC Device Server)" in details
    simulated = (
        "nidaqmx_grpc.NiDAQmx, nidcpower_grpc.NiDCPower, nidigitalpattern_grpc.NiDigital, "
        "nidmm_grpc.NiDmm, nifgen_grpc.NiFgen, niscope_grpc.NiScope, niswitch_grpc.NiSwitch"
    )
    assert simulated in details
    assert "MEASUREMENT_PLUGIN_GRPC_DEVICE_SERVER_ADDRESS=" in details


@pytest.fixture
def relay_driver(runtime: LocalRuntime) -> Iterator[niswitch.Session]:
    """A relay driver session, as NI's NI-SWITCH relay plug-ins open one (a PXI-2567)."""
    channel = grpc.insecure_channel(runtime.address)
    options = niswitch.GrpcSessionOptions(channel, session_name="niRelayDriver-RelayDriver1")
    with niswitch.Session("RelayDriver1", "2567/Independent", True, grpc_options=options) as s:
        yield s
    channel.close()


def test_relays_open_and_close_by_name(relay_driver: niswitch.Session) -> None:
    position = niswitch.RelayPosition
    assert relay_driver.get_relay_position("K0") == position.OPEN
    # NI's relay example passes a session's channel list: several relays at once.
    relay_driver.relay_control("K0, K1", niswitch.RelayAction.CLOSE)
    relay_driver.wait_for_debounce()
    closed = [relay_driver.get_relay_position(name) for name in ("K0", "K1", "K2")]
    assert closed == [position.CLOSED, position.CLOSED, position.OPEN]
    relay_driver.relay_control("K1", niswitch.RelayAction.OPEN)
    assert relay_driver.get_relay_position("K1") == position.OPEN
    assert relay_driver.get_relay_position("K0") == position.CLOSED


def test_relay_control_refuses_an_empty_relay_name(relay_driver: niswitch.Session) -> None:
    with pytest.raises(niswitch.errors.DriverError) as caught:
        relay_driver.relay_control("", niswitch.RelayAction.CLOSE)
    assert caught.value.code == INVALID_VALUE
    assert "Relay name ''" in str(caught.value)
