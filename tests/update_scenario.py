"""A user's project across a template release, as tests/update/test_update.py checks it.

The template is cloned into a scratch git repository with the working tree's
changes committed (so the commit a render records exists when updating). v1 is
the 0.3.0 release; v2 is the working tree plus a change to two template-owned
files (sessions.py and the project README). A new user renders v1 as the Bench
Power Lock service (AcquireLock/ReleaseLock and a Heartbeat RPC), commits, fills
in Heartbeat in resource.py as 0.3 asked (a method taking the request message),
adds a test of their own, notes something in the README, commits, and updates
to v2, whose resource methods take keyword arguments: the update's task adapts
resource.py without changing the user's code.

PRESET_UPDATES plays the same user with the other presets 0.3 offered
(json_logger, register_map), through the copier command line: render the preset
at the 0.3.0 commit, add a comment inside a method of resource.py and a test of
their own, commit, then `copier update --trust --defaults` to the working tree.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import copier

from helpers import BENCH_POWER_LOCK, ROOT

SERVER_PACKAGE = Path("server/src/bench_power_lock_server")
RESOURCE = SERVER_PACKAGE / "resource.py"
USER_TEST_PATH = Path("tests/test_heartbeat.py")
DESCRIPTION = "Shares one Bench Power Lock session per resource across measurement plug-ins.\n"

# What the user writes.
HEARTBEAT = '''    def heartbeat(self, request: pb2.HeartbeatRequest) -> pb2.HeartbeatResponse:
        """Answer Heartbeat with the server's clock."""
        response = pb2.HeartbeatResponse()
        response.server_time.FromDatetime(datetime.now(timezone.utc))
        return response
'''
USER_TEST = '''"""The Heartbeat RPC answers with the server's clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bench_power_lock_client import BenchPowerLockClient

from support import ServerProcess


def test_heartbeat_returns_the_server_time(server: ServerProcess) -> None:
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    with BenchPowerLockClient("bench-3", address=server.address) as session:
        reply = session.heartbeat()
    after = datetime.now(timezone.utc) + timedelta(seconds=1)
    assert before <= reply.server_time.ToDatetime(tzinfo=timezone.utc) <= after
'''
USER_NOTE = "Bench 3 in lab B has the only supply: ask Dana before changing its limits.\n"

# The 0.3.0 release (CHANGELOG.md), the version users' projects are on.
RELEASE_0_3 = "5196734bc2b7e38ed30c053afda9d74cf256e306"

# What template v2 changes in template-owned files: the core's sessions module (a
# render carries it byte-identical in core/) and the project README.
CORE_SESSIONS = Path("core/src/session_service_core/server/sessions.py")
V2_SESSIONS_LINE = "# Template v2: a template-owned change that an update must bring.\n"
V2_README_LINE = "Template v2 adds this line to the project README.\n"


def git(cwd: Path, *args: str, check: bool = True) -> str:
    """Run git in `cwd`; return its standard output."""
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=check, timeout=120
    )
    return result.stdout


def clone_template(workdir: Path) -> Path:
    """Return a git clone of this repository with its uncommitted changes committed."""
    clone = workdir / "template"
    git(workdir, "clone", "--quiet", "--no-local", str(ROOT), str(clone))
    tracked = git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard").splitlines()
    for name in tracked:
        source = ROOT / name
        if source.is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
    git(clone, "add", "-A")
    git(clone, "commit", "--quiet", "--allow-empty", "-m", "working tree")
    return clone


def tag_two_versions(template: Path) -> None:
    """Tag the 0.3.0 release v1, then commit a change to template-owned files on HEAD as v2."""
    if git(template, "cat-file", "-t", RELEASE_0_3, check=False).strip() != "commit":
        raise AssertionError(
            f"the 0.3.0 release commit {RELEASE_0_3} is not in this repository's history; "
            "clone the repository with its history (not --depth 1)"
        )
    git(template, "tag", "v1", RELEASE_0_3)
    sessions = template / "template" / CORE_SESSIONS
    sessions.write_text(sessions.read_text("utf-8") + "\n\n" + V2_SESSIONS_LINE, "utf-8")
    readme = template / "template/README.md.jinja"
    readme.write_text(readme.read_text("utf-8") + "\n" + V2_README_LINE, "utf-8")
    git(template, "commit", "--quiet", "-am", "v2: change template-owned files")
    git(template, "tag", "v2")


def fill_in_heartbeat(resource: str) -> str:
    """Return the rendered resource.py with Heartbeat implemented, as a user would."""
    skeleton = re.compile(r"    def heartbeat\(.*?(?=\n    def |\Z)", re.S)
    if not skeleton.search(resource):
        raise AssertionError("the blank resource has no heartbeat skeleton")
    filled = skeleton.sub(lambda _: HEARTBEAT, resource, count=1)
    return filled.replace(
        "from __future__ import annotations\n",
        "from __future__ import annotations\n\nfrom datetime import datetime, timezone\n",
        1,
    )


def render_v1_and_work_on_it(template: Path, project: Path) -> None:
    """Render template v1 into `project` and commit the user's work on top."""
    copier.run_copy(
        str(template),
        project,
        data=BENCH_POWER_LOCK,
        defaults=True,
        unsafe=True,
        vcs_ref="v1",
        quiet=True,
    )
    # The copy task made the project a git repository with the render committed.
    if git(project, "status", "--porcelain") or not git(project, "log", "--oneline"):
        raise AssertionError("the render was not committed by the copy task")
    resource = project / RESOURCE
    resource.write_text(fill_in_heartbeat(resource.read_text("utf-8")), "utf-8")
    (project / USER_TEST_PATH).write_text(USER_TEST, "utf-8")
    readme = (project / "README.md").read_text("utf-8")
    if DESCRIPTION not in readme:
        raise AssertionError("the rendered README does not start with the description")
    readme = readme.replace(DESCRIPTION, DESCRIPTION + "\n" + USER_NOTE, 1)
    (project / "README.md").write_text(readme, "utf-8")
    git(project, "add", "-A")
    git(project, "commit", "--quiet", "-m", "Heartbeat returns the server time")


