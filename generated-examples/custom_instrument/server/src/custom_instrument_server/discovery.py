"""Registration with NI Discovery Service, described by the project's .serviceconfig.

Template-owned. Clients find the server by the provided interface and service
class registered here, so they need no fixed port.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ni.measurementlink.discovery.v1.client import DiscoveryClient, ServiceInfo, ServiceLocation

_logger = logging.getLogger(__name__)
# Seconds a stop waits for NI Discovery Service to answer the unregistration: one that
# accepts the connection and never answers must not hang the stop (Windows gives a
# closed console 5 s in all).
UNREGISTER_TIMEOUT = 1.5


class ServiceConfigError(Exception):
    """The .serviceconfig file is missing or does not describe a service."""


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

    Withdrawing the registration waits at most UNREGISTER_TIMEOUT for an answer.
    """
    client = client or DiscoveryClient()
    registration_id = client.register_service(
        service_info, ServiceLocation("localhost", str(port), "")
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
