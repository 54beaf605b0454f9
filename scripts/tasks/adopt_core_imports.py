"""Copier task: point the user's imports of the modules that moved into session_service_core there.

Up to template 0.4 every render carried the session machinery in its own
packages (`<server_package>.errors`, `.files`, `.status`, ... and
`<client_package>.connection`, `.stopping`, ...). From then on it is one
package, session_service_core, that the render carries in core/ and depends on;
`copier update` removes the old modules, but resource.py (kept by
`_skip_if_exists`) and the user's own tests and modules still import them.
This task rewrites those imports, in every .py file of the project outside
core/ and hidden folders (.venv, .git):

- `from .errors import X` in the server package (and any relative import that
  resolves to a moved module, in either package);
- `from <server_package>.errors import X`, `import <server_package>.errors`,
  and every other dotted use of the old module's name (`mock.patch` targets);
- `from <server_package> import errors` (and `from . import errors` inside it),
  split off from the names that did not move.

Copier runs tasks before it removes the files the new template no longer has,
so while a project still on the old layout updates, the old modules are there
and about to go. In a project already on the new layout (its last commit has
core/), a file of a moved module's name is the user's own: imports of it are
left alone, and the task says so. Files it does not change are not written, so
it is a no-op on a project already on the new layout, and running it twice
changes nothing the second time.
copier.yml runs it on `copier update`, in the project, with Copier's Python:
`python adopt_core_imports.py SPEC_JSON`, the JSON naming server_package,
client_package and package_stem.
"""

from __future__ import annotations

import ast
import io
import json
import re
import shutil
import subprocess
import sys
import tokenize
from dataclasses import dataclass
from pathlib import Path

CORE = "session_service_core"
SERVER_MODULES = (
    "admin",
    "arguments",
    "discovery",
    "errors",
    "files",
    "limits",
    "pool",
    "sessions",
    "standard_services",
    "status",
)
CLIENT_MODULES = {
    "connection": f"{CORE}.client.connection",
    "session_base": f"{CORE}.client.session_base",
    "stopping": f"{CORE}.stopping",
    "local_runtime": f"{CORE}.local_runtime",
}
SKIPPED_FOLDERS = {"__pycache__", "node_modules"}
HEAD = re.compile(r"from\s[\s.\w\\]*?(?=\bimport\b)")


@dataclass(frozen=True)
class Moved:
    """Where each moved module was (its dotted name in the render) and where it is now."""

    modules: dict[str, str]  # old dotted name -> new dotted name

    @classmethod
    def for_project(cls, server_package: str, client_package: str, package_stem: str) -> Moved:
        """The moved modules of a project with these package names."""
        modules = {f"{server_package}.{name}": f"{CORE}.server.{name}" for name in SERVER_MODULES}
        modules |= {f"{client_package}.{name}": new for name, new in CLIENT_MODULES.items()}
        # The admin service's stubs: same messages, now in the core's proto package.
        for suffix in ("_pb2", "_pb2_grpc"):
            modules[f"{client_package}.stubs.{package_stem}_admin{suffix}"] = (
                f"{CORE}.stubs.session_admin{suffix}"
            )
        return cls(modules)

    def without(self, kept: set[str]) -> Moved:
        """These moves, less the modules in `kept`."""
        return Moved({old: new for old, new in self.modules.items() if old not in kept})


def module_file(project: Path, dotted: str) -> Path | None:
    """The file or package folder of `dotted` in the project's src trees, if one exists."""
    for src in (project / "server" / "src", project / "client" / "src"):
        base = src.joinpath(*dotted.split("."))
        for candidate in (base.with_suffix(".py"), base):
            if candidate.exists():
                return candidate
    return None


def had_core(project: Path) -> bool:
    """Whether the project was on the new layout before this update: its last commit has core/.

    Outside a git work tree (Copier updates only those), whether core/ is there now.
    """
    git = shutil.which("git")
    if git is not None:
        head = subprocess.run(
            [git, "rev-parse", "--verify", "--quiet", "HEAD"], cwd=project, capture_output=True
        )
        if head.returncode == 0:
            core = subprocess.run(
                [git, "cat-file", "-e", "HEAD:./core/pyproject.toml"],
                cwd=project,
                capture_output=True,
            )
            return core.returncode == 0
    return (project / "core").is_dir()


def package_of(project: Path, path: Path) -> list[str] | None:
    """The dotted package a file in server/src or client/src belongs to, as parts."""
    for src in (project / "server" / "src", project / "client" / "src"):
        if src in path.parents:
            return list(path.parent.relative_to(src).parts)
    return None


def absolute(node: ast.ImportFrom, package: list[str] | None) -> str | None:
    """The module an import-from names, relative imports resolved against `package`."""
    if node.level == 0:
        return node.module
    if package is None or node.level - 1 > len(package):
        return None
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def offset(lines: list[str], line: int, column: int) -> int:
    """The text index of ast's (1-based line, UTF-8 byte column)."""
    before = sum(len(text) for text in lines[: line - 1])
    return before + len(lines[line - 1].encode("utf-8")[:column].decode("utf-8", "replace"))


