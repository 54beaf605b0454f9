"""Pytest configuration for the template's tests.

Every test renders the real template from this repository's working tree with
Copier (through pytest-copie, which passes vcs_ref="HEAD", so uncommitted
template changes are what gets tested), with the stub-generating task enabled.
"""

from __future__ import annotations

import pytest

from helpers import ROOT
from project_checks import project_checks  # noqa: F401  (the session's background checks)


def pytest_configure(config: pytest.Config) -> None:
    """Point pytest-copie at this repository unless --template says otherwise."""
    if config.option.template in (None, "."):
        config.option.template = str(ROOT)
