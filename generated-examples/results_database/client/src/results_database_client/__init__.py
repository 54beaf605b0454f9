"""Client of the ResultsDatabase service, with its proto and generated stubs."""

from session_service_core.client.connection import (
    ServiceConnection,
    ServiceNotFoundError,
    ServiceUnavailableError,
)

from .session import SERVICE, ResultsDatabaseClient
from .session_constructor import RESULTS_DATABASE_INSTRUMENT_TYPE, ResultsDatabaseSessionConstructor

__all__ = [
    "RESULTS_DATABASE_INSTRUMENT_TYPE",
    "SERVICE",
    "ServiceConnection",
    "ServiceNotFoundError",
    "ServiceUnavailableError",
    "ResultsDatabaseClient",
    "ResultsDatabaseSessionConstructor",
]
