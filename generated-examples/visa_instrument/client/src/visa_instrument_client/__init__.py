"""Client of the VisaInstrument service, with its proto and generated stubs."""

from session_service_core.client.connection import (
    ServiceConnection,
    ServiceNotFoundError,
    ServiceUnavailableError,
)

from .session import SERVICE, VisaInstrumentClient
from .session_constructor import VISA_INSTRUMENT_INSTRUMENT_TYPE, VisaInstrumentSessionConstructor

__all__ = [
    "VISA_INSTRUMENT_INSTRUMENT_TYPE",
    "SERVICE",
    "ServiceConnection",
    "ServiceNotFoundError",
    "ServiceUnavailableError",
    "VisaInstrumentClient",
    "VisaInstrumentSessionConstructor",
]
