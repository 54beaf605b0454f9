"""Client of the CustomInstrument service, with its proto and generated stubs."""

from session_service_core.client.connection import (
    ServiceConnection,
    ServiceNotFoundError,
    ServiceUnavailableError,
)

from .session import SERVICE, CustomInstrumentClient
from .session_constructor import (
    CUSTOM_INSTRUMENT_INSTRUMENT_TYPE,
    CustomInstrumentSessionConstructor,
)

__all__ = [
    "CUSTOM_INSTRUMENT_INSTRUMENT_TYPE",
    "SERVICE",
    "ServiceConnection",
    "ServiceNotFoundError",
    "ServiceUnavailableError",
    "CustomInstrumentClient",
    "CustomInstrumentSessionConstructor",
]
