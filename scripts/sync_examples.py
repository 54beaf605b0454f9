"""Re-render the checked-in examples under generated-examples/, or check they are current.

Usage:
    python3 scripts/sync_examples.py                  # re-render every example in place
    python3 scripts/sync_examples.py --check          # exit 1 if any example differs
    python3 scripts/sync_examples.py --check NAME...  # only these examples
    python3 scripts/sync_examples.py --init NAME      # new example from the default answers

Each example's own `.copier-answers.yml` is the single source of its answers. The
template is rendered from this repository's working tree (`vcs_ref="HEAD"`, so
uncommitted template changes count) with those answers, then normalised so that
renders are byte-identical wherever they are made: the answers file loses its
`_commit` line (a dirty template gets a fresh, timestamp-dependent commit on
every render) and gets `_src_path: .`, the README names the version `HEAD`, and
the git repository the copy task makes and caches are deleted. `--check` compares
file sets, bytes and executable bits and prints a unified diff for each
difference; the default mode replaces each example directory with its fresh
render.

Run with any Python 3.10+: the script re-runs itself with .venv's python (set up
from requirements.lock on first use), whose Copier runs the stub generator.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import _bootstrap

ROOT = _bootstrap.ROOT
EXAMPLES = ROOT / "generated-examples"
ANSWERS_FILE = ".copier-answers.yml"
# Never part of an example: caches, environments, and the git repository the copy
# task makes of a new render.
CACHE_DIRS = frozenset(
    {"__pycache__", ".venv", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis", ".git"}
)
CACHE_SUFFIXES = (".pyc", ".pyo", ".egg-info")
EXAMPLE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# The README line naming the template version a project was rendered from.
TEMPLATE_VERSION = re.compile(r"(rendered from the template at version\n`)[^`\n]*(`)")


def is_cache(relative: Path) -> bool:
    """Tell whether a path (relative to a project) is a cache that never belongs to an example."""
    return any(part in CACHE_DIRS or part.endswith(CACHE_SUFFIXES) for part in relative.parts)


def find_examples() -> list[str]:
    """Return the names of the examples, i.e. the directories holding an answers file."""
    if not EXAMPLES.is_dir():
        return []
    return sorted(path.parent.name for path in EXAMPLES.glob(f"*/{ANSWERS_FILE}"))


def load_answers(project: Path) -> dict[str, Any]:
    """Return the user answers recorded in a project's answers file (no `_` keys)."""
    import yaml

    recorded = yaml.safe_load((project / ANSWERS_FILE).read_text(encoding="utf-8")) or {}
    if not isinstance(recorded, dict):
        raise ValueError(f"{project / ANSWERS_FILE} does not hold a mapping of answers")
    return {key: value for key, value in recorded.items() if not str(key).startswith("_")}


def normalise_answers_file(text: str) -> str:
    """Drop the `_commit` line and point `_src_path` at `.` so renders compare equal."""
    lines = []
    replacing = False  # inside a value being dropped: skip its indented continuation lines
    for line in text.splitlines(keepends=True):
        if replacing and line[:1] in (" ", "\t"):
            continue
        replacing = line.startswith(("_commit:", "_src_path:"))
        if line.startswith("_src_path:"):
            lines.append("_src_path: .\n")
        elif not replacing:
            lines.append(line)
    return "".join(lines)


def normalise_readme(text: str) -> str:
    """Replace the template version the README names (like `_commit`) with `HEAD`."""
    return TEMPLATE_VERSION.sub(r"\g<1>HEAD\g<2>", text, count=1)


def remove_caches(project: Path) -> None:
    """Delete caches (bytecode, tool caches, environments) anywhere under `project`."""
    for path in sorted(project.rglob("*"), reverse=True):
        if path.exists() and is_cache(path.relative_to(project)):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()


def render(answers: dict[str, Any] | None, dest: Path) -> None:
    """Render the working tree's template into the new directory `dest`, normalised.

    Args:
        answers: The answers to use; None (or missing keys) means the defaults.
        dest: Where to render; must not exist yet or be empty.
    """
    from copier import run_copy

    run_copy(
        str(ROOT),
        str(dest),
        data=dict(answers or {}),
        defaults=True,
        unsafe=True,
        vcs_ref="HEAD",
        quiet=True,
    )
    answers_path = dest / ANSWERS_FILE
    answers_path.write_text(
        normalise_answers_file(answers_path.read_text(encoding="utf-8")), encoding="utf-8"
    )
    readme = dest / "README.md"
    readme.write_text(normalise_readme(readme.read_text(encoding="utf-8")), encoding="utf-8")
    remove_caches(dest)


def snapshot(project: Path) -> dict[str, tuple[bytes, bool]]:
    """Return every file below `project` (caches excepted) as path -> (bytes, executable)."""
    files = {}
    for path in sorted(project.rglob("*")):
        relative = path.relative_to(project)
        if path.is_dir() or is_cache(relative):
            continue
        executable = bool(path.stat().st_mode & stat.S_IXUSR)
        files[relative.as_posix()] = (path.read_bytes(), executable)
    return files


