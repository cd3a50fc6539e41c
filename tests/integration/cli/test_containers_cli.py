"""``dockwright`` container commands end to end against a real daemon (ours by default).

Every container gets a unique name and is removed at the end of its test, so the
tests can share a daemon (and run against a real dockerd with
``DOCKWRIGHT_TEST_AGAINST``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.integration.cli.conftest import DW
from tests.integration.cli.test_cli import dw


def uniq(prefix: str = "dwc") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def names(dw_daemon: Any) -> Iterator[list[str]]:
    """Container names a test creates; force-removed afterwards whatever happened."""
    created: list[str] = []
    yield created
    if created:
        subprocess.run([*DW, "rm", "-f", *created], capture_output=True, env=dw_daemon.env, timeout=60)


def until(cond: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return False


def test_run_rm_output_and_exit_codes(dw_daemon: Any, busybox_image: str, names: list[str]) -> None:
    a, b, c = uniq(), uniq(), uniq()
    names += [a, b, c]
    r = dw(dw_daemon, "run", "--rm", "--name", a, busybox_image, "echo", "hello", "world")
    assert r.stdout == "hello world\n" and r.stderr == ""
    r = dw(dw_daemon, "run", "--rm", "--name", b, busybox_image, "sh", "-c", "echo out; echo err >&2; exit 3",
           check=False)
    assert (r.returncode, r.stdout, r.stderr) == (3, "out\n", "err\n")
    r = dw(dw_daemon, "run", "--rm", "--name", c, busybox_image, "no-such-cmd", check=False)
    assert r.returncode == 127, r.stderr
    assert r.stderr.startswith("dockwright: Error response from daemon: ")
    assert 'exec: "no-such-cmd": executable file not found in $PATH' in r.stderr
    assert r.stderr.endswith("\n\nRun 'dockwright run --help' for more information\n")
    r = dw(dw_daemon, "run", "-i", "--rm", busybox_image, "sh", "-c", "cat; echo end", input=b"piped\nlines\n")
    assert r.stdout == "piped\nlines\nend\n"
    assert until(lambda: not dw(dw_daemon, "ps", "-aq", "--filter", f"name={a}").stdout.strip())
    missing = "127.0.0.1:9/no-such-image-" + uuid.uuid4().hex[:6]  # a registry that refuses at once
    r = dw(dw_daemon, "run", "--rm", missing, check=False)
    assert r.returncode == 125
    assert r.stderr.startswith(f"Unable to find image '{missing}:latest' locally\n"  # then the pull fails
                               "dockwright: Error response from daemon: "), r.stderr
    r = dw(dw_daemon, "run", "--rm", "--pull", "never", missing, check=False)
    assert r.returncode == 125 and "No such image" in r.stderr and "Unable to find" not in r.stderr


def test_detached_logs_exec_stop_rm(dw_daemon: Any, busybox_image: str, names: list[str]) -> None:
    name = uniq()
    names.append(name)
    script = 'echo "$GREETING"; sleep 0.2; echo oops >&2; trap "exit 0" TERM; while true; do sleep 0.1; done'
    cid = dw(dw_daemon, "run", "-d", "--name", name, "-e", "GREETING=hi there", busybox_image, "sh", "-c",
             script).stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    assert until(lambda: (lambda r: (r.stdout, r.stderr))(dw(dw_daemon, "logs", name)) == ("hi there\n", "oops\n"))
    logs = dw(dw_daemon, "logs", "-n", "1", name)
    assert (logs.stdout, logs.stderr) == ("", "oops\n")  # the last line is the stderr one
    assert re.match(r"\d{4}-\d\d-\d\dT[\d:.]+Z hi there\n", dw(dw_daemon, "logs", "-t", name).stdout)
    assert dw(dw_daemon, "exec", name, "sh", "-c", "echo in $PWD").stdout == "in /\n"
    r = dw(dw_daemon, "exec", "-w", "/tmp", "-e", "X=1", name, "sh", "-c", "echo $PWD $X; exit 4", check=False)
    assert (r.returncode, r.stdout) == (4, "/tmp 1\n")
    assert dw(dw_daemon, "exec", "-i", name, "cat", input=b"to exec\n").stdout == "to exec\n"
    assert dw(dw_daemon, "container", "stop", "-t", "5", name).stdout == f"{name}\n"
    state = json.loads(dw(dw_daemon, "container", "inspect", "--format", "{{json .State}}", name).stdout)
    assert state["Running"] is False and state["ExitCode"] == 0
    assert dw(dw_daemon, "rm", name).stdout == f"{name}\n"
    r = dw(dw_daemon, "rm", name, check=False)
    assert r.returncode == 1 and r.stderr == f"Error response from daemon: No such container: {name}\n"


def test_ps_formats(dw_daemon: Any, busybox_image: str, names: list[str]) -> None:
    name = uniq()
    names.append(name)
    cid = dw(dw_daemon, "create", "--name", name, "-l", "team=cli", busybox_image, "sh", "-c",
             "echo a long command line here").stdout.strip()
    lines = dw(dw_daemon, "ps", "-a", "--filter", f"name={name}").stdout.splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS",
                                             "NAMES"]
    assert len(lines) == 2
    assert lines[1].startswith(cid[:12] + "   " + busybox_image.split(":")[0])
    assert '"sh -c ' in lines[1] and '…"' in lines[1]
    assert lines[1].endswith(f"Created             {name}")
    assert dw(dw_daemon, "ps", "--filter", f"name={name}").stdout.splitlines()[1:] == []  # not running
    assert dw(dw_daemon, "ps", "-aq", "--filter", f"name={name}").stdout == cid[:12] + "\n"
    assert dw(dw_daemon, "container", "ls", "-a", "-q", "--no-trunc", "--filter", f"name={name}").stdout == cid + "\n"
    fmt = dw(dw_daemon, "ps", "-a", "--filter", "label=team=cli", "--filter", f"name={name}", "--format",
             "{{.Names}}|{{.State}}|{{.Labels}}|{{.Command}}").stdout
    assert fmt.startswith(f"{name}|created|team=cli|\"sh -c ")
    row = json.loads(dw(dw_daemon, "ps", "-a", "--filter", f"name={name}", "--format", "json").stdout)
    assert row["ID"] == cid[:12] and row["Names"] == name and row["State"] == "created"
    assert dw(dw_daemon, "ps", "-a", "--filter", f"name={name}", "--format", "table {{.ID}}\\t{{.Size}}"
              ).stdout.splitlines()[1].startswith(cid[:12] + "   ")


def test_wait_rename_pause_unpause(dw_daemon: Any, busybox_image: str, names: list[str]) -> None:
    name, new = uniq(), uniq()
    names += [name, new]
    dw(dw_daemon, "run", "-d", "--name", name, busybox_image, "sleep", "300")
    assert dw(dw_daemon, "rename", name, new).stdout == ""
    assert dw(dw_daemon, "pause", new).stdout == f"{new}\n"
    status = dw(dw_daemon, "ps", "--filter", f"name={new}", "--format", "{{.Status}}").stdout
    assert status.strip().endswith("(Paused)"), status
    assert dw(dw_daemon, "unpause", new).stdout == f"{new}\n"
    assert "Paused" not in dw(dw_daemon, "ps", "--filter", f"name={new}", "--format", "{{.Status}}").stdout
    waiter = subprocess.Popen([*DW, "wait", new], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=dw_daemon.env)
    try:
        time.sleep(0.3)
        assert waiter.poll() is None
        assert dw(dw_daemon, "kill", new).stdout == f"{new}\n"
        out, err = waiter.communicate(timeout=20)
    finally:
        if waiter.poll() is None:
            waiter.kill()
            waiter.wait()
    assert (out, err, waiter.returncode) == (b"137\n", b"", 0)
    r = dw(dw_daemon, "rename", name, uniq(), check=False)
    assert r.returncode == 1 and r.stderr.endswith(f"Error: failed to rename container named {name}\n")


def test_start_attach_and_restart(dw_daemon: Any, busybox_image: str, names: list[str]) -> None:
    name = uniq()
    names.append(name)
    dw(dw_daemon, "create", "--name", name, busybox_image, "sh", "-c", "echo run; exit 5")
    r = dw(dw_daemon, "start", "-a", name, check=False)
    assert (r.returncode, r.stdout) == (5, "run\n")
    assert dw(dw_daemon, "start", name).stdout == f"{name}\n"
    assert dw(dw_daemon, "wait", name).stdout == "5\n"
    assert dw(dw_daemon, "logs", name).stdout == "run\nrun\n"


def test_container_prune(dw_daemon: Any, busybox_image: str, names: list[str]) -> None:
    label = f"dwc.prune={uuid.uuid4().hex[:8]}"
    ids = []
    for _ in range(2):
        n = uniq()
        names.append(n)
        ids.append(dw(dw_daemon, "create", "--name", n, "-l", label, busybox_image, "true").stdout.strip())
    keep = uniq()
    names.append(keep)
    dw(dw_daemon, "run", "-d", "--name", keep, "-l", label, busybox_image, "sleep", "300")
    out = dw(dw_daemon, "container", "prune", "-f", "--filter", f"label={label}").stdout
    assert out.startswith("Deleted Containers:\n")
    assert sorted(out.splitlines()[1:3]) == sorted(ids)
    assert out.endswith("\nTotal reclaimed space: 0B\n") or "Total reclaimed space: " in out.splitlines()[-1]
    left = dw(dw_daemon, "ps", "-aq", "--no-trunc", "--filter", f"label={label}").stdout.split()
    assert len(left) == 1 and left[0] not in ids
    r = dw(dw_daemon, "container", "prune", "--filter", f"label={label}", input=b"n\n")
    assert r.stdout.startswith("WARNING! This will remove all stopped containers.")
    assert "Total reclaimed space" not in r.stdout


needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


class Tmux:
    """A detached tmux session running ``cmd`` on a terminal of ``width`` x ``height``; killed on exit."""

    def __init__(self, cmd: str, width: int, height: int) -> None:
        self.session = uniq("dwc-tmux")
        self.cmd, self.width, self.height = cmd, width, height

    def __enter__(self) -> Tmux:
        subprocess.run(["tmux", "new-session", "-d", "-s", self.session, "-x", str(self.width),
                        "-y", str(self.height), self.cmd], check=True)
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.session], capture_output=True)

    def pane(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.session], capture_output=True,
                              text=True).stdout

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.session, *keys], check=True)

    def resize(self, width: int, height: int) -> None:
        subprocess.run(["tmux", "resize-window", "-t", self.session, "-x", str(width), "-y", str(height)],
                       check=True)


def dw_shell(d: Any) -> str:
    """How a shell inside tmux runs our CLI against ``d``."""
    return f"env DOCKWRIGHT_HOST={d.env['DOCKWRIGHT_HOST']} {' '.join(DW)}"


@needs_tmux
def test_run_interactive_tty_in_tmux(dw_daemon: Any, busybox_image: str, names: list[str]) -> None:
    name = uniq()
    names.append(name)
    cmd = f"{dw_shell(dw_daemon)} run -it --rm --name {name} {busybox_image} sh; echo EXIT=$?; sleep 60"
    with Tmux(cmd, 100, 30) as t:
        assert until(lambda: "/ #" in t.pane(), 20), t.pane()
        time.sleep(0.3)
        t.keys("stty size; echo $TERM; tty", "Enter")
        assert until(lambda: "30 100" in t.pane() and "/dev/pts/0" in t.pane()), t.pane()
        t.resize(120, 40)
        time.sleep(0.3)
        t.keys("stty size", "Enter")
        assert until(lambda: "40 120" in t.pane()), t.pane()
        t.keys("exit 6", "Enter")
        assert until(lambda: "EXIT=6" in t.pane()), t.pane()


@needs_tmux
def test_exec_interactive_tty_in_tmux(dw_daemon: Any, busybox_image: str, names: list[str]) -> None:
    name = uniq()
    names.append(name)
    dw(dw_daemon, "run", "-d", "--name", name, busybox_image, "sleep", "300")
    with Tmux(f"{dw_shell(dw_daemon)} exec -it {name} sh; echo EXIT=$?; sleep 60", 90, 25) as t:
        assert until(lambda: "/ #" in t.pane(), 20), t.pane()
        time.sleep(0.5)  # the size follows the start (the daemon does not apply ExecStartConfig.ConsoleSize)
        t.keys("stty size; exit 3", "Enter")
        assert until(lambda: "EXIT=3" in t.pane()), t.pane()
        assert "25 90" in t.pane()


@needs_tmux
def test_detach_keys_then_attach(dw_daemon: Any, busybox_image: str, names: list[str]) -> None:
    name = uniq()
    names.append(name)
    prefix = dw_shell(dw_daemon)
    cmd = (f"{prefix} run -it --name {name} {busybox_image} sh; echo RUN=$?; "
           f"{prefix} attach {name}; echo ATTACH=$?; sleep 60")
    with Tmux(cmd, 100, 30) as t:
        assert until(lambda: "/ #" in t.pane(), 20), t.pane()
        t.keys("C-p", "C-q")
        assert until(lambda: "RUN=0" in t.pane()), t.pane()
        assert dw(dw_daemon, "ps", "--filter", f"name={name}", "--format", "{{.State}}").stdout == "running\n"
        time.sleep(0.5)
        t.keys("echo attached; exit 7", "Enter")
        assert until(lambda: "ATTACH=7" in t.pane()), t.pane()
        assert "attached" in t.pane()