def update_to_v2(project: Path) -> None:
    """Pull template v2 into the project, as `copier update --vcs-ref v2` does."""
    copier.run_update(project, defaults=True, overwrite=True, unsafe=True, vcs_ref="v2", quiet=True)


def prepare(project: Path) -> None:
    """Play the whole scenario: the user's project, updated to v2, ends up in `project`."""
    template = clone_template(project.parent)
    tag_two_versions(template)
    render_v1_and_work_on_it(template, project)
    update_to_v2(project)


# A user of this version grows the API: writes both RPCs, then adds Ping and
# removes SetLimits by `copier update`.
WRITTEN_METHODS = '''
    def heartbeat(self) -> datetime.datetime:
        """Answer Heartbeat with the server's clock."""
        return datetime.datetime.now(datetime.timezone.utc)

    def set_limits(
        self,
        *,
        voltage: float,
        channels: Sequence[int],
        per_pin: Mapping[str, float],
        enabled: bool,
        blob: bytes,
        hold: datetime.timedelta | None,
    ) -> tuple[str, Sequence[str]]:
        """Accept the limits and say what was set."""
        return f"{voltage} V on {len(channels)} channels", []
'''
GROWN_RPCS = [
    BENCH_POWER_LOCK["custom_rpcs"][0],  # Heartbeat, kept
    {"name": "Ping", "request": [], "response": ["bool ok"]},  # added
]


def prepare_grown(project: Path) -> None:
    """Render this version, write both RPCs, then add Ping and remove SetLimits by update."""
    template = clone_template(project.parent)
    copier.run_copy(
        str(template), project, data=BENCH_POWER_LOCK, defaults=True, unsafe=True, quiet=True
    )
    resource = project / RESOURCE
    source = resource.read_text("utf-8").replace(
        "from __future__ import annotations\n",
        "from __future__ import annotations\n\nimport datetime\n"
        "from collections.abc import Mapping, Sequence\n",
        1,
    )
    resource.write_text(source.rstrip("\n") + "\n" + WRITTEN_METHODS, "utf-8")
    git(project, "add", "-A")
    git(project, "commit", "--quiet", "-m", "Heartbeat and SetLimits written")
    copier.run_update(
        project,
        data={"custom_rpcs": GROWN_RPCS},
        defaults=True,
        overwrite=True,
        unsafe=True,
        quiet=True,
    )


