"""Point NI's SDK at the local runtime when NI_LOCAL_RUNTIME is set; otherwise do nothing.

Template-owned. On a test station NI Discovery Service tells every process where
NI's services are. Without NI software (Linux, CI), set NI_LOCAL_RUNTIME to the
address `python -m local_ni_runtime` prints, and every process that imports this
package (the server, plug-ins, TestStand helpers, and the SDK clients inside
them) asks the runtime instead. The SDK has no setting for the discovery
address, so this replaces the one function every DiscoveryClient calls to find it.
"""

from __future__ import annotations

import os
import sys

ENVIRONMENT_VARIABLE = "NI_LOCAL_RUNTIME"


def apply() -> str | None:
    """Redirect NI Discovery Service look-ups if NI_LOCAL_RUNTIME is set; return the address.

    The first time in a process it prints one line to stderr naming the address:
    a variable left set on a test station must not redirect anything silently.
    """
    address = configured_address()
    if address is None:
        return None
    from ni.measurementlink.discovery.v1.client import _client

    def local_runtime_address() -> str:
        return address

    # Private to the SDK (hence the noqa): it has no public setting for the address.
    current = _client._get_discovery_service_address  # type: ignore[attr-defined]  # noqa: SLF001
    if getattr(current, "__name__", "") != "local_runtime_address":
        print(
            f"{ENVIRONMENT_VARIABLE}={address}: NI Discovery Service calls go to the local "
            "runtime at that address, not to NI's services.",
            file=sys.stderr,
            flush=True,
        )
    _client._get_discovery_service_address = local_runtime_address  # type: ignore[attr-defined]  # noqa: SLF001
    return address


def configured_address() -> str | None:
    """The local runtime's address from NI_LOCAL_RUNTIME, or None when it is not set."""
    return os.environ.get(ENVIRONMENT_VARIABLE, "").strip() or None


def hint() -> str:
    """What to add to a message about NI Discovery Service not answering ("" when unset)."""
    address = configured_address()
    if address is None:
        return ""
    return (
        f" Note: {ENVIRONMENT_VARIABLE} is set to {address!r}, so this went to the local "
        f"runtime there, not to NI's services. Start it (python -m local_ni_runtime), or "
        f"unset the variable to use NI's services: cmd `set {ENVIRONMENT_VARIABLE}=`, "
        f"PowerShell `Remove-Item Env:{ENVIRONMENT_VARIABLE}`, POSIX `unset "
        f"{ENVIRONMENT_VARIABLE}`; if it was set for all processes, remove it under "
        "System Properties > Environment Variables."
    )
