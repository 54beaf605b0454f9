"""The local runtime with NI's own SDK clients, and the TestStand flow, against real processes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import ni_measurement_plugin_sdk_service as nims
import pytest
from ni.measurementlink.discovery.v1.client import DiscoveryClient, ServiceInfo, ServiceLocation
from ni.measurementlink.pinmap.v1.client import PinMapClient
from ni.measurementlink.sessionmanagement.v1.client import (
    PinMapContext,
    SessionManagementClient,
)

from json_logger_client import (
    JSON_LOGGER_INSTRUMENT_TYPE,
    SERVICE,
    JsonLoggerClient,
    JsonLoggerSessionConstructor,
    ServiceConnection,
)

import resource_checks
import teststand_json_logger as teststand
from support import (
    ATTACH_TO_EXISTING,
    INITIALIZE_NEW,
    PROJECT,
    RESOURCE_PIN,
    ServerProcess,
    close,
    connect,
    initialize,
    registered_sessions,
    write_pin_map,
)


class RunTimeVariables:
    """What TestStand's `Execution.RunTimeVariables` offers the helper module."""

    def __init__(self, values: dict[str, str]) -> None:
        self._values = values

    def Exists(self, name: str, options: int) -> bool:  # noqa: N802  (TestStand's names)
        return name in self._values

    def GetValString(self, name: str, options: int) -> str:  # noqa: N802
        return self._values[name]


class SequenceContext:
    """A stand-in for TestStand's SequenceContext: only what the helpers read."""

    def __init__(self, pin_map_id: str) -> None:
        self.Execution = type("Execution", (), {})()  # noqa: N815
        self.Execution.RunTimeVariables = RunTimeVariables(
            {teststand.PIN_MAP_ID_VARIABLE: pin_map_id}
        )


@pytest.fixture
def resources(new_resource: Any) -> list[str]:
    return [new_resource(), new_resource()]


@pytest.fixture
def pin_map_id(
    registered_server: ServerProcess, tmp_path: Path, resources: list[str]
) -> Iterator[str]:
    yield write_pin_map(tmp_path / "bench.pinmap", resources[:1])
    teststand.cleanup_sessions()  # leave nothing registered for the next test


def step(pin_map_id: str, name: str) -> tuple[str, str]:
    """A measurement step: reserve the resource pin, share the session with AUTO, use it."""
    client = SessionManagementClient()
    context = PinMapContext(pin_map_id=pin_map_id, sites=[0])
    constructor = JsonLoggerSessionConstructor()
    with (
        client.reserve_session(context, RESOURCE_PIN) as reservation,
        reservation.initialize_session(constructor, JSON_LOGGER_INSTRUMENT_TYPE) as info,
    ):
        session: JsonLoggerClient = info.session
        resource_checks.use_in_step(session, name)
        return session.session_name, info.session_name


def test_sdk_clients_reserve_and_initialize_through_the_runtime(pin_map_id: str) -> None:
    server_session, sms_session = step(pin_map_id, "sdk")
    assert server_session
    assert sms_session.startswith("JsonLoggerService-")


def test_server_is_found_through_discovery(registered_server: ServerProcess) -> None:
    interface = "ni.logger.v1.json"
    service_class = "ni.logger.JSONLogService"
    location = DiscoveryClient().resolve_service(interface, service_class)
    assert location.insecure_address == registered_server.address


def test_teststand_flow_shares_one_session(
    registered_server: ServerProcess, runtime: ServerProcess, pin_map_id: str, resources: list[str]
) -> None:
    context = SequenceContext(pin_map_id)
    teststand.create_sessions(context)
    assert len(registered_sessions(runtime)) == 1
    first, _ = step(pin_map_id, "first")
    second, _ = step(pin_map_id, "second")
    assert first == second
    teststand.destroy_sessions(context)
    assert registered_sessions(runtime) == []
    channel, stub = connect(registered_server.address)
    with channel, pytest.raises(grpc.RpcError) as closed:
        initialize(stub, resources[0], ATTACH_TO_EXISTING)
    assert isinstance(closed.value, grpc.Call) and closed.value.code() == grpc.StatusCode.NOT_FOUND
    resource_checks.check_teststand_flow(resources)


