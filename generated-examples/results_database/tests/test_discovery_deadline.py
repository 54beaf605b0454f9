"""A stop never hangs on NI Discovery Service: unregistering has a deadline (issue 24)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest
from ni.measurementlink.discovery.v1 import discovery_service_pb2 as discovery_pb2
from ni.measurementlink.discovery.v1 import discovery_service_pb2_grpc as discovery_grpc
from ni.measurementlink.discovery.v1.client import DiscoveryClient, ServiceInfo

from local_ni_runtime.discovery import DiscoveryServicer
from results_database_server import discovery

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