# The presets 0.3.0 offered besides blank, each rendered at 0.3.0 as a user did,
# edited where 0.3 asked (a comment inside a method of resource.py), given a test
# of the user's own, then updated to the working tree with `copier update`, as
# on the command line.
@dataclass(frozen=True)
class PresetUpdate:
    """A 0.3 project of one preset and what the update must make of its resource.py."""

    preset: str
    package: str  # the server package
    resource_class: str
    # The 0.3 methods the update adapts, each with the keyword parameters of its 0.4
    # signature (for `open`, those after resource_key and resource_name).
    adapted: dict[str, tuple[str, ...]]
    edited_method: str  # the method the user's comment goes in
    edit_anchor: str  # the line of that method the comment goes above
    user_comment: str
    user_test_path: Path
    user_test: str
    user_test_id: str  # how pytest -v names the user's test

    @property
    def resource(self) -> Path:
        """The user-owned resource module."""
        return Path("server/src") / self.package / "resource.py"

    @property
    def base_class(self) -> str:
        """The template-owned base class of 0.4."""
        return self.resource_class.removesuffix("Resource") + "ResourceBase"

    @property
    def check(self) -> str:
        """The name of this update's scenario in tests/project_checks.py."""
        return f"{self.preset}_updated_from_0_3"


JSON_LOGGER_USER_TEST = '''"""Lab B: a record logged with its timestamp is one line."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from json_logger_client import JsonLoggerClient

from support import ServerProcess


def test_a_stamped_record_is_one_ndjson_line(server: ServerProcess, tmp_path: Path) -> None:
    path = tmp_path / "bench-3.ndjson"
    stamp = datetime(2026, 12, 1, 8, 30, 5, 250000, tzinfo=timezone.utc)
    with JsonLoggerClient(str(path), address=server.address) as session:
        session.log_measurement_data(
            measurement_name="dc_sweep",
            timestamp=stamp,
            measurement_configurations={"voltage": "1.5"},
            measurement_outputs={"current": "0.02"},
        )
    records = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    assert records == [
        {
            "timestamp": "2026-12-01 08:30:05",
            "measurement_name": "dc_sweep",
            "measurement_configurations": {"voltage": "1.5"},
            "measurement_outputs": {"current": "0.02"},
        }
    ]
'''

REGISTER_MAP_USER_TEST = '''"""Lab B: a register one plug-in writes, another reads."""

from __future__ import annotations

from pathlib import Path

from custom_instrument_client import CustomInstrumentClient

from support import ServerProcess


def test_a_register_reads_back_when_attached(server: ServerProcess, tmp_path: Path) -> None:
    register_map = tmp_path / "board.csv"
    register_map.write_text("name,default_value\\nGAIN,4\\nSTATUS,0\\n", "utf-8")
    with CustomInstrumentClient(
        "bench-3-board",
        address=server.address,
        protocol="i2c",
        register_map_path=str(register_map),
    ) as first:
        first.write_register(register_name="GAIN", value=0x2A)
        with CustomInstrumentClient("bench-3-board", address=server.address) as second:
            assert not second.new_session
            assert second.read_register(register_name="GAIN").value == 0x2A
            assert second.read_register(register_name="STATUS").value == 0
'''

