"""What the server asks of the CustomInstrument resource: one method per RPC.

Template-owned, rendered from the RPC answers: `copier update` rewrites it. Your
class in resource.py subclasses CustomInstrumentResourceBase and overrides
the methods it implements; a method it does not override answers UNIMPLEMENTED,
so an RPC added by `copier update` works (saying so) until you write it, and a
method whose RPC was removed is simply no longer called.

The server calls `resource_key` and `open` on Initialize, a method per
custom RPC while holding the session (calls on one session never overlap), and
`close` once, when the session closes. Request fields arrive as keyword
arguments (an unset Timestamp or Duration as None); a method returns None, its
response's one field, or a tuple of its fields in the order the proto declares
them. Raise the errors in session_service_core.server.errors to answer with a
specific status code.
"""

from __future__ import annotations

from typing import TypeVar

from session_service_core.server.errors import UnimplementedError

ResourceT = TypeVar("ResourceT", bound="CustomInstrumentResourceBase")


class CustomInstrumentResourceBase:
    """The resource of one session: defaults for everything, each RPC answering UNIMPLEMENTED."""

    # The session's name as clients and the `sessions` command show it: set once
    # `open` returns (empty inside `open`), so a resource can tag what it writes.
    session_name = ""

    def __init__(self, name: str) -> None:
        self.name = name

    @staticmethod
    def resource_key(resource_name: str) -> str:
        """Return the key that identifies the resource: one session per key.

        The default trims surrounding whitespace. Override it to normalize
        further (case, aliases) so two spellings of one resource share a
        session, and raise InvalidArgumentError for names you refuse.
        """
        return resource_name.strip()

    @classmethod
    def open(
        cls: type[ResourceT],
        resource_key: str,
        resource_name: str,
        *,
        protocol: str,
        register_map_path: str,
    ) -> ResourceT:
        """Acquire the resource for a new session; called once per session.

        `resource_name` is the name as the client sent it, before `resource_key`
        normalized it. The keyword arguments are the other fields of the
        Initialize request. The default opens nothing.
        """
        return cls(resource_key)

    def close(self) -> None:
        """Release the resource; called once, when its session closes."""

    def write_register(self, *, register_name: str, value: int) -> None:
        """Answer WriteRegister: override this in resource.py."""
        raise UnimplementedError(
            "WriteRegister is not implemented yet: write "
            f"{type(self).__name__}.write_register in "
            "server/src/custom_instrument_server/resource.py "
            "(copy its signature from resource_base.py)."
        )

    def read_register(self, *, register_name: str) -> int:
        """Answer ReadRegister: override this in resource.py."""
        raise UnimplementedError(
            "ReadRegister is not implemented yet: write "
            f"{type(self).__name__}.read_register in "
            "server/src/custom_instrument_server/resource.py "
            "(copy its signature from resource_base.py)."
        )

    def write_gpio_channel(self, *, port: int, channel: int, state: bool) -> None:
        """Answer WriteGpioChannel: override this in resource.py."""
        raise UnimplementedError(
            "WriteGpioChannel is not implemented yet: write "
            f"{type(self).__name__}.write_gpio_channel in "
            "server/src/custom_instrument_server/resource.py "
            "(copy its signature from resource_base.py)."
        )

    def read_gpio_channel(self, *, port: int, channel: int) -> bool:
        """Answer ReadGpioChannel: override this in resource.py."""
        raise UnimplementedError(
            "ReadGpioChannel is not implemented yet: write "
            f"{type(self).__name__}.read_gpio_channel in "
            "server/src/custom_instrument_server/resource.py "
            "(copy its signature from resource_base.py)."
        )

    def write_gpio_port(self, *, port: int, value: int, mask: int) -> None:
        """Answer WriteGpioPort: override this in resource.py."""
        raise UnimplementedError(
            "WriteGpioPort is not implemented yet: write "
            f"{type(self).__name__}.write_gpio_port in "
            "server/src/custom_instrument_server/resource.py "
            "(copy its signature from resource_base.py)."
        )

    def read_gpio_port(self, *, port: int) -> int:
        """Answer ReadGpioPort: override this in resource.py."""
        raise UnimplementedError(
            "ReadGpioPort is not implemented yet: write "
            f"{type(self).__name__}.read_gpio_port in "
            "server/src/custom_instrument_server/resource.py "
            "(copy its signature from resource_base.py)."
        )
