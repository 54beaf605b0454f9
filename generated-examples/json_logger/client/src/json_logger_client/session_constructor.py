"""The session constructor measurement plug-ins pass to `reservation.initialize_session`.

Template-owned: `copier update` rewrites this file.
"""

from __future__ import annotations

from ni.measurementlink.sessionmanagement.v1.client import (
    SessionInformation,
    SessionInitializationBehavior,
)

from .connection import ServiceConnection
from .session import JsonLoggerClient

JSON_LOGGER_INSTRUMENT_TYPE = "JsonLoggerService"
"""The pin map instrument type id of JsonLogger resources."""


class JsonLoggerSessionConstructor:
    """Builds a JsonLoggerClient from the SDK's session information.

    Example:
        with context.reserve_session(pin) as reservation:
            with reservation.initialize_session(
                JsonLoggerSessionConstructor(), JSON_LOGGER_INSTRUMENT_TYPE
            ) as session_info:
                client = session_info.session
    """

    def __init__(
        self,
        initialization_behavior: SessionInitializationBehavior = SessionInitializationBehavior.AUTO,
        *,
        address: str | None = None,
        connection: ServiceConnection | None = None,
    ) -> None:
        """Configure every session this constructor builds; see JsonLoggerClient."""
        self.initialization_behavior = initialization_behavior
        self._address = address
        self._connection = connection

    def __call__(self, session_info: SessionInformation) -> JsonLoggerClient:
        """Open or attach to the session for the reserved resource."""
        return JsonLoggerClient(
            session_info.resource_name,
            self.initialization_behavior,
            address=self._address,
            connection=self._connection,
        )
