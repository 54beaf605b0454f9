"""NI's runtime services emulated on localhost, for development and CI without NI software."""

from __future__ import annotations

# The .pth line imports `local_ni_runtime.redirect`, and so this module, at the start
# of processes: it imports neither `typing` nor, until used, gRPC and NI's protos.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .server import LocalRuntime

__all__ = ["LocalRuntime"]


def __getattr__(name: str) -> Any:
    if name == "LocalRuntime":
        from .server import LocalRuntime

        return LocalRuntime
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
