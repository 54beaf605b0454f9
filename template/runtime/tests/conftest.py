"""The local runtime serving on localhost in this process, with NI's SDK pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import local_ni_runtime.redirect
from local_ni_runtime.server import LocalRuntime


@pytest.fixture(scope="session")
def runtime() -> Iterator[LocalRuntime]:
    """NI's runtime services and the simulated drivers on a free port, as NI_LOCAL_RUNTIME names it.

    In this process, so a test's clients and the runtime share one interpreter: the
    SDK's clients find it through the redirect exactly as a child process would.
    """
    with LocalRuntime() as running, pytest.MonkeyPatch.context() as patch:
        patch.setenv(local_ni_runtime.redirect.ENVIRONMENT_VARIABLE, running.address)
        local_ni_runtime.redirect.apply()
        yield running
