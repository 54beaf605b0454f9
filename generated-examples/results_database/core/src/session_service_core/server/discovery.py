"""Registration with NI Discovery Service, described by the project's .serviceconfig.

Clients find the server by the provided interface and service
class registered here, so they need no fixed port. One live instance serves a
service class on a station: a second one is refused before it registers. A stop
never waits long on NI Discovery Service: the unregistration has a deadline.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
from ni.measurementlink.discovery.v1 import discovery_service_pb2 as discovery_pb2
from ni.measurementlink.discovery.v1.client import DiscoveryClient, ServiceInfo, ServiceLocation

_logger = logging.getLogger(__name__)
# Seconds a stop waits for NI Discovery Service to answer the unregistration: one that
# accepts the connection and never answers must not hang the stop (Windows gives a
# closed console 5 s in all).
UNREGISTER_TIMEOUT = 1.5


# The registration names the process that serves (an annotation of this template's
# own), so a second instance can say which one runs and skip one left by a killed one.
PROCESS_ID_ANNOTATION = "session-service/process_id"
ACTIVE_LOOKUP_TIMEOUT = 5.0  # seconds


class ServiceConfigError(Exception):
    """The .serviceconfig file is missing or does not describe a service."""


class AlreadyRunningError(Exception):
    """Another process already serves this service class on this station."""


def process_alive(pid: int) -> bool:
    """Whether process `pid` exists (and has not exited) on this machine."""
    if pid <= 0:
        return False
    if sys.platform == "win32":
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined,unused-ignore]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        try:
            code = ctypes.c_ulong()
            kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


def running_instance(
    active: list[tuple[dict[str, str], str]], alive: Callable[[int], bool] = process_alive
) -> str | None:
    """Describe a live instance among `active` registrations (annotations, address), or None.

    A registration whose process has ended (killed, so never unregistered) is not one.
    """
    for notes, address in active:
        text = notes.get(PROCESS_ID_ANNOTATION, "")
        if text.isdigit() and not alive(int(text)):
            continue
        return f"{address} (process id {text or 'unknown'})"
    return None


def active_registrations(
    client: DiscoveryClient, service_info: ServiceInfo
) -> list[tuple[dict[str, str], str]]:
    """What NI Discovery Service has registered for this service class (never starts one).

    EnumerateActiveServices, unlike ResolveService, does not start a service from its
    .serviceconfig. The SDK's client has no method for it: its stub is used.
    """
    request = discovery_pb2.EnumerateActiveServicesRequest(
        provided_interface=service_info.provided_interfaces[0],
        service_class=service_info.service_class,
    )
    try:
        stub = client._get_stub()  # noqa: SLF001  (no public method for this call)
        reply = stub.EnumerateActiveServices(request, timeout=ACTIVE_LOOKUP_TIMEOUT)
    except grpc.RpcError as error:
        if error.code() in (grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.NOT_FOUND):
            return []  # an older Discovery Service: it cannot tell
        raise
    return [
        (
            dict(active.service_descriptor.annotations),
            f"{active.service_location.location}:{active.service_location.insecure_port}",
        )
        for active in reply.active_services
        if active.service_descriptor.service_class == service_info.service_class
    ]


def annotation_text(value: object) -> str:
    """Return an annotation value as NI's SDK registers it: text as is, anything else as JSON.

    NI's tools read a list such as ``"ni/service.tags": ["a", "b"]`` back as the JSON
    text ``["a","b"]``.
    """
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def load_service_info(path: Path) -> ServiceInfo:
    """Read the first service of a .serviceconfig file as the SDK's ServiceInfo."""
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
        service = document["services"][0]
        interfaces = service["providedInterfaces"]
        if not isinstance(interfaces, list) or not all(
            isinstance(i, str) and i for i in interfaces
        ):
            raise TypeError("providedInterfaces must be a list of interface names")
        return ServiceInfo(
            service_class=str(service["serviceClass"]),
            description_url=str(service.get("descriptionUrl", "")),
            provided_interfaces=interfaces,
            annotations={
                str(key): annotation_text(value)
                for key, value in service.get("annotations", {}).items()
            },
            display_name=str(service["displayName"]),
            versions=[str(service["version"])] if service.get("version") else [],
        )
    except FileNotFoundError:
        raise ServiceConfigError(f"{path} does not exist; pass --service-config PATH") from None
    except (ValueError, LookupError, TypeError, AttributeError) as error:
        raise ServiceConfigError(
            f"{path} is not a valid .serviceconfig ({type(error).__name__}: {error}); it needs "
            '{"services": [{"displayName", "serviceClass", "providedInterfaces", "version", ...}]}'
        ) from None


@contextmanager
def registered(
    service_info: ServiceInfo, port: int, client: DiscoveryClient | None = None
) -> Iterator[None]:
    """Keep the service registered with NI Discovery Service while the block runs.

    Raises AlreadyRunningError, registering nothing, when a live process already
    serves the service class. Withdrawing the registration waits at most
    UNREGISTER_TIMEOUT for an answer.
    """
    client = client or DiscoveryClient()
    running = running_instance(active_registrations(client, service_info))
    if running is not None:
        raise AlreadyRunningError(
            f"{service_info.service_class} already runs on this station, at {running}, "
            "registered with NI Discovery Service; one instance serves every client. Stop it "
            "first, or pass --no-discovery to serve on your own."
        )
    annotations = {**service_info.annotations, PROCESS_ID_ANNOTATION: str(os.getpid())}
    registration_id = client.register_service(
        service_info._replace(annotations=annotations),
        ServiceLocation("localhost", str(port), ""),
    )
    _logger.info("Registered %s with NI Discovery Service.", service_info.service_class)
    try:
        yield
    finally:
        try:
            if within(lambda: client.unregister_service(registration_id), UNREGISTER_TIMEOUT):
                _logger.info(
                    "Unregistered %s from NI Discovery Service.", service_info.service_class
                )
            else:
                _logger.warning(
                    "NI Discovery Service did not answer the unregistration within %.1f s; "
                    "stopping without it (it drops the registration once the service is gone).",
                    UNREGISTER_TIMEOUT,
                )
        except Exception:
            _logger.exception("Could not unregister from NI Discovery Service.")


def within(call: Callable[[], object], timeout: float) -> bool:
    """Run `call` on a daemon thread; return whether it finished within `timeout` seconds.

    Re-raises what `call` raised. A call still waiting is left to the daemon thread,
    which ends with the process.
    """
    finished = threading.Event()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as error:  # noqa: BLE001  (handed to the caller)
            failures.append(error)
        finally:
            finished.set()

    threading.Thread(target=run, name="discovery-unregister", daemon=True).start()
    if not finished.wait(timeout):
        return False
    if failures:
        raise failures[0]
    return True
