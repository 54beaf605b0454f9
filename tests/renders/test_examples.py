"""The checked-in examples under generated-examples/ match a fresh render."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import sync_examples


def test_there_is_an_example_to_check() -> None:
    assert "json_logger" in sync_examples.find_examples()


def test_examples_match_a_fresh_render() -> None:
    problems = sync_examples.check_all()
    assert not problems, (
        "generated-examples/ is out of date; run `python3 scripts/sync_examples.py`:\n"
        + "".join(problems)
    )


def test_drift_check_reports_changed_missing_and_extra_files(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    sync_examples.render(None, fresh)
    example = tmp_path / "checked_in"
    shutil.copytree(fresh, example)
    assert sync_examples.compare(example, fresh) == []

    readme = example / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + "A hand edit.\n", encoding="utf-8")
    (example / "server" / "start.bat").unlink()
    (example / "notes.txt").write_text("not rendered\n", encoding="utf-8")
    for cache in (example / "server" / "__pycache__", example / ".venv"):
        cache.mkdir()
        (cache / "ignored.pyc").write_bytes(b"\0")

    report = "".join(sync_examples.compare(example, fresh))
    assert "+A hand edit." not in report  # the diff runs from checked-in to fresh
    assert "-A hand edit." in report
    assert "server/start.bat: missing file" in report
    assert "notes.txt: extra file" in report
    assert "__pycache__" not in report
    assert ".venv" not in report


def test_answers_file_is_normalised() -> None:
    text = "# header\n_commit: v1-2-gabc\n_src_path: /home/someone/template\nname: x\n"
    assert sync_examples.normalise_answers_file(text) == "# header\n_src_path: .\nname: x\n"


ANSWER_KEYS = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)
ANSWER_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(ANSWER_KEYS, children, max_size=3)
    ),
    max_leaves=8,
)


@settings(database=None, max_examples=60, deadline=None)
@given(
    answers=st.dictionaries(ANSWER_KEYS, ANSWER_VALUES, max_size=6),
    commit=st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=20),
    # Long paths with spaces make YAML fold the value onto continuation lines.
    source=st.text(st.characters(codec="ascii", categories=["L", "N", "Zs"]), max_size=120),
)
def test_normalised_answers_keep_every_answer(
    answers: dict[str, Any], commit: str, source: str
) -> None:
    # Copier writes the answers file with to_nice_yaml (sorted keys, indent 4).
    recorded = {"_commit": commit, "_src_path": "/" + source, **answers}
    text = "# header\n" + yaml.safe_dump(recorded, sort_keys=True, indent=4)
    normalised = yaml.safe_load(sync_examples.normalise_answers_file(text))
    assert normalised == {"_src_path": ".", **answers}
