"""What connection errors say about NI_LOCAL_RUNTIME; this package never redirects anything.

The local runtime package (`local_ni_runtime`, development and CI
only) redirects NI's SDK to itself in every process of the Python environment it
is installed in when NI_LOCAL_RUNTIME is set. A test station does not install it,
so there the variable changes nothing; a message about NI Discovery Service not
answering still names it, since it tells what happened.
"""

from __future__ import annotations

import os

ENVIRONMENT_VARIABLE = "NI_LOCAL_RUNTIME"


def configured_address() -> str | None:
    """The local runtime's address from NI_LOCAL_RUNTIME, or None when it is not set."""
    return os.environ.get(ENVIRONMENT_VARIABLE, "").strip() or None


def _redirected() -> bool:
    """Whether NI's discovery client in this process asks another address than NI's own."""
    from ni.measurementlink.discovery.v1.client import _client, _support

    name = "_get_discovery_service_address"
    return getattr(_client, name, None) is not getattr(_support, name, None)


def hint() -> str:
    """What to add to a message about NI Discovery Service not answering ("" when unset)."""
    address = configured_address()
    if address is None:
        return ""
    if not _redirected():
        return (
            f" Note: {ENVIRONMENT_VARIABLE} is set to {address!r}, but nothing in this process "
            "redirects NI's SDK to a local runtime (local_ni_runtime does, in the Python "
            "environments it is installed in), so this went to NI's services."
        )
    return (
        f" Note: {ENVIRONMENT_VARIABLE} is set to {address!r}, so this went to the local "
        f"runtime there, not to NI's services. Start it (python -m local_ni_runtime), or "
        f"unset the variable to use NI's services: cmd `set {ENVIRONMENT_VARIABLE}=`, "
        f"PowerShell `Remove-Item Env:{ENVIRONMENT_VARIABLE}`, POSIX `unset "
        f"{ENVIRONMENT_VARIABLE}`; if it was set for all processes, remove it under "
        "System Properties > Environment Variables."
    )
