"""The session constructor measurement plug-ins pass to `reservation.initialize_session`.

Template-owned: `copier update` rewrites this file.
"""

from __future__ import annotations

from ni.measurementlink.discovery.v1.client import DiscoveryClient
from ni.measurementlink.sessionmanagement.v1.client import (
    SessionInformation,
    SessionInitializationBehavior,
)
from ni_grpc_extensions.channelpool import GrpcChannelPool

from session_service_core.client.connection import ServiceConnection

from .session import CustomInstrumentClient

CUSTOM_INSTRUMENT_INSTRUMENT_TYPE = "CustomInstrumentService"
"""The pin map instrument type id of CustomInstrument resources."""


class CustomInstrumentSessionConstructor:
    """Builds a CustomInstrumentClient from the SDK's session information.

    Pass the measurement service's own discovery client and channel pool, as
    with NI's driver session constructors:

        with context.reserve_session(pin) as reservation:
            constructor = CustomInstrumentSessionConstructor(
                discovery_client=service.discovery_client,
                grpc_channel_pool=service.channel_pool,
            )
            with reservation.initialize_session(
                constructor, CUSTOM_INSTRUMENT_INSTRUMENT_TYPE
            ) as session_info:
                client = session_info.session
    """

    def __init__(
        self,
        initialization_behavior: SessionInitializationBehavior = SessionInitializationBehavior.AUTO,
        *,
        protocol: str = "",
        register_map_path: str = "",
        discovery_client: DiscoveryClient | None = None,
        grpc_channel_pool: GrpcChannelPool | None = None,
        address: str | None = None,
        connection: ServiceConnection | None = None,
    ) -> None:
        """Configure every session this constructor builds; see CustomInstrumentClient."""
        self.initialization_behavior = initialization_behavior
        self.protocol = protocol
        self.register_map_path = register_map_path
        self._discovery_client = discovery_client
        self._grpc_channel_pool = grpc_channel_pool
        self._address = address
        self._connection = connection

    def __call__(self, session_info: SessionInformation) -> CustomInstrumentClient:
        """Open or attach to the session for the reserved resource."""
        return CustomInstrumentClient(
            session_info.resource_name,
            self.initialization_behavior,
            protocol=self.protocol,
            register_map_path=self.register_map_path,
            discovery_client=self._discovery_client,
            grpc_channel_pool=self._grpc_channel_pool,
            address=self._address,
            connection=self._connection,
        )