def test_cleanup_after_a_failing_step_closes_everything(
    registered_server: ServerProcess, runtime: ServerProcess, pin_map_id: str, resources: list[str]
) -> None:
    teststand.setup_sessions(pin_map_id)
    step(pin_map_id, "before the failure")
    context = PinMapContext(pin_map_id=pin_map_id, sites=[0])
    constructor = JsonLoggerSessionConstructor()
    with (
        pytest.raises(RuntimeError, match="step failed"),
        SessionManagementClient().reserve_session(context, RESOURCE_PIN) as reservation,
        reservation.initialize_session(constructor, JSON_LOGGER_INSTRUMENT_TYPE),
    ):
        raise RuntimeError("step failed")
    closed = teststand.cleanup_sessions()
    assert len(closed) == 1
    assert registered_sessions(runtime) == []
    channel, stub = connect(registered_server.address)
    with channel:
        assert initialize(stub, resources[0], INITIALIZE_NEW).new_session


def test_failed_setup_closes_what_it_opened(
    registered_server: ServerProcess, runtime: ServerProcess, tmp_path: Path, resources: list[str]
) -> None:
    pin_map_id = write_pin_map(tmp_path / "two.pinmap", resources)
    channel, stub = connect(registered_server.address)
    with channel:
        stale = initialize(stub, resources[1], INITIALIZE_NEW)  # a session a crashed run left open
        with pytest.raises(grpc.RpcError) as failed:
            teststand.setup_sessions(pin_map_id)
        assert isinstance(failed.value, grpc.Call)
        assert failed.value.code() == grpc.StatusCode.ALREADY_EXISTS
        assert registered_sessions(runtime) == []
        # The first resource's session was rolled back, so it can be opened anew.
        assert initialize(stub, resources[0], INITIALIZE_NEW).new_session
        close(stub, stale.session_name)


def test_reservation_timeout_zero_fails_at_once_and_positive_waits(pin_map_id: str) -> None:
    client = SessionManagementClient()
    context = PinMapContext(pin_map_id=pin_map_id, sites=[0])
    first = client.reserve_session(context, RESOURCE_PIN)
    with pytest.raises(grpc.RpcError) as busy:
        client.reserve_session(context, RESOURCE_PIN, timeout=0)
    assert isinstance(busy.value, grpc.Call)
    assert busy.value.code() == grpc.StatusCode.UNAVAILABLE
    released = threading.Event()

    def release() -> None:
        released.set()  # before unreserving: the waiter cannot get the pin before this
        first.unreserve()

    releaser = threading.Timer(0.5, release)
    releaser.start()
    with client.reserve_session(context, RESOURCE_PIN, timeout=10):
        assert released.is_set(), "the reservation returned while another still held the pin"
    releaser.join()


def test_reservation_of_a_killed_process_is_listed_and_cleared(
    runtime: ServerProcess, pin_map_id: str
) -> None:
    holder = (
        "import os\n"
        "from ni.measurementlink.sessionmanagement.v1 import client\n"
        f"context = client.PinMapContext(pin_map_id={pin_map_id!r}, sites=[0])\n"
        f"client.SessionManagementClient().reserve_session(context, {RESOURCE_PIN!r})\n"
        "os._exit(9)  # die without unreserving\n"
    )
    died = subprocess.run(
        [sys.executable, "-c", holder], capture_output=True, text=True, timeout=60, check=False
    )
    assert died.returncode == 9, died.stderr
    command = [sys.executable, "-m", "local_ni_runtime", "reservations"]
    command += ["--address", runtime.address]
    listed = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    reserved_types = [r["instrument_type_id"] for r in listed["reservations"]]
    assert reserved_types == ["JsonLoggerService"]
    client = SessionManagementClient()
    context = PinMapContext(pin_map_id=pin_map_id, sites=[0])
    with pytest.raises(grpc.RpcError):
        client.reserve_session(context, RESOURCE_PIN, timeout=0)
    cleared = json.loads(
        subprocess.run([*command, "--clear"], capture_output=True, text=True, check=True).stdout
    )
    assert len(cleared["released"]) == 1
    with client.reserve_session(context, RESOURCE_PIN, timeout=0):
        pass


