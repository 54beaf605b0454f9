"""A fourth preset added the way template/_presets/README.md says: one folder, one line.

tests/renders/test_preset_catalog.py checks that the render of it passes its own
scripts/check.py, so the catalog is the whole of what a preset needs.
"""

from __future__ import annotations

from pathlib import Path

import copier

from update_scenario import clone_template, git

FOLDER = Path("template/_presets/tally")
CATALOG_LINE = '    "Tally counter (a shared running total)": tally\n'
# The line the new one goes after: the last entry of the preset choices.
LAST_ENTRY = '    "Blank resource (custom RPCs left as skeletons)": blank\n'

PRESET = """{#- A running total every client of a session adds to. -#}
{%- set facts = {
    'display_name': 'Tally Counter',
    'description': none,
    'initialize_rpc': 'Initialize',
    'close_rpc': 'Close',
    'resource_name_field': 'resource_name',
    'initialize_fields': [],
    'custom_rpcs': [
        {'name': 'Increment', 'request': ['int64 amount'], 'response': ['int64 total']},
    ],
    'implements_exactly': ['custom_rpcs'],
} -%}
"""
RESOURCE = '''"""The resource behind each session: a running total every client adds to."""

from __future__ import annotations

from .resource_base import {{ service_name }}ResourceBase


class {{ resource_class }}({{ service_name }}ResourceBase):
    """A running total, shared by every client of its session."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.total = 0

    def increment(self, *, amount: int) -> int:
        """Add `amount` to the total and return the new total."""
        self.total += amount
        return self.total
'''


def add_preset(template: Path) -> None:
    """Add the tally preset to a template clone and commit it: a folder and a catalog line."""
    folder = template / FOLDER
    folder.mkdir()
    (folder / "preset.jinja").write_text(PRESET, "utf-8")
    (folder / "resource.py.jinja").write_text(RESOURCE, "utf-8")
    copier_yml = template / "copier.yml"
    text = copier_yml.read_text("utf-8")
    if text.count(LAST_ENTRY) != 1:
        raise AssertionError("copier.yml's preset choices no longer end with the blank preset")
    copier_yml.write_text(text.replace(LAST_ENTRY, LAST_ENTRY + CATALOG_LINE), "utf-8")
    git(template, "add", "-A")
    git(template, "commit", "--quiet", "-m", "A fourth preset: tally")


def prepare(project: Path) -> None:
    """Render the tally preset from a clone that has it into `project`."""
    template = clone_template(project.parent)
    add_preset(template)
    copier.run_copy(
        str(template), project, data={"preset": "tally"}, defaults=True, unsafe=True, quiet=True
    )


def changed_paths(template: Path) -> list[str]:
    """The paths the preset's commit changed in the clone."""
    return git(template, "diff", "--name-only", "HEAD~1", "HEAD").split()
