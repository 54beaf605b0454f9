"""A user's project across a template release, as tests/test_update.py checks it.

The template is cloned into a scratch git repository with the working tree's
changes committed (so the commit a render records exists when updating). v1 is
the 0.3.0 release; v2 is the working tree plus a change to two template-owned
files (sessions.py and the project README). A new user renders v1 as the Bench
Power Lock service (AcquireLock/ReleaseLock and a Heartbeat RPC), commits, fills
in Heartbeat in resource.py as 0.3 asked (a method taking the request message),
adds a test of their own, notes something in the README, commits, and updates
to v2, whose resource methods take keyword arguments: the update's task adapts
resource.py without changing the user's code.
"""

from __future__ import annotations

import re
import shutil
import subprocess
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

# What template v2 changes in template-owned files.
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
    sessions = template / "template/server/src/{{ server_package }}/sessions.py"
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