@pytest.mark.parametrize(
    ("pins", "sites", "code", "message"),
    [
        (["NoSuchPin"], [0], grpc.StatusCode.INVALID_ARGUMENT, "NoSuchPin"),
        ([RESOURCE_PIN], [1], grpc.StatusCode.INVALID_ARGUMENT, 'site numbers: "1"'),
    ],
    ids=["unknown-pin", "unknown-site"],
)
def test_bad_reservations_get_nis_status_codes(
    pin_map_id: str, pins: list[str], sites: list[int], code: grpc.StatusCode, message: str
) -> None:
    context = PinMapContext(pin_map_id=pin_map_id, sites=sites)
    with pytest.raises(grpc.RpcError) as caught:
        SessionManagementClient().reserve_sessions(context, pins)
    assert isinstance(caught.value, grpc.Call)
    assert caught.value.code() == code
    assert message in (caught.value.details() or "")


def test_unknown_pin_map_id_is_not_found(runtime: ServerProcess) -> None:
    context = PinMapContext(pin_map_id="/no/such.pinmap", sites=[0])
    with pytest.raises(grpc.RpcError) as caught:
        SessionManagementClient().reserve_sessions(context)
    assert isinstance(caught.value, grpc.Call)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        ("<PinMap><Instruments>", "not well-formed XML at line 1"),
        (
            '<PinMap xmlns="http://www.ni.com/TestStand/SemiconductorModule/PinMap.xsd">\n'
            '<Instruments>\n<Instrument name="x" />\n</Instruments>\n</PinMap>',
            "line 3, <Instrument>: attribute 'instrumentTypeId' is missing",
        ),
        (
            '<PinMap xmlns="http://www.ni.com/TestStand/SemiconductorModule/PinMap.xsd">\n'
            '<Pins><DUTPin name="A" /></Pins>\n<Sites><Site siteNumber="0" /></Sites>\n'
            '<Connections>\n<Connection pin="A" siteNumber="0" instrument="Ghost" channel="0" />\n'
            "</Connections>\n</PinMap>",
            "line 5, <Connection>: instrument 'Ghost' is not defined",
        ),
    ],
    ids=["not-xml", "missing-attribute", "unknown-instrument"],
)
def test_malformed_pin_map_is_invalid_naming_line_and_element(
    runtime: ServerProcess, tmp_path: Path, xml: str, message: str
) -> None:
    path = tmp_path / "broken.pinmap"
    path.write_text(xml, encoding="utf-8")
    with pytest.raises(grpc.RpcError) as caught:
        PinMapClient().update_pin_map(path)
    assert isinstance(caught.value, grpc.Call)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in (caught.value.details() or "")


def test_session_information_follows_nis_naming_rules(
    pin_map_id: str,
    resources: list[str],
) -> None:
    context = PinMapContext(pin_map_id=pin_map_id, sites=[0])
    with SessionManagementClient().reserve_sessions(context) as reservation:
        by_type = {info.instrument_type_id: info for info in reservation.session_info}
    smu, dmm = by_type["niDCPower"], by_type["niDMM"]
    resource = by_type["JsonLoggerService"]
    assert (smu.session_name, smu.resource_name, smu.channel_list) == (
        "niDCPower-DCPower1/0",
        "DCPower1/0",
        "DCPower1/0",
    )
    assert (dmm.session_name, dmm.resource_name, dmm.channel_list) == ("niDMM-DMM1", "DMM1", "0")
    assert (resource.resource_name, resource.channel_list) == (resources[0], "0")
    assert [(m.pin_or_relay_name, m.site, m.channel) for m in smu.channel_mappings] == [
        ("SmuPin", 0, "DCPower1/0")
    ]


def test_discovery_resolution_errors(runtime: ServerProcess) -> None:
    client = DiscoveryClient()
    with pytest.raises(grpc.RpcError) as missing:
        client.resolve_service(provided_interface="no.such.Interface")
    assert isinstance(missing.value, grpc.Call)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    ids = [
        client.register_service(
            ServiceInfo(
                service_class=f"test.Class{n}",
                description_url="",
                provided_interfaces=["test.Shared"],
                display_name=f"Test {n}",
            ),
            ServiceLocation("localhost", "1234", ""),
        )
        for n in (1, 2)
    ]
    try:
        with pytest.raises(grpc.RpcError) as ambiguous:
            client.resolve_service(provided_interface="test.Shared")
        assert isinstance(ambiguous.value, grpc.Call)
        assert ambiguous.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert client.resolve_service("test.Shared", "test.Class2").insecure_port == "1234"
    finally:
        for registration_id in ids:
            client.unregister_service(registration_id)


