"""Client of the CustomInstrument service, with its proto and generated stubs."""

from . import local_runtime
from .connection import ServiceConnection, ServiceNotFoundError, ServiceUnavailableError
from .session import SERVICE, CustomInstrumentClient
from .session_constructor import (
    CUSTOM_INSTRUMENT_INSTRUMENT_TYPE,
    CustomInstrumentSessionConstructor,
)

local_runtime.apply()  # no-op unless NI_LOCAL_RUNTIME is set

__all__ = [
    "CUSTOM_INSTRUMENT_INSTRUMENT_TYPE",
    "SERVICE",
    "ServiceConnection",
    "ServiceNotFoundError",
    "ServiceUnavailableError",
    "CustomInstrumentClient",
    "CustomInstrumentSessionConstructor",
]
