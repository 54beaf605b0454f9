"""NI Discovery Service on a station: a stop never hangs on it, one instance per station."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from ni.measurementlink.discovery.v1 import discovery_service_pb2 as discovery_pb2
from ni.measurementlink.discovery.v1 import discovery_service_pb2_grpc as discovery_grpc
from ni.measurementlink.discovery.v1.client import DiscoveryClient, ServiceInfo, ServiceLocation

from local_ni_runtime.discovery import DiscoveryServicer
from session_service_core.server import discovery

INFO = ServiceInfo(
    service_class="DeadlineProbe",
    description_url="",
    provided_interfaces=["probe.v1.Probe"],
    display_name="Deadline probe",
)


class SilentOnUnregister(DiscoveryServicer):
    """The runtime's Discovery Service, except that it never answers an unregistration."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = threading.Event()
        self.release = threading.Event()

    def UnregisterService(  # noqa: N802  (the gRPC method's name)
        self, request: discovery_pb2.UnregisterServiceRequest, context: grpc.ServicerContext
    ) -> discovery_pb2.UnregisterServiceResponse:
        self.asked.set()
        self.release.wait()
        return discovery_pb2.UnregisterServiceResponse()


@pytest.fixture
def silent() -> Iterator[tuple[SilentOnUnregister, DiscoveryClient]]:
    """A real Discovery Service on localhost that accepts the call and never answers it."""
    servicer = SilentOnUnregister()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    discovery_grpc.add_DiscoveryServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield servicer, DiscoveryClient(stub=discovery_grpc.DiscoveryServiceStub(channel))
    finally:
        servicer.release.set()
        channel.close()
        server.stop(None).wait()


def test_a_discovery_service_that_never_answers_cannot_hang_the_stop(
    silent: tuple[SilentOnUnregister, DiscoveryClient], caplog: pytest.LogCaptureFixture
) -> None:
    servicer, client = silent
    with caplog.at_level(logging.WARNING), discovery.registered(INFO, 50051, client=client):
        pass  # the server's stop leaves this block: it must come back
    assert servicer.asked.is_set()  # it did ask, and gave up waiting
    assert "did not answer the unregistration" in caplog.text


def test_within_reports_a_finished_call_and_passes_on_its_failure() -> None:
    def refuse() -> None:
        raise ValueError("refused")

    assert discovery.within(lambda: None, 60)
    with pytest.raises(ValueError, match="refused"):
        discovery.within(refuse, 60)


@pytest.fixture
def runtime_discovery() -> Iterator[DiscoveryClient]:
    """The local runtime's Discovery Service on localhost, and a client of it."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    discovery_grpc.add_DiscoveryServiceServicer_to_server(DiscoveryServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield DiscoveryClient(stub=discovery_grpc.DiscoveryServiceStub(channel))
    finally:
        channel.close()
        server.stop(None).wait()


def register_other(client: DiscoveryClient, pid: int, port: str) -> str:
    """Register another instance of the probe class, as its own process would."""
    annotations = {discovery.PROCESS_ID_ANNOTATION: str(pid)}
    info = INFO._replace(annotations=annotations)
    return client.register_service(info, ServiceLocation("localhost", port, ""))


def test_a_second_instance_is_refused_naming_the_running_one(
    runtime_discovery: DiscoveryClient,
) -> None:
    register_other(runtime_discovery, os.getpid(), "50123")  # this process: alive
    with (
        pytest.raises(discovery.AlreadyRunningError) as refused,
        discovery.registered(INFO, 50124, client=runtime_discovery),
    ):
        pytest.fail("registered a second instance")
    message = str(refused.value)
    assert "localhost:50123" in message and f"process id {os.getpid()}" in message
    active = discovery.active_registrations(runtime_discovery, INFO)
    assert [address for _, address in active] == ["localhost:50123"]  # nothing added


def test_a_registration_left_by_a_killed_instance_does_not_block_a_new_one(
    runtime_discovery: DiscoveryClient,
) -> None:
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    register_other(runtime_discovery, int(ended.stdout), "50125")
    with discovery.registered(INFO, 50126, client=runtime_discovery):
        active = discovery.active_registrations(runtime_discovery, INFO)
        ours = [notes for notes, address in active if address == "localhost:50126"]
        assert [notes[discovery.PROCESS_ID_ANNOTATION] for notes in ours] == [str(os.getpid())]


def test_running_instance_reads_the_process_id_windows_gives_too() -> None:
    active = [({discovery.PROCESS_ID_ANNOTATION: "4242"}, "localhost:5000")]
    assert discovery.running_instance(active, alive=lambda pid: pid == 4242) == (
        "localhost:5000 (process id 4242)"
    )
    assert discovery.running_instance(active, alive=lambda pid: False) is None
    # Registered by something that does not say its process: taken as running.
    assert discovery.running_instance([({}, "localhost:5001")]) == (
        "localhost:5001 (process id unknown)"
    )
