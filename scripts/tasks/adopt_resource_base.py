"""Copier task: move a resource.py written for template 0.3 to the resource base of 0.4.

From 0.4 the server calls resource methods with the request's fields as keyword
arguments and expects plain values back, and every resource class subclasses
the template-owned `<Service>ResourceBase`. resource.py is the user's, so
`copier update` leaves it alone; this task adapts it instead, without touching
the user's code:

- the class gains the base class (and its import);
- each method written for 0.3 (`open(cls, resource_key, request)`, an RPC method
  taking `request`) keeps its body under a private name, `_<name>_request`, and
  a new method with the 0.4 signature builds the request and calls it;
- an RPC method that is still the 0.3 skeleton (a docstring and `raise
  UnimplementedError(...)`) is removed: the base answers UNIMPLEMENTED for it.

A class that already has a base class is left as it is, so the task is a no-op
on every later update. copier.yml runs it on `copier update`, in the project,
with Copier's Python: `python adopt_resource_base.py SPEC_JSON`, where the JSON
object names the file, the classes and the RPCs (the template's `rpcs` value).
"""

from __future__ import annotations

import ast
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Ends the docstring of each method the task adds; short, so any name fits in 100 columns.
MARK = "Added by the 0.4 update."


@dataclass(frozen=True)
class Spec:
    """What the task needs to know of the project's answers."""

    resource: Path
    resource_class: str
    base_class: str
    initialize_rpc: str
    resource_name_field: str
    init_fields: list[dict[str, Any]]
    rpcs: list[dict[str, Any]]

    @classmethod
    def from_json(cls, text: str) -> Spec:
        """Read the spec copier.yml passes as the task's argument."""
        data = json.loads(text)
        return cls(
            resource=Path(data["resource"]),
            resource_class=data["resource_class"],
            base_class=data["base_class"],
            initialize_rpc=data["initialize_rpc"],
            resource_name_field=data["resource_name_field"],
            init_fields=data["init_fields"],
            rpcs=data["rpcs"],
        )


def takes_request(function: ast.FunctionDef) -> bool:
    """Tell whether a method has the 0.3 shape: its last positional parameter is `request`."""
    arguments = function.args.args
    return bool(arguments) and arguments[-1].arg == "request" and not function.args.kwonlyargs


def is_skeleton(function: ast.FunctionDef) -> bool:
    """Tell whether a method is still the 0.3 skeleton: a docstring and raise UnimplementedError."""
    body = [
        statement
        for statement in function.body
        if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))
    ]
    if len(body) != 1 or not isinstance(body[0], ast.Raise):
        return False
    raised = body[0].exc
    return (
        isinstance(raised, ast.Call)
        and isinstance(raised.func, ast.Name)
        and raised.func.id == "UnimplementedError"
    )


def annotation(field: dict[str, Any]) -> str:
    """The keyword parameter's type, with the aliases this task imports."""
    python = str(field["python"]).replace("datetime.", "_datetime.")
    python = python.replace("Mapping[", "_Mapping[").replace("Sequence[", "_Sequence[")
    return f"{python} | None" if field["kind"] == "message" else python


def request_lines(message: str, fields: list[dict[str, Any]], first: str = "") -> list[str]:
    """Lines that build `request` of type `message` from keyword arguments named as the fields."""
    plain = [first] if first else []
    plain += [f"{f['name']}={f['name']}" for f in fields if not f["base"].startswith("google.")]
    lines = [f"request = pb2.{message}({', '.join(plain)})"]
    for f in fields:
        if not f["base"].startswith("google."):
            continue
        convert = "FromDatetime" if f["base"].endswith("Timestamp") else "FromTimedelta"
        if f["kind"] == "repeated":
            lines += [f"for item in {f['name']}:", f"    request.{f['name']}.add().{convert}(item)"]
        else:
            lines += [
                f"if {f['name']} is not None:",
                f"    request.{f['name']}.{convert}({f['name']})",
            ]
    return lines


def field_value(field: dict[str, Any]) -> str:
    """The response field as the 0.4 method returns it."""
    name = f"response.{field['name']}"
    if field["base"] == "google.protobuf.Timestamp":
        if field["kind"] == "repeated":
            return f"[item.ToDatetime(tzinfo=_datetime.timezone.utc) for item in {name}]"
        return f"{name}.ToDatetime(tzinfo=_datetime.timezone.utc)"
    if field["base"] == "google.protobuf.Duration":
        if field["kind"] == "repeated":
            return f"[item.ToTimedelta() for item in {name}]"
        return f"{name}.ToTimedelta()"
    if field["kind"] == "map":
        return f"dict({name})"
    if field["kind"] == "repeated":
        return f"list({name})"
    return name


