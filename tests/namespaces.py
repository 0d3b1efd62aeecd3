"""Running one test again inside Linux namespaces of its own (`unshare`, as root): a PID
namespace lets a test choose a process's PID (to reuse one for real), a mount namespace lets it
mount a small tmpfs (to fill a disk for real) without touching the machine's mounts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

_INSIDE = "FLOWTUI_TEST_IN_NAMESPACE"

_INIT = """
import os, sys
child = os.fork()
if child == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
while True:  # PID 1 of a PID namespace: reap every orphan, as a real init does
    pid, status = os.wait()
    if pid == child:
        sys.exit(os.waitstatus_to_exitcode(status))
"""


def in_namespace() -> bool:
    """Whether this test runs inside the namespaces `rerun_in_namespace` made for it."""
    return os.environ.get(_INSIDE) == "1"


def rerun_in_namespace(node_id: str, *unshare: str) -> None:
    """Run the test `node_id` again with pytest inside new namespaces (`unshare` options),
    under an init that reaps orphans; it must pass there. Skips where namespaces cannot be
    made (not root, or a kernel that forbids them)."""
    command = ["unshare", *unshare]
    probe = subprocess.run([*command, "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"cannot make namespaces here: {probe.stderr.decode().strip()}")
    done = subprocess.run(
        [*command, sys.executable, "-c", _INIT, sys.executable, "-m", "pytest", "-q", node_id],
        env={**os.environ, _INSIDE: "1"},
        cwd=Path(__file__).parents[1],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout, done.stdout
