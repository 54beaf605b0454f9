"""Point NI's SDK at the local runtime when NI_LOCAL_RUNTIME is set; otherwise do nothing.

Template-owned. On a test station NI Discovery Service tells every process where
NI's services are. Without NI software (Linux, CI), set NI_LOCAL_RUNTIME to the
address `python -m local_ni_runtime` prints, and every process that imports this
package (the server, plug-ins, TestStand helpers, and the SDK clients inside
them) asks the runtime instead. The SDK has no setting for the discovery
address, so this replaces the one function every DiscoveryClient calls to find it.
"""

from __future__ import annotations

import logging
import os

ENVIRONMENT_VARIABLE = "NI_LOCAL_RUNTIME"
_logger = logging.getLogger(__name__)


def apply() -> str | None:
    """Redirect NI Discovery Service look-ups if NI_LOCAL_RUNTIME is set; return the address."""
    address = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if not address:
        return None
    from ni.measurementlink.discovery.v1.client import _client

    def local_runtime_address() -> str:
        return address

    current = _client._get_discovery_service_address  # type: ignore[attr-defined]
    if getattr(current, "__name__", "") != "local_runtime_address":
        _logger.warning(
            "%s=%s: NI Discovery Service calls go to the local runtime, not NI's services.",
            ENVIRONMENT_VARIABLE,
            address,
        )
    _client._get_discovery_service_address = local_runtime_address  # type: ignore[attr-defined]
    return address