def rpc_adapter(rpc: dict[str, Any]) -> list[str]:
    """The 0.4 method of one RPC, calling the 0.3 one under its private name."""
    method, request, response = rpc["method"], rpc["request"], rpc["response"]
    parameters = "".join(f", {f['name']}: {annotation(f)}" for f in request)
    if len(response) == 0:
        returns = "None"
    elif len(response) == 1:
        returns = annotation(response[0]).removesuffix(" | None")
    else:
        returns = f"tuple[{', '.join(annotation(f).removesuffix(' | None') for f in response)}]"
    lines = [
        f"def {method}(self{', *' if request else ''}{parameters}) -> {returns}:",
        f'    """Answer {rpc["name"]}. {MARK}"""',
    ]
    lines += ["    " + line for line in request_lines(f"{rpc['name']}Request", request)]
    call = f"self._{method}_request(request)"
    if not response:
        lines.append(f"    {call}")
    else:
        lines.append(f"    response = {call}")
        values = [field_value(f) for f in response]
        lines.append(f"    return {values[0] if len(values) == 1 else ', '.join(values)}")
    return lines


def open_adapter(spec: Spec) -> list[str]:
    """The 0.4 `open`, calling the 0.3 one under its private name."""
    parameters = "".join(f", {f['name']}: {annotation(f)}" for f in spec.init_fields)
    star = ", *" if spec.init_fields else ""
    lines = [
        "@classmethod",
        f"def open(cls, resource_key: str, resource_name: str{star}{parameters}) "
        f"-> {spec.resource_class}:",
        f'    """Open a new session\'s resource. {MARK}"""',
    ]
    first = f"{spec.resource_name_field}=resource_name"
    body = request_lines(f"{spec.initialize_rpc}Request", spec.init_fields, first)
    lines += ["    " + line for line in body]
    lines.append("    return cls._open_request(resource_key, request)")
    return lines


def adopt(source: str, spec: Spec) -> str | None:
    """Return `source` moved to the resource base, or None when there is nothing to do."""
    tree = ast.parse(source)
    found = [
        node
        for node in tree.body
        if isinstance(node, ast.ClassDef) and node.name == spec.resource_class
    ]
    if not found or found[0].bases:
        return None
    cls = found[0]
    lines = source.splitlines(keepends=True)
    rpcs = {rpc["method"]: rpc for rpc in spec.rpcs}
    # Edits run bottom-up, so the line numbers of the ones above stay valid.
    edits: list[tuple[int, int, list[str]]] = []  # (first line, last line, replacement)
    for node in cls.body:
        if not isinstance(node, ast.FunctionDef) or not takes_request(node):
            continue
        if node.name not in rpcs and node.name != "open":
            continue
        first = min([node.lineno] + [d.lineno for d in node.decorator_list])
        last = node.end_lineno or node.lineno
        indent = " " * node.col_offset
        if node.name in rpcs and is_skeleton(node):
            edits.append((first, last, []))
            continue
        kept = lines[first - 1 : last]
        def_index = node.lineno - first
        kept[def_index] = kept[def_index].replace(
            f"def {node.name}(", f"def _{node.name}_request(", 1
        )
        adapter = open_adapter(spec) if node.name == "open" else rpc_adapter(rpcs[node.name])
        added = ["\n"] + [(indent + line).rstrip() + "\n" for line in adapter]
        edits.append((first, last, kept + added))
    for first, last, replacement in sorted(edits, reverse=True):
        lines[first - 1 : last] = replacement
    header = lines[cls.lineno - 1]
    lines[cls.lineno - 1] = header.replace(
        f"class {spec.resource_class}:", f"class {spec.resource_class}({spec.base_class}):", 1
    )
    imports = [
        "import datetime as _datetime\n",
        "from collections.abc import Mapping as _Mapping\n",
        "from collections.abc import Sequence as _Sequence\n",
        f"from .resource_base import {spec.base_class}\n",
    ]
    text = "".join(lines)
    used = [line for line in imports if line.split()[-1] in text]
    last_import = max(
        (
            node.end_lineno or node.lineno
            for node in tree.body
            if isinstance(node, (ast.ImportFrom, ast.Import))
        ),
        default=0,
    )
    lines[last_import:last_import] = used
    return drop_unused_unimplemented("".join(lines))


def drop_unused_unimplemented(source: str) -> str:
    """Remove UnimplementedError from the imports when the removed skeletons were its only use."""
    if len(re.findall(r"\bUnimplementedError\b", source)) != 1:
        return source
    kept = []
    for line in source.splitlines(keepends=True):
        if line.startswith("from .errors import") and "UnimplementedError" in line:
            names = [name.strip() for name in line.split("import", 1)[1].split(",")]
            names = [name for name in names if name and name != "UnimplementedError"]
            if not names:
                continue
            line = f"from .errors import {', '.join(names)}\n"
        kept.append(line)
    return "".join(kept)


def main(argv: list[str]) -> int:
    """Adapt the project's resource.py if it has the 0.3 shape; never fail the update."""
    spec = Spec.from_json(argv[1])
    path = spec.resource
    if not path.is_file():
        return 0
    try:
        adopted = adopt(path.read_text(encoding="utf-8"), spec)
    except SyntaxError as error:
        print(f"{path}: not adapted to the resource base ({error}); see the CHANGELOG for 0.4.")
        return 0
    if adopted is not None:
        path.write_text(adopted, encoding="utf-8", newline="")
        print(f"{path}: {spec.resource_class} now subclasses {spec.base_class}; review the diff.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