PRESET_UPDATES: dict[str, PresetUpdate] = {
    "json_logger": PresetUpdate(
        preset="json_logger",
        package="json_logger_server",
        resource_class="JsonLoggerResource",
        adapted={
            "open": (),
            "log_measurement_data": (
                "measurement_name",
                "timestamp",
                "measurement_configurations",
                "measurement_outputs",
            ),
        },
        edited_method="log_measurement_data",
        edit_anchor='        self._append(line.encode("utf-8"))\n',
        user_comment="        # Lab B: one append per record, so a killed server loses none.\n",
        user_test_path=Path("tests/test_lab_b_records.py"),
        user_test=JSON_LOGGER_USER_TEST,
        user_test_id="test_lab_b_records.py::test_a_stamped_record_is_one_ndjson_line",
    ),
    "register_map": PresetUpdate(
        preset="register_map",
        package="custom_instrument_server",
        resource_class="CustomInstrumentResource",
        adapted={
            "open": ("protocol", "register_map_path"),
            "write_register": ("register_name", "value"),
            "read_register": ("register_name",),
            "write_gpio_channel": ("port", "channel", "state"),
            "read_gpio_channel": ("port", "channel"),
            "write_gpio_port": ("port", "value", "mask"),
            "read_gpio_port": ("port",),
        },
        edited_method="write_register",
        edit_anchor="        name = self._register(request.register_name)\n",
        user_comment="        # Lab B: register names are case-sensitive on this board.\n",
        user_test_path=Path("tests/test_lab_b_registers.py"),
        user_test=REGISTER_MAP_USER_TEST,
        user_test_id="test_lab_b_registers.py::test_a_register_reads_back_when_attached",
    ),
}


# What the preparation prints once the update is done, before the project's check.
PRESET_UPDATED = "updated the 0.3 project to the working tree"


def copier_cli(cwd: Path, *args: str) -> None:
    """Run the copier command line (this environment's Copier), failing with its output."""
    command = [sys.executable, "-m", "copier", *args]
    result = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, check=False, timeout=600
    )
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    print(result.stdout + result.stderr, flush=True)


def render_0_3_preset_and_work_on_it(
    template: Path, project: Path, scenario: PresetUpdate | CoreUpdate, commit: str = RELEASE_0_3
) -> None:
    """Render `scenario`'s preset at `commit` (the 0.3.0 release) and commit the user's work."""
    if git(template, "cat-file", "-t", commit, check=False).strip() != "commit":
        raise AssertionError(f"the template commit {commit} is not in the history")
    copier_cli(
        project.parent,
        "copy",
        "--trust",
        "--defaults",
        "--quiet",
        "--vcs-ref",
        commit,
        "--data",
        f"preset={scenario.preset}",
        str(template),
        str(project),
    )
    if git(project, "status", "--porcelain") or not git(project, "log", "--oneline"):
        raise AssertionError("the 0.3 render was not committed by its copy task")
    resource = project / scenario.resource
    source = resource.read_text("utf-8")
    if source.count(scenario.edit_anchor) != 1:
        raise AssertionError(f"the {commit[:7]} {scenario.preset} resource.py has no line to edit")
    source = source.replace(scenario.edit_anchor, scenario.user_comment + scenario.edit_anchor)
    resource.write_text(source, "utf-8")
    (project / scenario.user_test_path).write_text(scenario.user_test, "utf-8")
    git(project, "add", "-A")
    git(project, "commit", "--quiet", "-m", "Lab B's note and test")


def prepare_preset_update(preset: str) -> Callable[[Path], None]:
    """The preparation of a 0.3 `preset` project updated to the working tree."""
    scenario = PRESET_UPDATES[preset]

    def prepare(project: Path) -> None:
        template = clone_template(project.parent)
        render_0_3_preset_and_work_on_it(template, project, scenario)
        # The clone's HEAD is the working tree: what the next release will be.
        copier_cli(project, "update", "--trust", "--defaults", "--vcs-ref", "HEAD")
        print(PRESET_UPDATED, flush=True)

    return prepare


# The commit before session_service_core: up to it, every render carried the session
# machinery in its own packages (json_logger_server.errors, json_logger_client.stopping ...).
BEFORE_CORE = "54cf850fffc43198710ccfd240523becbbcee894"

