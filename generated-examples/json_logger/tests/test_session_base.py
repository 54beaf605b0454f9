"""NI's five initialization behaviours and the close rules (the client's session_base.py)."""

from __future__ import annotations

import pytest
from ni.measurementlink.sessionmanagement.v1.client import SessionInitializationBehavior

from json_logger_client.session_base import closes_on_exit, server_behavior

Behavior = SessionInitializationBehavior

# DESIGN's table: the SDK's behaviour, the server's wire value, and whether leaving
# the `with` block closes a session this client created, and one it attached to.
TABLE = [
    (Behavior.AUTO, 0, True, False),
    (Behavior.INITIALIZE_SERVER_SESSION, 1, True, True),
    (Behavior.ATTACH_TO_SERVER_SESSION, 2, False, False),
    (Behavior.INITIALIZE_SESSION_THEN_DETACH, 1, False, False),
    (Behavior.ATTACH_TO_SESSION_THEN_CLOSE, 2, True, True),
]


@pytest.mark.parametrize(("behavior", "wire", "closes_new", "closes_attached"), TABLE)
def test_each_behaviour_maps_to_the_wire_and_closes_by_nis_rules(
    behavior: SessionInitializationBehavior, wire: int, closes_new: bool, closes_attached: bool
) -> None:
    assert server_behavior(behavior) == wire
    assert closes_on_exit(behavior, new_session=True) is closes_new
    assert closes_on_exit(behavior, new_session=False) is closes_attached


def test_every_sdk_behaviour_is_in_the_table() -> None:
    assert {row[0] for row in TABLE} == set(SessionInitializationBehavior)


@pytest.mark.parametrize("value", [5, -1, 99])
def test_an_unknown_behaviour_is_refused_naming_the_accepted_ones(value: int) -> None:
    with pytest.raises(
        ValueError, match=f"initialization_behavior {value} is not one of: "
    ) as raised:
        server_behavior(value)  # type: ignore[arg-type]
    for behavior in Behavior:
        assert behavior.name in str(raised.value)
