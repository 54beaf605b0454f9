"""What the example plug-ins do with the shared JsonLogger session: log a record.

Each measurement appends one record to the session's log file: the plug-in's
configuration and outputs, every value as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from json_logger_client import JsonLoggerClient


def use_session(
    session: JsonLoggerClient,
    measurement_name: str,
    configuration: Mapping[str, Any],
    outputs: Mapping[str, Any],
) -> tuple[()]:
    """Log the configuration and the outputs; the plug-in has no further outputs."""
    session.log_data(
        measurement_name,
        {name: str(value) for name, value in configuration.items()},
        {name: str(value) for name, value in outputs.items()},
    )
    return ()
