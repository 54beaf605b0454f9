"""What the server asks of the VisaInstrument resource: one method per RPC.

Template-owned, rendered from the RPC answers: `copier update` rewrites it. Your
class in resource.py subclasses VisaInstrumentResourceBase and overrides
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

from collections.abc import Sequence
from typing import TypeVar

from session_service_core.server.errors import UnimplementedError

ResourceT = TypeVar("ResourceT", bound="VisaInstrumentResourceBase")


class VisaInstrumentResourceBase:
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
        backend: str,
        timeout_milliseconds: int,
        read_termination: str,
        write_termination: str,
    ) -> ResourceT:
        """Acquire the resource for a new session; called once per session.

        `resource_name` is the name as the client sent it, before `resource_key`
        normalized it. The keyword arguments are the other fields of the
        Initialize request. The default opens nothing.
        """
        return cls(resource_key)

    def close(self) -> None:
        """Release the resource; called once, when its session closes."""

    def write(self, *, command: str) -> None:
        """Answer Write: override this in resource.py."""
        raise UnimplementedError(
            "Write is not implemented yet: write "
            f"{type(self).__name__}.write in "
            "server/src/visa_instrument_server/resource.py "
            "(copy its signature from resource_base.py)."
        )

    def query(self, *, command: str) -> str:
        """Answer Query: override this in resource.py."""
        raise UnimplementedError(
            "Query is not implemented yet: write "
            f"{type(self).__name__}.query in "
            "server/src/visa_instrument_server/resource.py "
            "(copy its signature from resource_base.py)."
        )

    def read(self) -> str:
        """Answer Read: override this in resource.py."""
        raise UnimplementedError(
            "Read is not implemented yet: write "
            f"{type(self).__name__}.read in "
            "server/src/visa_instrument_server/resource.py "
            "(copy its signature from resource_base.py)."
        )

    def read_binary_values(
        self, *, command: str, datatype: str, big_endian: bool
    ) -> Sequence[float]:
        """Answer ReadBinaryValues: override this in resource.py."""
        raise UnimplementedError(
            "ReadBinaryValues is not implemented yet: write "
            f"{type(self).__name__}.read_binary_values in "
            "server/src/visa_instrument_server/resource.py "
            "(copy its signature from resource_base.py)."
        )

    def clear(self) -> None:
        """Answer Clear: override this in resource.py."""
        raise UnimplementedError(
            "Clear is not implemented yet: write "
            f"{type(self).__name__}.clear in "
            "server/src/visa_instrument_server/resource.py "
            "(copy its signature from resource_base.py)."
        )

    def reset(self) -> None:
        """Answer Reset: override this in resource.py."""
        raise UnimplementedError(
            "Reset is not implemented yet: write "
            f"{type(self).__name__}.reset in "
            "server/src/visa_instrument_server/resource.py "
            "(copy its signature from resource_base.py)."
        )

    def identify(self) -> tuple[str, str, str, str]:
        """Answer Identify: override this in resource.py."""
        raise UnimplementedError(
            "Identify is not implemented yet: write "
            f"{type(self).__name__}.identify in "
            "server/src/visa_instrument_server/resource.py "
            "(copy its signature from resource_base.py)."
        )
