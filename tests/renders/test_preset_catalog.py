"""A preset is a folder and a catalog line: a fourth one renders a project that passes."""

from __future__ import annotations

import pytest

from fourth_preset import FOLDER, changed_paths
from project_checks import WAIT_TIMEOUT, RunningCheck, reported, tail, unexpected_skips


@pytest.mark.project(check="fourth_preset")
@pytest.mark.timeout(WAIT_TIMEOUT)
def test_a_fourth_preset_needs_only_its_folder_and_catalog_line(
    project_checks: dict[str, RunningCheck],
) -> None:
    check = project_checks["fourth_preset"]
    code, output = check.finish()

    changed = changed_paths(check.project.parent / "template")
    assert changed == sorted(
        [
            "copier.yml",
            f"{FOLDER.as_posix()}/preset.jinja",
            f"{FOLDER.as_posix()}/resource.py.jinja",
        ]
    ), changed
    server = check.project / "server/src/tally_counter_server"
    assert "def Increment(" in (server / "servicer.py").read_text("utf-8")
    assert "Shares one Tally Counter session per resource" in (
        check.project / "README.md"
    ).read_text("utf-8")

    assert code == 0, (
        f"the fourth preset's render failed its checks ({check.project}):\n{tail(output)}"
    )
    assert not unexpected_skips("fourth_preset", output)
    # The default test module (the blank preset's) sees Increment written.
    assert reported(output, "answers_unimplemented_naming_its_method[Increment]", "SKIPPED")
