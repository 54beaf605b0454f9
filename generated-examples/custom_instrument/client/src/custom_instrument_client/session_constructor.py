"""The session constructor measurement plug-ins pass to `reservation.initialize_session`.

Template-owned: `copier update` rewrites this file.
"""

from __future__ import annotations

from ni.measurementlink.sessionmanagement.v1.client import (
    SessionInformation,
    SessionInitializationBehavior,
)

from .connection import ServiceConnection
from .session import CustomInstrumentClient

CUSTOM_INSTRUMENT_INSTRUMENT_TYPE = "CustomInstrumentService"
"""The pin map instrument type id of CustomInstrument resources."""


class CustomInstrumentSessionConstructor:
    """Builds a CustomInstrumentClient from the SDK's session information.

    Example:
        with context.reserve_session(pin) as reservation:
            with reservation.initialize_session(
                CustomInstrumentSessionConstructor(), CUSTOM_INSTRUMENT_INSTRUMENT_TYPE
            ) as session_info:
                client = session_info.session
    """

    def __init__(
        self,
        initialization_behavior: SessionInitializationBehavior = SessionInitializationBehavior.AUTO,
        *,
        protocol: str = "",
        register_map_path: str = "",
        address: str | None = None,
        connection: ServiceConnection | None = None,
    ) -> None:
        """Configure every session this constructor builds; see CustomInstrumentClient."""
        self.initialization_behavior = initialization_behavior
        self.protocol = protocol
        self.register_map_path = register_map_path
        self._address = address
        self._connection = connection

    def __call__(self, session_info: SessionInformation) -> CustomInstrumentClient:
        """Open or attach to the session for the reserved resource."""
        return CustomInstrumentClient(
            session_info.resource_name,
            self.initialization_behavior,
            protocol=self.protocol,
            register_map_path=self.register_map_path,
            address=self._address,
            connection=self._connection,
        )
