"""Mutation testing: which deliberate bugs in the session core do the tests miss?

Usage:
    python core/scripts/mutation.py            # every module in MODULES
    python core/scripts/mutation.py pool       # only these (file names, without .py)
    python core/scripts/mutation.py --last     # the last run's report again

Run it in a project rendered from the template with the core's tests copied to
core/tests (the template repository's "defaults" check scenario has that layout):
the core's tests and the render's real-server tests kill the mutants together.

For each module, cosmic-ray (pinned in requirements-dev.txt) makes every mutant its
operators can (`<` made `<=`, `True` made `False`, a decorator removed, ...),
writes each over the module in turn, runs the module's tests against it and puts
the module back. A mutant survives when the tests still pass. This prints the
score and every survivor, and compares the survivors with
core/tests/mutation_equivalents.txt, the mutants no test can tell from the code, each
with the reason. Exit status 0 when the survivors are exactly those, 1 when a
mutant survives that is not listed (it needs a test, or an entry saying why it is
equivalent) or an entry matches no survivor (remove it).

Slow (one test run per mutant: minutes per module), so not part of check.py.
It builds .venv as check.py does. The modules are mutated in place: leave them
alone while it runs (they are restored on Ctrl+C too). Sessions go to .mutation/.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from check import PROJECT, ensure_environment, venv_executable  # noqa: E402  (the render's)

SERVER = "core/src/session_service_core/server"
# Module to mutate -> the tests that must catch its mutants: in-process ones, and the
# real-server tests where only a server exercises the code (the status decorator, the
# client session against a server).
MODULES = {
    f"{SERVER}/sessions.py": ["core/tests/test_session_registry.py"],
    f"{SERVER}/pool.py": ["core/tests/test_pool.py"],
    f"{SERVER}/status.py": [
        "core/tests/test_status.py",
        "tests/contract/test_sessions.py",
        "tests/contract/test_hostile_callers.py",
    ],
    "core/src/session_service_core/client/session_base.py": [
        "core/tests/test_session_base.py",
        "tests/contract/test_client.py",
    ],
}
EQUIVALENTS = PROJECT / "core" / "tests" / "mutation_equivalents.txt"
WORK = PROJECT / ".mutation"
# A mutant often makes a test hang until its deadlock guard fails it. A test taking
# this long has hung (they take well under a second), and so has a whole run taking
# RUN_TIMEOUT_S (e.g. at exit, waiting for a thread): either way the mutant is killed.
TEST_TIMEOUT_S = 5
RUN_TIMEOUT_S = 60


@dataclass(frozen=True)
class Mutant:
    """A mutation, named so that an unrelated edit elsewhere in the module keeps the name."""

    module: str  # the file name, e.g. sessions.py
    operator: str
    removed: tuple[str, ...]  # the lines as written, stripped
    added: tuple[str, ...]  # the same lines mutated

    def describe(self) -> str:
        """The mutant as the equivalents file spells it."""
        lines = [f"{self.module} {self.operator}"]
        lines += [f"- {line}" for line in self.removed]
        lines += [f"+ {line}" for line in self.added]
        return "\n".join(lines)


@dataclass(frozen=True)
class Outcome:
    """One mutant's result."""

    mutant: Mutant
    line: int
    killed: bool
    hung: bool  # killed by a timeout rather than a failing assertion


