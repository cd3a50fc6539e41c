"""Pinned network namespaces across failed starts, and tty execs under the builtin runtime."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.integration.conftest import docker
from tests.support.daemon import DaemonProc


def _pinned(d: DaemonProc) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if f"{d.tmp}/exec/netns/" in line.split()[4]]


def test_failed_start_leaves_no_pinned_namespace(dw_daemon: DaemonProc, busybox_image: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    name = f"dwns-{uuid.uuid4().hex[:8]}"
    docker(dw_daemon, "create", "--name", name, "-v", f"{src}:/x", "busybox", "true")
    src.rmdir()
    r = docker(dw_daemon, "start", name, check=False)
    assert r.returncode != 0
    assert _pinned(dw_daemon) == []
    src.mkdir()
    docker(dw_daemon, "start", "-a", name)  # the same container starts once the bind source is back
    docker(dw_daemon, "rm", "-f", name)
    assert _pinned(dw_daemon) == []


def test_tty_exec_then_plain_exec_builtin(dw_daemon: DaemonProc, busybox_image: str) -> None:
    name = f"dwex-{uuid.uuid4().hex[:8]}"
    docker(dw_daemon, "run", "-d", "--name", name, "--runtime", "dockwright", "busybox", "sleep", "60")
    try:
        docker(dw_daemon, "exec", "-t", name, "echo", "tty")
        r = docker(dw_daemon, "exec", name, "ps", "-o", "pid,args")
        assert "python" not in r.stdout and "runtime" not in r.stdout, r.stdout
        assert docker(dw_daemon, "exec", name, "sh", "-c", "exit 4", check=False).returncode == 4
    finally:
        docker(dw_daemon, "rm", "-f", name)