# A test of the user's that imports three of the moved modules from their old places.
CORE_USER_TEST = '''\
"""Lab B: our refusals reach callers with their status; a stop keeps its first reason."""

from __future__ import annotations

import grpc

{imports}


def test_a_refusal_is_invalid_argument_with_its_message() -> None:
    code, message = status_for("Write", InvalidArgumentError("GAIN is not on board 3"), 1)
    assert (code, message) == (grpc.StatusCode.INVALID_ARGUMENT, "GAIN is not on board 3")


def test_a_stop_keeps_the_first_reason() -> None:
    stopper = Stopper()
    stopper.request("Lab B closes the bench")
    stopper.request("a later reason")
    assert stopper.requested and stopper.wait() == "Lab B closes the bench"
'''
# The same imports after the update, as the formatter orders them.
CORE_IMPORTS = (
    "from session_service_core.server.errors import InvalidArgumentError\n"
    "from session_service_core.server.status import status_for\n"
    "from session_service_core.stopping import Stopper"
)


@dataclass(frozen=True)
class CoreUpdate:
    """A project of one preset rendered before session_service_core, edited by its user."""

    preset: str
    package_stem: str
    edit_anchor: str  # the line of resource.py the user's comment goes above
    user_comment: str
    user_test_path = Path("tests/test_lab_b_core.py")

    @property
    def resource(self) -> Path:
        """The user-owned resource module."""
        return Path("server/src") / f"{self.package_stem}_server" / "resource.py"

    @property
    def user_test(self) -> str:
        """The user's test, importing moved modules from the render's packages."""
        server, client = f"{self.package_stem}_server", f"{self.package_stem}_client"
        return CORE_USER_TEST.format(
            imports=f"from {client}.stopping import Stopper\n"
            f"from {server}.errors import InvalidArgumentError\n"
            f"from {server}.status import status_for"
        )

    @property
    def updated_user_test(self) -> str:
        """The user's test once the update pointed its imports at the core."""
        return CORE_USER_TEST.format(imports=CORE_IMPORTS)

    @property
    def user_test_id(self) -> str:
        """How pytest -v names one of the user's tests."""
        return f"{self.user_test_path.name}::test_a_refusal_is_invalid_argument_with_its_message"

    @property
    def check(self) -> str:
        """The name of this update's scenario in tests/project_checks.py."""
        return f"{self.preset}_updated_from_before_core"


CORE_UPDATES: dict[str, CoreUpdate] = {
    update.preset: update
    for update in (
        CoreUpdate(
            "blank",
            "my_resource",
            "        return resource_name.strip()\n",
            "        # Lab B: bench names are typed by hand.\n",
        ),
        CoreUpdate(
            "json_logger",
            "json_logger",
            '        self._log.append(line.encode("utf-8"))\n',
            "        # Lab B: one append per record, so a killed server loses none.\n",
        ),
        CoreUpdate(
            "database",
            "results_database",
            "        self._database.close()\n",
            "        # Lab B: the nightly backup copies the file after this.\n",
        ),
        CoreUpdate(
            "register_map",
            "custom_instrument",
            '        self._registers[self._register(register_name)] = _in_range("value", value, '
            "REGISTER_MAX)\n",
            "        # Lab B: register names are case-sensitive on this board.\n",
        ),
        CoreUpdate(
            "visa_instrument",
            "visa_instrument",
            '        self._exchange("write to", lambda: '
            "self.instrument.write(_command(command)))\n",
            "        # Lab B: the DMM drops commands sent faster than 10 per second.\n",
        ),
    )
}
# What the preparation prints once the update is done, before the project's check.
CORE_UPDATED = "updated the project rendered before session_service_core to the working tree"


def prepare_core_update(preset: str) -> Callable[[Path], None]:
    """The preparation of a `preset` project made before the core, updated to the working tree."""
    scenario = CORE_UPDATES[preset]

    def prepare(project: Path) -> None:
        template = clone_template(project.parent)
        render_0_3_preset_and_work_on_it(template, project, scenario, BEFORE_CORE)
        copier_cli(project, "update", "--trust", "--defaults", "--vcs-ref", "HEAD")
        print(CORE_UPDATED, flush=True)

    return prepare