def cosmic_ray_config(module: str, tests: list[str], python: Path) -> str:
    """Return cosmic-ray's configuration (TOML) for mutating `module` against `tests`."""
    pytest = [str(python), "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
    pytest += [f"--timeout={TEST_TIMEOUT_S}", *tests]
    # cosmic-ray splits the command with shlex (POSIX rules), so quote for those.
    command = " ".join(shlex.quote(part) for part in pytest)
    return "\n".join(
        [
            "[cosmic-ray]",
            f"module-path = {json.dumps(module)}",
            f"timeout = {RUN_TIMEOUT_S}",
            "excluded-modules = []",
            f"test-command = {json.dumps(command)}",
            "",
            "[cosmic-ray.distributor]",
            'name = "local"',
            "",
        ]
    )


def run_module(module: str, tests: list[str], python: Path) -> list[Outcome]:
    """Mutate `module` mutant by mutant, run `tests` on each; return every outcome."""
    baseline = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=False,
    )
    if baseline.returncode != 0:
        sys.exit(f"mutation: {' '.join(tests)} fail without any mutant:\n{baseline.stdout}")
    WORK.mkdir(exist_ok=True)
    stem = Path(module).stem
    config, session = WORK / f"{stem}.toml", WORK / f"{stem}.sqlite"
    config.write_text(cosmic_ray_config(module, tests, python), encoding="utf-8")
    session.unlink(missing_ok=True)
    cosmic_ray = str(venv_executable("cosmic-ray"))
    source = PROJECT / module
    original = source.read_bytes()
    try:
        subprocess.run([cosmic_ray, "init", config, session], cwd=PROJECT, check=True)
        count = len(dump_session(session).splitlines())
        print(
            f"mutation: {module}: {count} mutants, each tested with {' '.join(tests)}", flush=True
        )
        subprocess.run([cosmic_ray, "exec", config, session], cwd=PROJECT, check=True)
    except (subprocess.CalledProcessError, KeyboardInterrupt) as error:
        sys.exit(f"mutation: stopped ({type(error).__name__}); {module} is as it was.")
    finally:
        if source.read_bytes() != original:  # cosmic-ray stopped before restoring it
            source.write_bytes(original)
    return read_session(module)


def read_session(module: str) -> list[Outcome]:
    """Return the outcomes of the last run on `module`."""
    session = WORK / f"{Path(module).stem}.sqlite"
    if not session.exists():
        sys.exit(f"mutation: no run on {module} yet (no {session.relative_to(PROJECT)})")
    return list(outcomes(dump_session(session)))


def dump_session(session: Path) -> str:
    """Return `cosmic-ray dump` of a session: one JSON [work item, result] a line."""
    cosmic_ray = str(venv_executable("cosmic-ray"))
    dump = subprocess.run(
        [cosmic_ray, "dump", session], cwd=PROJECT, capture_output=True, text=True, check=True
    )
    return dump.stdout


def outcomes(dump: str) -> Iterator[Outcome]:
    """Return the outcomes of the mutants in a session's dump."""
    for line in dump.splitlines():
        item, result = json.loads(line)
        if result is None or result["worker_outcome"] != "normal":
            continue  # not run, or not a mutant (e.g. nothing to mutate)
        (mutation,) = item["mutations"]
        removed, added = changed_lines(result["diff"] or "")
        name = Path(mutation["module_path"]).name
        mutant = Mutant(name, mutation["operator_name"], tuple(removed), tuple(added))
        killed = result["test_outcome"] != "survived"
        output = result["output"] or ""
        hung = killed and (output == "timeout" or "+ Timeout +" in output)
        yield Outcome(mutant, mutation["start_pos"][0], killed, hung)


def changed_lines(diff: str) -> tuple[list[str], list[str]]:
    """Return the removed and the added lines of a unified diff, stripped."""
    removed, added = [], []
    for line in diff.splitlines():
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("-"):
            removed.append(line[1:].strip())
        elif line.startswith("+"):
            added.append(line[1:].strip())
    return removed, added


@dataclass(frozen=True)
class Equivalent:
    """An entry of the equivalents file: which mutants it names, and why they are equivalent.

    Its operator may hold `*` wildcards, and an entry without "+" lines names every
    mutation of its "-" lines by those operators.
    """

    pattern: Mutant
    why: str

    def matches(self, mutant: Mutant) -> bool:
        """Tell whether this entry names `mutant`."""
        pattern = self.pattern
        return (
            (mutant.module, mutant.removed) == (pattern.module, pattern.removed)
            and fnmatch.fnmatchcase(mutant.operator, pattern.operator)
            and (not pattern.added or mutant.added == pattern.added)
        )


