"""Pytest plugin: NI's `discovery_service_process` fixture, answered by the local runtime.

NI's suite (ni/measurement-plugin-python, packages/service/tests) starts NI's real
Discovery Service in that one session fixture and skips off Windows. This plugin
provides that fixture and nothing else: it checks that the local runtime at
NI_LOCAL_RUNTIME answers NI Discovery Service's EnumerateServices, and NI's own
clients then reach the runtime through its redirect (the `.pth` line the runtime
package installs). NI's test files run unmodified.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import pytest

FIXTURE = "discovery_service_process"
# An empty EnumerateServicesRequest: every registered service.
ENUMERATE_SERVICES = "/ni.measurementlink.discovery.v1.DiscoveryService/EnumerateServices"


class LocalRuntime:
    """What the fixture yields in place of NI's DiscoveryServiceProcess: the runtime's address."""

    def __init__(self, address: str) -> None:
        """Remember where the runtime listens."""
        self.address = address


def answering_runtime() -> LocalRuntime:
    """Return the runtime at NI_LOCAL_RUNTIME once it answers; fail the session if it does not."""
    address = os.environ.get("NI_LOCAL_RUNTIME", "")
    if not address:
        pytest.fail("NI_LOCAL_RUNTIME is not set: start `python -m local_ni_runtime` and set it.")
    # Imported by name: the template repository's own environment has no gRPC type stubs.
    grpc = importlib.import_module("grpc")
    with grpc.insecure_channel(address) as channel:
        enumerate_services = channel.unary_unary(ENUMERATE_SERVICES)
        try:
            enumerate_services(b"", timeout=30, wait_for_ready=True)
        except grpc.RpcError as error:
            pytest.fail(f"No local runtime answers at NI_LOCAL_RUNTIME={address}: {error}")
    return LocalRuntime(address)


@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(fixturedef: Any, request: pytest.FixtureRequest) -> object | None:
    """Answer NI's `discovery_service_process`; leave every other fixture to pytest."""
    if fixturedef.argname != FIXTURE:
        return None
    runtime = answering_runtime()
    fixturedef.cached_result = (runtime, fixturedef.cache_key(request), None)
    return runtime
