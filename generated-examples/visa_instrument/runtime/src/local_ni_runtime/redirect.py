"""NI_LOCAL_RUNTIME: NI's SDK in this process asks the local runtime for NI's services.

NI's SDK has no setting for NI Discovery Service's address: every DiscoveryClient
calls the private `_get_discovery_service_address` of NI's discovery client, and
the redirect replaces that function with one returning the runtime's address.

Installing this package puts `local_ni_runtime_redirect.pth` into site-packages.
Python runs its one line at every start of that environment; when NI_LOCAL_RUNTIME
is set it calls `on_start()`, which redirects NI's discovery client as soon as the
process imports it, so every process of the environment (server, plug-ins,
TestStand helpers, the SDK's own clients) uses the runtime. An environment without
this package, such as a test station's, is never redirected. A process that sets
NI_LOCAL_RUNTIME after it started calls `apply()`.
"""

from __future__ import annotations

import importlib
import os
import sys

# The .pth line imports this module at the start of every process that has
# NI_LOCAL_RUNTIME set: `typing` and `importlib.abc` would add milliseconds to each.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Any

ENVIRONMENT_VARIABLE = "NI_LOCAL_RUNTIME"
DISCOVERY_CLIENT = "ni.measurementlink.discovery.v1.client"
_MODULE = f"{DISCOVERY_CLIENT}._client"
_FUNCTION = "_get_discovery_service_address"
_RUNTIME_DISTRIBUTION = "local-ni-runtime"


def configured_address() -> str | None:
    """The local runtime's address from NI_LOCAL_RUNTIME, or None when it is not set."""
    return os.environ.get(ENVIRONMENT_VARIABLE, "").strip() or None


def apply() -> str | None:
    """Redirect NI's discovery client now if NI_LOCAL_RUNTIME is set; return the address.

    Raises:
        ImportError: NI's discovery client has no function to replace (a version
            outside the range this package supports).
    """
    address = configured_address()
    if address is not None:
        _redirect(importlib.import_module(_MODULE), address)
    return address


def on_start() -> None:
    """At interpreter start: redirect NI's discovery client when it is imported, if set."""
    address = configured_address()
    # In a virtual environment Python runs a .pth line twice.
    installed = any(isinstance(finder, _RedirectOnImport) for finder in sys.meta_path)
    if address is not None and not installed:
        sys.meta_path.insert(0, _RedirectOnImport(address))


class _LocalRuntimeAddress:
    """Stands in for NI's `_get_discovery_service_address`."""

    def __init__(self, address: str) -> None:
        self.address = address

    def __call__(self) -> str:
        return self.address


def _redirect(module: ModuleType, address: str) -> None:
    current = getattr(module, _FUNCTION, None)
    if not callable(current):
        raise ImportError(_unsupported(address))
    if isinstance(current, _LocalRuntimeAddress) and current.address == address:
        return
    setattr(module, _FUNCTION, _LocalRuntimeAddress(address))
    # Never silent: a variable left set must not redirect a process unnoticed.
    print(
        f"{ENVIRONMENT_VARIABLE}={address}: NI Discovery Service calls go to the local "
        "runtime at that address, not to NI's services.",
        file=sys.stderr,
        flush=True,
    )


def _unsupported(address: str) -> str:
    from importlib import metadata

    try:
        installed = f" {metadata.version(DISCOVERY_CLIENT)}"
    except metadata.PackageNotFoundError:
        installed = ""
    return (
        f"{ENVIRONMENT_VARIABLE} is set to {address!r}, but {DISCOVERY_CLIENT}{installed} "
        f"has no {_FUNCTION}, the function the local runtime's redirect replaces. "
        f"The redirect supports {_supported_versions()}: install a version in that range, "
        f"or unset {ENVIRONMENT_VARIABLE} to use NI's services."
    )


def _supported_versions() -> str:
    """The requirement on NI's discovery client that this package declares."""
    import re
    from importlib import metadata

    def normalized(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    try:
        requirements = metadata.requires(_RUNTIME_DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        requirements = []
    for requirement in requirements:
        specification = requirement.split(";", 1)[0].replace(" ", "")
        name = re.split(r"[<>=!~\[(]", specification, maxsplit=1)[0]
        if normalized(name) == normalized(DISCOVERY_CLIENT):
            return DISCOVERY_CLIENT + specification[len(name) :]
    return f"the {DISCOVERY_CLIENT} versions runtime/pyproject.toml names"


class _RedirectOnImport:
    """A meta path finder: NI's discovery client module, redirected once it has run."""

    def __init__(self, address: str) -> None:
        self._address = address

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        """Find NI's module as the other finders do, with a loader that redirects it."""
        if fullname != _MODULE:
            return None
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None)
            if find_spec is None or isinstance(finder, _RedirectOnImport):
                continue
            spec: ModuleSpec | None = find_spec(fullname, path, target)
            if spec is None:
                continue
            if spec.loader is not None:
                loader: Any = _LoadThenRedirect(spec.loader, self._address)
                spec.loader = loader
            return spec
        return None


class _LoadThenRedirect:
    """The loader of NI's discovery client module, redirecting it after it has run."""

    def __init__(self, loader: Any, address: str) -> None:
        self._loader = loader
        self._address = address

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        """Create the module as NI's loader does."""
        created: ModuleType | None = self._loader.create_module(spec)
        return created

    def exec_module(self, module: ModuleType) -> None:
        """Run NI's module, then redirect it."""
        self._loader.exec_module(module)
        _redirect(module, self._address)

    def __getattr__(self, name: str) -> Any:
        # get_source, get_resource_reader, is_package, ...: NI's loader answers.
        return getattr(self._loader, name)
