"""What the example plug-ins do with the shared ResultsDatabase session: log a result.

Each measurement adds one row: its pins, its configuration and outputs (each value
as the JSON value json.dumps makes of it: 5.0, [true], ["SmuPin"]), and its status:
Failed when an NI-DCPower channel was in compliance or the NI-DMM signal out of
range, else Passed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from results_database_client import ResultsDatabaseClient


def use_session(
    session: ResultsDatabaseClient,
    measurement_name: str,
    configuration: Mapping[str, Any],
    outputs: Mapping[str, Any],
) -> tuple[()]:
    """Log the measurement as one result row; the plug-in has no further outputs."""
    failed = any(outputs.get("in_compliance", [])) or outputs.get("signal_out_of_range", False)
    session.log(
        measurement_name,
        pin_names=configuration.get("pin_names") or [configuration["pin_name"]],
        status="Failed" if failed else "Passed",
        configurations=configuration,
        outputs=outputs,
    )
    return ()