def test_measurement_service_registers_with_the_runtime(
    runtime: ServerProcess,
    tmp_path: Path,
) -> None:
    config = tmp_path / "Probe.serviceconfig"
    config.write_text(
        json.dumps(
            {
                "services": [
                    {
                        "displayName": "Runtime Probe",
                        "serviceClass": "local.RuntimeProbe_Python",
                        "descriptionUrl": "",
                        "providedInterfaces": [
                            "ni.measurementlink.measurement.v1.MeasurementService",
                            "ni.measurementlink.measurement.v2.MeasurementService",
                        ],
                        "path": "start.bat",
                        "version": "1.0.0.0",
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    service = nims.MeasurementService(service_config_path=config, ui_file_paths=[])

    @service.register_measurement
    @service.output("echo", nims.DataType.Double)
    @service.configuration("value", nims.DataType.Double, 1.0)
    def measure(value: float) -> tuple[float]:
        return (value,)

    with service.host_service():
        location = DiscoveryClient().resolve_service(
            "ni.measurementlink.measurement.v2.MeasurementService", "local.RuntimeProbe_Python"
        )
        assert location.location == "localhost" and location.insecure_port


def test_serviceconfig_annotations_register_as_nis_sdk_writes_them(
    runtime: ServerProcess, start_server: Any, tmp_path: Path
) -> None:
    shipped_path = PROJECT / "server" / "JsonLogger.serviceconfig"
    shipped = json.loads(shipped_path.read_text(encoding="utf-8"))
    service = shipped["services"][0]
    service["serviceClass"] += "AnnotationProbe"
    service["annotations"] = {
        "ni/service.description": "text stays text",
        "ni/service.tags": ["bench", "logger"],
        "probe.limit": 2.5,
        "probe.enabled": True,
        "probe.nested": {"b": [1, None], "a": "x"},
    }
    config = tmp_path / "probe.serviceconfig"
    config.write_text(json.dumps(shipped), encoding="utf-8")
    server = start_server("--service-config", str(config), discovery=True)

    found = [
        info
        for info in DiscoveryClient().enumerate_services(service["providedInterfaces"][0])
        if info.service_class == service["serviceClass"]
    ]

    assert len(found) == 1
    assert dict(found[0].annotations) == {
        "ni/service.description": "text stays text",
        "ni/service.tags": '["bench","logger"]',
        "probe.limit": "2.5",
        "probe.enabled": "true",
        "probe.nested": '{"b":[1,null],"a":"x"}',
        "ni/service.programminglanguage": "Python",
        # Ours: which process serves, for a second instance's message (discovery.py).
        "session-service/process_id": str(server.process.pid),
    }


def test_client_follows_a_restarted_server_to_its_new_port(
    runtime: ServerProcess, start_server: Any, new_resource: Any, tmp_path: Path
) -> None:
    # A class of its own: the module's registered server holds the shipped one, and a
    # second live instance of a class is refused (one service per station).
    shipped = json.loads(
        (PROJECT / "server" / "JsonLogger.serviceconfig").read_text(encoding="utf-8")
    )
    shipped["services"][0]["serviceClass"] += "RestartProbe"
    config = tmp_path / "restart.serviceconfig"
    config.write_text(json.dumps(shipped), encoding="utf-8")
    identity = SERVICE._replace(service_class=shipped["services"][0]["serviceClass"])
    connection = ServiceConnection(identity)  # resolved once, then cached
    first = start_server("--service-config", str(config), discovery=True)
    with JsonLoggerClient(new_resource(), connection=connection) as session:
        assert session.new_session
    assert connection.address == first.address
    first.stop()
    second = start_server("--service-config", str(config), discovery=True)
    with JsonLoggerClient(new_resource(), connection=connection) as session:
        assert session.new_session  # the stale address failed, and the retry found the new one
    assert connection.address == second.address != first.address