def read_equivalents(path: Path) -> list[Equivalent]:
    """Return the entries of the equivalents file."""
    entries: list[Equivalent] = []
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    for block in re.split(r"\n\s*\n", "\n".join(lines)):
        entry = block.strip().splitlines()
        if not entry:
            continue
        header = entry[0].split()
        removed = tuple(line[2:].strip() for line in entry[1:] if line.startswith("- "))
        added = tuple(line[2:].strip() for line in entry[1:] if line.startswith("+ "))
        why = " ".join(line for line in entry[1:] if not line.startswith(("- ", "+ ")))
        if len(header) != 2 or not removed or not why.startswith("why:"):
            sys.exit(
                f"mutation: {path.name}: an entry needs 'MODULE OPERATOR', '- ' lines and "
                f"'why:', not:\n{block.strip()}"
            )
        entries.append(Equivalent(Mutant(header[0], header[1], removed, added), why))
    return entries


def report(results: dict[str, list[Outcome]], equivalents: list[Equivalent]) -> int:
    """Print the scores and the survivors; return the exit status."""
    used: set[Equivalent] = set()
    unexplained = 0
    for module, outcomes_ in results.items():
        killed = sum(outcome.killed for outcome in outcomes_)
        survivors = sorted(
            (outcome for outcome in outcomes_ if not outcome.killed), key=lambda o: o.line
        )
        print(f"\n{module}:")
        equivalent = 0
        for outcome in survivors:
            entry = next((e for e in equivalents if e.matches(outcome.mutant)), None)
            if entry is None:
                unexplained += 1
            else:
                used.add(entry)
                equivalent += 1
            label = "SURVIVED, not listed" if entry is None else "survived, equivalent"
            print(f"  line {outcome.line}, {label}:")
            print("    " + outcome.mutant.describe().replace("\n", "\n    "))
        tested = len(outcomes_)
        hung = sum(outcome.hung for outcome in outcomes_)
        score = killed / (tested - equivalent) if tested > equivalent else 1.0
        print(
            f"  {tested} mutants, {killed} killed ({hung} by a timeout), {len(survivors)} "
            f"survived, of which {equivalent} equivalent: score {score:.1%} "
            f"({killed} of {tested - equivalent})"
        )
    modules = {Path(module).name for module in results}
    stale = [e for e in equivalents if e.pattern.module in modules and e not in used]
    for entry in stale:
        print(f"\nlisted in {EQUIVALENTS.name} but no survivor matches it (remove it):")
        print("    " + entry.pattern.describe().replace("\n", "\n    "))
    if unexplained or stale:
        print(
            f"\nmutation: {unexplained} survivor(s) need a test or an entry in "
            f"core/tests/{EQUIVALENTS.name}; {len(stale)} entry(ies) match no survivor."
        )
        return 1
    print("\nmutation: every survivor is a listed equivalent.")
    return 0


def main(argv: list[str]) -> int:
    """Run the mutation tests of the chosen modules and report them."""
    names = {Path(module).stem: module for module in MODULES}
    parser = argparse.ArgumentParser(description="Mutation testing of the session core.")
    parser.add_argument(
        "modules", nargs="*", metavar="MODULE", help=f"any of {', '.join(names)} (default: all)"
    )
    parser.add_argument(
        "--last",
        action="store_true",
        help="report the last run again, e.g. after editing the equivalents file",
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.modules if name not in names]
    if unknown:
        parser.error(f"unknown module(s) {', '.join(unknown)}; choose from {', '.join(names)}")
    chosen = [names[name] for name in args.modules] or list(MODULES)
    equivalents = read_equivalents(EQUIVALENTS)
    if args.last:
        results = {module: read_session(module) for module in chosen}
    else:
        python = ensure_environment("locked")
        results = {module: run_module(module, MODULES[module], python) for module in chosen}
    return report(results, equivalents)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