def names(aliases: list[ast.alias]) -> str:
    """Aliases as an import statement lists them."""
    return ", ".join(a.name if a.asname is None else f"{a.name} as {a.asname}" for a in aliases)


def rewritten_import(
    node: ast.ImportFrom, segment: str, package: list[str] | None, moved: Moved
) -> list[str] | None:
    """The statements that replace `node` (its source is `segment`), or None to keep it."""
    module = absolute(node, package)
    if module is None:
        return None
    if module in moved.modules:  # from .errors import X / from pkg.errors import X
        head = HEAD.match(segment)
        return None if head is None else [f"from {moved.modules[module]} " + segment[head.end() :]]
    split = [a for a in node.names if f"{module}.{a.name}" in moved.modules]
    if not split:
        return None
    statements = []
    for alias in split:  # from pkg import errors -> from session_service_core.server import errors
        parent, _, leaf = moved.modules[f"{module}.{alias.name}"].rpartition(".")
        bound = alias.asname or alias.name
        renamed = "" if bound == leaf else f" as {bound}"
        statements.append(f"from {parent} import {leaf}{renamed}")
    rest = [a for a in node.names if a not in split]
    if rest:
        head = HEAD.match(segment)
        kept_head = head.group(0) if head else f"from {module} "
        statements.insert(0, f"{kept_head}import {names(rest)}")
    return statements


def comments(segment: str) -> list[str]:
    """The comments inside an import's source, which splitting it would otherwise drop."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(segment).readline))
    except (tokenize.TokenError, SyntaxError):
        return []
    return [token.string for token in tokens if token.type == tokenize.COMMENT]


def rewrite(source: str, package: list[str] | None, moved: Moved) -> str:
    """`source` with its imports of moved modules pointing at session_service_core."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        tree = None
    if tree is not None:
        # The lines as ast counts them (\n, \r\n or \r; not form feeds), ends kept.
        lines = io.StringIO(source, newline="").readlines()
        edits: list[tuple[int, int, str]] = []
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or node.end_lineno is None:
                continue
            start = offset(lines, node.lineno, node.col_offset)
            end = offset(lines, node.end_lineno, node.end_col_offset or 0)
            statements = rewritten_import(node, source[start:end], package, moved)
            if statements is None:
                continue
            first = lines[node.lineno - 1]
            before = first[: len(first.encode("utf-8")[: node.col_offset].decode("utf-8"))]
            notes = comments(source[start:end]) if len(statements) > 1 else []
            if before.strip():  # `if TYPE_CHECKING: from . import errors, servicer`
                text = "; ".join(statements) + "".join(f"  {note}" for note in notes)
            else:  # one statement a line, at the indentation of the one replaced
                separator = ("\r\n" if first.endswith("\r\n") else "\n") + before
                text = separator.join([*notes, *statements])
            edits.append((start, end, text))
        for start, end, new in sorted(edits, reverse=True):
            source = source[:start] + new + source[end:]
    # Every other use of an old dotted name: `import pkg.errors`, `pkg.errors.X`, patch targets.
    for old in sorted(moved.modules, key=len, reverse=True):
        source = re.sub(rf"(?<![\w.]){re.escape(old)}(?!\w)", moved.modules[old], source)
    return source


def python_files(project: Path) -> list[Path]:
    """The project's .py files outside core/, hidden folders and caches."""
    found = []
    for path in sorted(project.rglob("*.py")):
        parts = path.relative_to(project).parts[:-1]
        if parts[:1] == ("core",) or any(p.startswith(".") or p in SKIPPED_FOLDERS for p in parts):
            continue
        found.append(path)
    return found


def adopt(project: Path, server_package: str, client_package: str, package_stem: str) -> list[Path]:
    """Rewrite the project's imports of moved modules; return the files changed."""
    moved = Moved.for_project(server_package, client_package, package_stem)
    if had_core(project):  # a module of an old name is the user's own now
        kept = {old: module_file(project, old) for old in moved.modules}
        for old, where in sorted(kept.items()):
            if where is not None:
                print(
                    f"adopt_core_imports: imports of {old} are left as they are:"
                    f" {where.relative_to(project)} is the project's own"
                    f" (the template's module of that name is {moved.modules[old]}).",
                    file=sys.stderr,
                )
        moved = moved.without({old for old, where in kept.items() if where is not None})
    changed = []
    for path in python_files(project):
        try:
            with path.open(encoding="utf-8", newline="") as file:
                source = file.read()
        except (OSError, UnicodeDecodeError):
            continue  # not a UTF-8 Python file: nothing of ours imports from it
        new = rewrite(source, package_of(project, path), moved)
        if new != source:
            with path.open("w", encoding="utf-8", newline="") as file:
                file.write(new)
            changed.append(path)
    return changed


def main(argv: list[str]) -> int:
    """Run the task in the current directory (the project) with the spec in argv[1]."""
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    spec = json.loads(argv[1])
    packages = (spec["server_package"], spec["client_package"], spec["package_stem"])
    changed = adopt(Path.cwd(), *packages)
    for path in changed:
        print(f"adopt_core_imports: {path.relative_to(Path.cwd())} imports session_service_core")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
