"""Client of the JsonLogger service, with its proto and generated stubs."""

from session_service_core.client.connection import (
    ServiceConnection,
    ServiceNotFoundError,
    ServiceUnavailableError,
)

from .session import SERVICE, JsonLoggerClient
from .session_constructor import JSON_LOGGER_INSTRUMENT_TYPE, JsonLoggerSessionConstructor

__all__ = [
    "JSON_LOGGER_INSTRUMENT_TYPE",
    "SERVICE",
    "ServiceConnection",
    "ServiceNotFoundError",
    "ServiceUnavailableError",
    "JsonLoggerClient",
    "JsonLoggerSessionConstructor",
]