def text_diff(old: bytes, new: bytes, old_name: str, new_name: str) -> str:
    """Return a unified diff of two file versions, or a one-line note for binary files."""
    try:
        old_lines = old.decode("utf-8").splitlines(keepends=True)
        new_lines = new.decode("utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        return f"Binary files {old_name} and {new_name} differ\n"
    diff = "".join(difflib.unified_diff(old_lines, new_lines, old_name, new_name))
    if not diff:  # only line endings or a final newline differ
        return f"{old_name} and {new_name} differ in line endings only\n"
    return diff if diff.endswith("\n") else diff + "\n"


def compare(checked_in: Path, fresh: Path) -> list[str]:
    """Return one report per difference between an example and its fresh render."""
    label = (
        checked_in.relative_to(ROOT).as_posix()
        if checked_in.is_relative_to(ROOT)
        else str(checked_in)
    )
    old, new = snapshot(checked_in), snapshot(fresh)
    problems = []
    for name in sorted(old.keys() - new.keys()):
        problems.append(f"{label}/{name}: extra file, the template no longer renders it\n")
    for name in sorted(new.keys() - old.keys()):
        problems.append(f"{label}/{name}: missing file, the template renders it\n")
    for name in sorted(old.keys() & new.keys()):
        (old_bytes, old_exec), (new_bytes, new_exec) = old[name], new[name]
        if old_bytes != new_bytes:
            problems.append(
                text_diff(old_bytes, new_bytes, f"{label}/{name}", f"fresh render/{name}")
            )
        if old_exec != new_exec:
            problems.append(
                f"{label}/{name}: executable bit is {old_exec}, a fresh render has {new_exec}\n"
            )
    return problems


def check_example(name: str) -> list[str]:
    """Render one example from its answers and return its differences (empty when current)."""
    example = EXAMPLES / name
    with tempfile.TemporaryDirectory(prefix=f"sync-{name}-") as scratch:
        fresh = Path(scratch) / name
        render(load_answers(example), fresh)
        return compare(example, fresh)


def check_all(names: list[str] | None = None) -> list[str]:
    """Check the named examples (default: all); return every difference found."""
    problems = []
    for name in names or find_examples():
        problems += check_example(name)
    return problems


def regenerate(name: str) -> None:
    """Replace an example's directory with a fresh render of its own answers."""
    example = EXAMPLES / name
    answers = load_answers(example)
    with tempfile.TemporaryDirectory(prefix=f"sync-{name}-") as scratch:
        fresh = Path(scratch) / name
        render(answers, fresh)
        shutil.rmtree(example)
        shutil.copytree(fresh, example, symlinks=True)


def initialise(name: str) -> None:
    """Create a new example from the template's default answers."""
    example = EXAMPLES / name
    if example.exists():
        raise SystemExit(
            f"sync_examples: {example.relative_to(ROOT)} already exists; "
            "run without --init to re-render it."
        )
    EXAMPLES.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"sync-{name}-") as scratch:
        fresh = Path(scratch) / name
        render(None, fresh)
        shutil.copytree(fresh, example, symlinks=True)


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--check", action="store_true", help="report differences instead of re-rendering"
    )
    mode.add_argument(
        "--init", metavar="NAME", help="create generated-examples/NAME from the default answers"
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="examples to process (all)")
    args = parser.parse_args(argv)
    if args.init is not None and args.names:
        parser.error("--init takes one example name and no others")
    if args.init is not None and not EXAMPLE_NAME.match(args.init):
        parser.error(f"example name {args.init!r} must be snake_case, e.g. json_logger")
    known = find_examples()
    unknown = [name for name in args.names if name not in known]
    if unknown:
        parser.error(
            f"no example named {', '.join(unknown)}; examples: {', '.join(known) or 'none'}"
        )
    return args


def running_in_venv() -> bool:
    """Tell whether this interpreter is .venv's, which has Copier and the stub generators."""
    return Path(sys.prefix).resolve() == _bootstrap.VENV.resolve()


def main(argv: list[str]) -> int:
    """Run the requested mode; return the exit code."""
    _bootstrap.require_supported_python()
    if not running_in_venv():
        python, tools = _bootstrap.ensure_venv()
        command = [str(python), str(Path(__file__).resolve()), *argv]
        env = _bootstrap.tool_environment(tools)
        return subprocess.run(command, env=env, check=False).returncode
    os.environ.update(_bootstrap.tool_environment(_bootstrap.bin_dir()))
    from copier.errors import DirtyLocalWarning

    # Rendering uncommitted template changes is the point here, not news.
    warnings.simplefilter("ignore", DirtyLocalWarning)
    args = parse_arguments(argv)
    if args.init is not None:
        initialise(args.init)
        print(f"Created generated-examples/{args.init} from the default answers.")
        return 0
    names = args.names or find_examples()
    if not names:
        print("sync_examples: no example under generated-examples/ (try --init NAME).")
        return 1
    if args.check:
        problems = check_all(names)
        sys.stdout.write("".join(problems))
        if problems:
            print(
                f"{len(problems)} difference(s); run `python3 scripts/sync_examples.py` "
                "to re-render the examples."
            )
            return 1
        print(f"Examples current: {', '.join(names)}.")
        return 0
    for name in names:
        regenerate(name)
        print(f"Re-rendered generated-examples/{name}.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
