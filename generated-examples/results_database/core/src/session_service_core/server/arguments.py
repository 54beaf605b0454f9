"""Request fields of protobuf's well-known types, as the resource methods take them.

The servicer passes a
Timestamp as an aware UTC datetime and a Duration as a timedelta; a value that
Python cannot represent is refused with INVALID_ARGUMENT naming the field.
"""

from __future__ import annotations

import datetime

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from .errors import InvalidArgumentError


def moment(field: str, value: Timestamp) -> datetime.datetime:
    """Return the Timestamp `value` of the request field `field` as an aware UTC datetime."""
    try:
        return value.ToDatetime(tzinfo=datetime.timezone.utc)
    except (OverflowError, ValueError):
        raise InvalidArgumentError(
            f"{field}.seconds {value.seconds} is outside years 1 to 9999 (the Timestamp range); "
            "accepted: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z, or leave it unset."
        ) from None


def span(field: str, value: Duration) -> datetime.timedelta:
    """Return the Duration `value` of the request field `field` as a timedelta."""
    try:
        return value.ToTimedelta()
    except (OverflowError, ValueError):
        raise InvalidArgumentError(
            f"{field}.seconds {value.seconds} is outside the Duration range; "
            "accepted: -315576000000 to 315576000000 seconds (10,000 years)."
        ) from None
