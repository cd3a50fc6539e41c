"""OCI runtime conformance: the same bundle under the builtin runtime, runc and crun.

Every case builds a bundle (the busybox rootfs plus a spec from
``dockwright.runtime.spec``) and runs it with each runtime's CLI. The values
checked are Docker's defaults as /work/shared/security/CHECKLIST.md records them
from dockerd + runc on this machine. Teardown asserts nothing is left behind:
no state directory, no cgroup directory, no host mount under the bundle, no
process of the container.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dockwright.runtime import spec as S
from dockwright.runtime.cgroups import Cgroup
from tests.support.busybox import make_rootfs_dir
from tests.unit.runtime.oci_schema import validate

pytestmark = [
    pytest.mark.needs_root,
    pytest.mark.skipif(os.geteuid() != 0, reason="OCI runtimes need root"),
    pytest.mark.skipif(not Path("/bin/busybox").exists(), reason="busybox-static is not installed"),
]

DOCKER_CAPS = "00000000a80425fb"
PROBES = Path("/work/shared/security/probes.sh")
CG_PARENT = f"dockwright-conformance-{os.getpid()}"
# create hands its stdio to the container: pipes we wait on would stay open while it runs
QUIET: dict[str, Any] = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}


@dataclass
class Runtime:
    name: str
    argv: list[str]
    root: Path

    def cmd(self, *args: str) -> list[str]:
        return [*self.argv, "--root", str(self.root), *args]


def _builtin_argv() -> list[str]:
    return [sys.executable, "-m", "dockwright", "runtime"]


_PROBED: dict[str, str | None] = {}


def _usable(name: str, argv: list[str], rootfs: Path, tmp: Path) -> str | None:
    """None when the runtime can run a trivial container here, else why not."""
    if name in _PROBED:
        return _PROBED[name]
    if shutil.which(argv[0]) is None:
        _PROBED[name] = f"{argv[0]} is not installed"
        return _PROBED[name]
    b = tmp / f"probe-{name}"
    b.mkdir()
    cid = f"probe-{name}-{uuid.uuid4().hex[:8]}"
    spec = S.build_spec(
        cid, S.with_process(["true"]), S.with_rootfs(rootfs), S.with_cgroups_path(f"/{CG_PARENT}/{cid}")
    )
    (b / "config.json").write_text(json.dumps(spec))
    r = subprocess.run(
        [*argv, "--root", str(tmp / f"probe-root-{name}"), "run", "--bundle", str(b), cid],
        capture_output=True,
        text=True,
        timeout=60,
    )
    _PROBED[name] = (
        None
        if r.returncode == 0
        else f"{name} cannot run containers on this host: " + (r.stderr.strip().splitlines() or ["?"])[-1]
    )
    return _PROBED[name]


@pytest.fixture(scope="module", autouse=True)
def _cgroup_parent() -> Iterator[None]:
    """The parent cgroup of every container here goes at the end, and must be empty by then."""
    yield
    Cgroup.for_path(f"/{CG_PARENT}").destroy(timeout=5)
    # runc also makes the parent in the name=systemd and (hybrid) unified hierarchies
    with open("/proc/self/mountinfo") as f:
        mnts = [line.split()[4] for line in f if line.split(" - ")[1].split()[0] in ("cgroup", "cgroup2")]
    for mnt in mnts:
        parent = os.path.join(mnt, CG_PARENT)
        if os.path.isdir(parent):
            # a runtime that lost a race with a kill may leave an empty child (seen once with crun
            # under a loaded CI run): remove it too, so nothing of ours stays on the host
            for child in os.listdir(parent):
                if child.startswith("ct-") and os.path.isdir(os.path.join(parent, child)):
                    os.rmdir(os.path.join(parent, child))
            os.rmdir(parent)


def _not_found(stderr: str) -> bool:
    """runc: exec: "x": executable file not found in $PATH; crun: executable file `x` not found in $PATH."""
    return "executable file not found in $PATH" in stderr or bool(re.search(r"file `[^`]*` not found", stderr))


@pytest.fixture(scope="module")
def rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_rootfs_dir(tmp_path_factory.mktemp("rt-rootfs") / "rootfs")


@pytest.fixture(params=["builtin", "runc", "crun"])
def runtime(request: pytest.FixtureRequest, rootfs: Path, tmp_path: Path) -> Iterator[Runtime]:
    name = request.param
    argv = _builtin_argv() if name == "builtin" else [name]
    why = _usable(name, argv, rootfs, tmp_path)
    if why:
        pytest.skip(why)
    rt = Runtime(name, argv, tmp_path / f"state-{name}")
    yield rt
    left = [p.name for p in rt.root.iterdir() if p.name != ".seccomp-cache"] if rt.root.exists() else []
    assert left == [], f"{name} left state behind: {left}"


class Bundle:
    """One container's bundle; ``leftovers()`` lists what survived its deletion."""

    def __init__(self, rt: Runtime, rootfs: Path, base: Path, *opts: S.SpecOpt) -> None:
        self.rt = rt
        self.id = f"ct-{rt.name}-{uuid.uuid4().hex[:10]}"
        self.dir = base / self.id
        self.dir.mkdir()
        self.cgroups_path = f"/{CG_PARENT}/{self.id}"
        self.spec = S.build_spec(self.id, S.with_rootfs(rootfs), S.with_cgroups_path(self.cgroups_path), *opts)
        (self.dir / "config.json").write_text(json.dumps(self.spec))

    def run(self, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.rt.cmd("run", "--bundle", str(self.dir), self.id),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
        )

    def call(self, *args: str, check: bool = True, **kw: Any) -> subprocess.CompletedProcess[str]:
        if "stdout" not in kw:
            kw["capture_output"] = True
        r = subprocess.run(self.rt.cmd(*args), text=True, timeout=60, **kw)
        if check and r.returncode != 0:
            raise AssertionError(f"{self.rt.name} {' '.join(args)} failed ({r.returncode}): {r.stderr}")
        return r

    def state(self) -> dict[str, Any]:
        st: dict[str, Any] = json.loads(self.call("state", self.id).stdout)
        return st

    def leftovers(self) -> list[str]:
        out = []
        cg = Cgroup.for_path(self.cgroups_path)
        out += [f"cgroup {d}" for d in cg.dirs.values() if os.path.isdir(d)]
        with open("/proc/self/mountinfo") as f:
            out += [f"mount {line.split()[4]}" for line in f if str(self.dir) in line.split()[4]]
        if (self.rt.root / self.id).exists():
            out.append("state dir")
        return out


@pytest.fixture
def bundle(runtime: Runtime, rootfs: Path, tmp_path: Path) -> Iterator[Any]:
    made: list[Bundle] = []

    def make(*opts: S.SpecOpt) -> Bundle:
        b = Bundle(runtime, rootfs, tmp_path, *opts)
        made.append(b)
        return b

    yield make
    for b in made:
        subprocess.run(runtime.cmd("delete", "--force", b.id), capture_output=True, timeout=60)
        assert b.leftovers() == [], f"{runtime.name} left {b.leftovers()} for {b.id}"


_libc = ctypes.CDLL(None, use_errno=True)


@pytest.fixture
def subreaper() -> Iterator[None]:
    """Make this process the reaper of orphaned inits (what the container monitor is in the engine)."""
    _libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    yield
    _libc.prctl(36, 0, 0, 0, 0)
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break


def _status(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        k, _, v = line.partition(":")
        out[k.strip()] = v.strip()
    return out


def _wait_exit(pid: int, timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        wpid, status = os.waitpid(pid, os.WNOHANG)
        if wpid == pid:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    raise AssertionError(f"pid {pid} did not exit")


# --- cases ------------------------------------------------------------------------------------------


def test_exit_code_and_stdout(bundle: Any) -> None:
    r = bundle(S.with_process(["sh", "-c", "echo hello; echo oops >&2; exit 7"])).run()
    assert (r.returncode, r.stdout) == (7, "hello\n")
    assert "oops" in r.stderr


def test_docker_default_security(bundle: Any) -> None:
    r = bundle(S.with_process(["cat", "/proc/self/status"])).run()
    assert r.returncode == 0, r.stderr
    st = _status(r.stdout)
    got = {k: st[k] for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp")}
    assert got == {
        "CapInh": "0000000000000000",
        "CapPrm": DOCKER_CAPS,
        "CapEff": DOCKER_CAPS,
        "CapBnd": DOCKER_CAPS,
        "CapAmb": "0000000000000000",
        "NoNewPrivs": "0",
        "Seccomp": "2",
    }


def test_no_new_privileges_and_cap_drop(bundle: Any) -> None:
    r = bundle(
        S.with_process(["cat", "/proc/self/status"]), S.with_no_new_privileges(), S.with_caps(drop=["ALL"])
    ).run()
    st = _status(r.stdout)
    assert (st["NoNewPrivs"], st["CapEff"], st["CapBnd"], st["Seccomp"]) == ("1", "0" * 16, "0" * 16, "2")


def test_hostname_and_user(bundle: Any) -> None:
    r = bundle(
        S.with_process(
            ["sh", "-c", "hostname; id -u; id -g; id -G; grep CapEff /proc/self/status"], user=(1000, 1000, [1000, 10])
        ),
        S.with_hostname("conformance-host"),
    ).run()
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split("\n")
    assert lines[:3] == ["conformance-host", "1000", "1000"]
    assert sorted(lines[3].split()) == ["10", "1000"]
    assert lines[4].split() == ["CapEff:", "0" * 16]


def test_pid_namespace_shows_only_the_container(bundle: Any) -> None:
    r = bundle(S.with_process(["ps", "-o", "pid"])).run()
    assert r.stdout.split() == ["PID", "1"]


@pytest.mark.parametrize(
    "script",
    [
        ": >> /proc/sys/kernel/hostname",
        "test $(head -c 16 /proc/kcore 2>/dev/null | wc -c) -gt 0",
        "test $(head -c 16 /proc/keys | wc -c) -gt 0",
        "mkdir -p /tmp/m && mount -t tmpfs none /tmp/m",
        "mknod /tmp/mem c 1 1 && head -c 1 /tmp/mem",
        "unshare -m true",
        "hostname foo",
    ],
)
def test_refused(bundle: Any, script: str) -> None:
    r = bundle(S.with_process(["sh", "-c", script])).run()
    assert r.returncode != 0, f"allowed: {script}"


@pytest.mark.skipif(not PROBES.exists(), reason="the shared security probes are not available")
def test_security_probes_match_docker(bundle: Any) -> None:
    st = os.stat("/")
    env = [f"HOSTDEV={os.major(st.st_dev)} {os.minor(st.st_dev)}"]
    b = bundle(S.with_process(["sh", "-c", PROBES.read_text()], env=env))
    r = b.run()
    assert "probes=done" in r.stdout, r.stderr
    got = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
    for key in ("mask:/proc/keys", "mask:/proc/timer_list"):
        assert got[key] in ("absent", "file:bytes=0:dev=1:3"), key
    for key in ("mask:/proc/acpi", "mask:/sys/firmware"):
        assert got[key] in ("absent", "dir:entries=0"), key
    for p in ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/sys"):
        # crun 1.8 remounts the read-only paths with "ro" alone (what `docker run --runtime crun` shows too)
        want = "ro," if b.rt.name == "crun" and p != "/sys" else "ro,nosuid,nodev,noexec"
        assert got[f"mnt:{p}"].startswith(want), p
    assert got["mnt:/dev"] == "rw,nosuid"
    assert got["mnt:/dev/shm"].startswith("rw,nosuid,nodev,noexec")
    allowed = {"chroot", "raw_socket", "chown_any"}
    for k, v in got.items():
        if k.startswith("try:"):
            assert v == ("ALLOWED" if k[4:] in allowed else "denied"), k
    dev = got["dev"].removeprefix("core,") if b.rt.name == "crun" else got["dev"]  # crun adds /dev/core -> kcore
    assert dev == "fd,full,mqueue,null,ptmx,pts,random,shm,stderr,stdin,stdout,tty,urandom,zero,"
    assert got["netdevs"] == "lo,"
    assert got["pid1_comm"] == "sh"


def test_memory_limit_visible(bundle: Any) -> None:
    r = bundle(
        S.with_process(["cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]), S.with_resources(memory=64 << 20)
    ).run()
    assert r.stdout.strip() == str(64 << 20)


def test_pids_limit_stops_fork_loop(bundle: Any) -> None:
    # busybox sh gives up at the first failed fork: loop in a child shell, then count with builtins only
    script = (
        "sh -c 'i=0; while [ $i -lt 40 ]; do sleep 30 & i=$((i+1)); done' 2>/dev/null; "
        "read m < /sys/fs/cgroup/pids/pids.max; set -- /proc/[0-9]*; echo $m $#"
    )
    r = bundle(S.with_process(["sh", "-c", script]), S.with_resources(pids_limit=20)).run()
    limit, procs = r.stdout.split()
    assert limit == "20"
    assert int(procs) <= 20


def test_lifecycle_create_start_kill_delete(bundle: Any, subreaper: None) -> None:
    b = bundle(S.with_process(["sleep", "60"]))
    pid_file = b.dir / "init.pid"
    b.call("create", "--bundle", str(b.dir), "--pid-file", str(pid_file), b.id, **QUIET)
    pid = int(pid_file.read_text())
    st = b.state()
    validate(st, "state-schema.json")
    assert (st["status"], st["pid"], st["id"]) == ("created", pid, b.id)
    b.call("start", b.id)
    st = b.state()
    validate(st, "state-schema.json")
    assert st["status"] == "running"
    assert b.call("start", b.id, check=False).returncode != 0
    assert b.call("delete", b.id, check=False).returncode != 0  # running, no --force
    b.call("kill", b.id, "KILL")
    assert _wait_exit(pid) == -9
    st = b.state()
    validate(st, "state-schema.json")
    assert st["status"] == "stopped"
    b.call("delete", b.id)
    assert b.leftovers() == []
    assert b.call("state", b.id, check=False).returncode != 0


def test_exit_status_after_start(bundle: Any, subreaper: None) -> None:
    b = bundle(S.with_process(["sh", "-c", "exit 42"]))
    pid_file = b.dir / "init.pid"
    b.call("create", "--bundle", str(b.dir), "--pid-file", str(pid_file), b.id, **QUIET)
    b.call("start", b.id)
    assert _wait_exit(int(pid_file.read_text())) == 42
    b.call("delete", b.id)


def test_delete_created_container(bundle: Any, subreaper: None) -> None:
    b = bundle(S.with_process(["true"]))
    b.call("create", "--bundle", str(b.dir), b.id, **QUIET)
    b.call("delete", "--force", b.id)
    assert b.leftovers() == []


def test_exec_in_running_container(bundle: Any, subreaper: None) -> None:
    b = bundle(S.with_process(["sleep", "60"]), S.with_hostname("exec-host"))
    b.call("create", "--bundle", str(b.dir), b.id, **QUIET)
    b.call("start", b.id)
    proc = dict(b.spec["process"])
    proc["args"] = ["sh", "-c", "hostname; cat /proc/1/comm; grep CapEff /proc/self/status; exit 5"]
    (b.dir / "p.json").write_text(json.dumps(proc))
    r = b.call("exec", "--process", str(b.dir / "p.json"), b.id, check=False, stdin=subprocess.DEVNULL)
    assert r.returncode == 5, r.stderr
    lines = r.stdout.split("\n")
    assert lines[0] == "exec-host"
    assert lines[1] == "sleep"  # the exec joined the container's pid namespace
    assert lines[2].split() == ["CapEff:", DOCKER_CAPS]
    proc["args"] = ["no-such-binary"]
    (b.dir / "p.json").write_text(json.dumps(proc))
    r = b.call("exec", "--process", str(b.dir / "p.json"), b.id, check=False, stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert _not_found(r.stderr), r.stderr
    b.call("kill", b.id, "KILL")
    b.call("delete", "--force", b.id)


class ConsoleServer:
    """The caller's end of runc's console protocol: accept one connection, receive the pty master."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(str(path))
        self.srv.listen(1)
        self.srv.settimeout(30)

    def receive_master(self) -> int:
        conn, _ = self.srv.accept()
        with conn:
            _msg, fds, _flags, _addr = socket.recv_fds(conn, 4096, 1)
        assert len(fds) == 1
        return fds[0]

    def close(self) -> None:
        self.srv.close()


def _read_until(fd: int, marker: bytes, timeout: float = 10) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while marker not in out and time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out


def test_console_socket(bundle: Any, subreaper: None, tmp_path: Path) -> None:
    b = bundle(S.with_process(["sh", "-c", "tty; echo tty-ok"], terminal=True))
    cons = ConsoleServer(tmp_path / "console.sock")
    try:
        proc = subprocess.Popen(
            b.rt.cmd(
                "create",
                "--bundle",
                str(b.dir),
                "--console-socket",
                str(cons.path),
                "--pid-file",
                str(b.dir / "pid"),
                b.id,
            ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        master = cons.receive_master()
        assert proc.wait(30) == 0, proc.stderr.read() if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
        b.call("start", b.id)
        out = _read_until(master, b"tty-ok")
        os.close(master)
        assert b"/dev/pts/" in out and b"tty-ok" in out, out
        _wait_exit(int((b.dir / "pid").read_text()))
    finally:
        cons.close()
    b.call("delete", "--force", b.id)


def test_exec_with_console(bundle: Any, subreaper: None, tmp_path: Path) -> None:
    b = bundle(S.with_process(["sleep", "60"]))
    b.call("create", "--bundle", str(b.dir), b.id, **QUIET)
    b.call("start", b.id)
    proc = dict(b.spec["process"], terminal=True, args=["sh", "-c", "tty; echo exec-tty-ok"])
    (b.dir / "p.json").write_text(json.dumps(proc))
    cons = ConsoleServer(tmp_path / "exec-console.sock")
    try:
        p = subprocess.Popen(
            b.rt.cmd(
                "exec",
                "--process",
                str(b.dir / "p.json"),
                "--console-socket",
                str(cons.path),
                "--detach",
                "--pid-file",
                str(b.dir / "exec.pid"),
                b.id,
            ),
            **QUIET,
        )
        master = cons.receive_master()
        assert p.wait(30) == 0
        out = _read_until(master, b"exec-tty-ok")
        os.close(master)
        assert b"/dev/pts/" in out and b"exec-tty-ok" in out, out
        _wait_exit(int((b.dir / "exec.pid").read_text()))
    finally:
        cons.close()
    b.call("kill", b.id, "KILL")
    b.call("delete", "--force", b.id)


def test_pause_resume_and_stats(bundle: Any, subreaper: None) -> None:
    b = bundle(S.with_process(["sleep", "60"]), S.with_resources(memory=64 << 20, pids_limit=50))
    b.call("create", "--bundle", str(b.dir), b.id, **QUIET)
    b.call("start", b.id)
    cg = Cgroup.for_path(b.cgroups_path)
    s = cg.stats()
    assert s.pids_current >= 1 and s.pids_limit == 50
    assert s.memory_limit == 64 << 20 and s.memory_usage > 0
    assert s.cpu_usage_ns > 0
    assert not cg.oom_killed()
    b.call("pause", b.id)
    assert b.state()["status"] == "paused"
    b.call("resume", b.id)
    assert b.state()["status"] == "running"
    b.call("kill", b.id, "KILL")
    b.call("delete", "--force", b.id)


def test_update_pids_limit(bundle: Any, subreaper: None) -> None:
    b = bundle(S.with_process(["sleep", "60"]), S.with_resources(pids_limit=50))
    b.call("create", "--bundle", str(b.dir), b.id, **QUIET)
    b.call("start", b.id)
    b.call("update", "--resources", "-", b.id, input=json.dumps({"pids": {"limit": 33}}))
    assert Cgroup.for_path(b.cgroups_path).stats().pids_limit == 33
    b.call("kill", b.id, "KILL")
    b.call("delete", "--force", b.id)


def test_oom_kill_detected(bundle: Any, subreaper: None) -> None:
    b = bundle(
        S.with_process(["sh", "-c", "head -c 200m /dev/zero | tail"]),
        S.with_resources(memory=32 << 20, memory_swap=32 << 20),
    )
    pid_file = b.dir / "pid"
    b.call(
        "create",
        "--bundle",
        str(b.dir),
        "--pid-file",
        str(pid_file),
        b.id,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    b.call("start", b.id)
    code = _wait_exit(int(pid_file.read_text()), timeout=30)
    assert code != 0
    assert Cgroup.for_path(b.cgroups_path).oom_killed()
    b.call("delete", "--force", b.id)


def test_env_cwd_rlimits_sysctls(bundle: Any) -> None:
    r = bundle(
        S.with_process(
            ["sh", "-c", "pwd; echo $FOO; ulimit -n; cat /proc/sys/net/ipv4/ping_group_range"],
            env=["FOO=bar"],
            cwd="/tmp",
        ),
        S.with_ulimits([("nofile", 1024, 2048)]),
    ).run()
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:4] == ["/tmp", "bar", "1024", "0\t2147483647"]


def test_killed_by_signal_and_missing_binary(bundle: Any) -> None:
    # pid 1 ignores even SIGKILL from inside its namespace: a child shell is killed instead
    assert bundle(S.with_process(["sh", "-c", "sh -c 'kill -9 $$'; exit $?"])).run().returncode == 137
    r = bundle(S.with_process(["no-such-command"])).run()
    assert r.returncode != 0
    assert _not_found(r.stderr), r.stderr


def test_readonly_rootfs(bundle: Any, rootfs: Path) -> None:
    r = bundle(
        S.with_process(["sh", "-c", "touch /etc/x; echo $?; touch /dev/shm/ok && echo shm-ok"]),
        S.with_rootfs(rootfs, readonly=True),
    ).run()
    assert r.stdout.split() == ["1", "shm-ok"]


def test_only_stdio_is_inherited(bundle: Any) -> None:
    """CVE-2024-21626 class: a descriptor the caller leaks to the runtime never reaches the container."""
    b = bundle(S.with_process(["ls", "/proc/self/fd"]))
    leak_r, leak_w = os.pipe()
    try:
        os.set_inheritable(leak_r, True)
        r = subprocess.run(
            b.rt.cmd("run", "--bundle", str(b.dir), b.id),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
            pass_fds=(leak_r,),
        )
    finally:
        os.close(leak_r)
        os.close(leak_w)
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.split()) == ["0", "1", "2", "3"]  # 3: ls's own directory


def test_mount_onto_symlink_stays_inside(bundle: Any, rootfs: Path, tmp_path: Path) -> None:
    """CVE-2021-30465 class: a mount destination that is a symlink to a host path lands in the rootfs."""
    canary = tmp_path / "host-canary"
    canary.mkdir()
    link = rootfs / f"evil-{uuid.uuid4().hex[:8]}"
    os.symlink(str(canary), link)
    try:
        r = bundle(
            S.with_process(["sh", "-c", f"echo x > /{link.name}/f && echo written"]),
            S.with_mounts(
                [{"destination": f"/{link.name}", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"]}]
            ),
        ).run()
        # runc and we mount inside the rootfs; crun refuses the destination (openat2 RESOLVE_IN_ROOT): both safe
        assert "written" in r.stdout or ("crun" in r.args[0] and r.returncode != 0), r.stderr
        assert list(canary.iterdir()) == []
        with open("/proc/self/mountinfo") as f:
            assert str(canary) not in f.read()
    finally:
        os.unlink(link)
        shutil.rmtree(rootfs / canary.relative_to("/"), ignore_errors=True)
        for d in reversed(canary.relative_to("/").parents[:-1]):
            try:
                (rootfs / d).rmdir()
            except OSError:
                pass


def test_bind_mount_readonly(bundle: Any, tmp_path: Path) -> None:
    src = tmp_path / "vol"
    src.mkdir()
    (src / "hello").write_text("from-host\n")
    r = bundle(
        S.with_process(["sh", "-c", "cat /data/hello; touch /data/new; echo $?"]),
        S.with_mounts([S.bind_mount(str(src), "/data", readonly=True)]),
    ).run()
    assert r.stdout.split() == ["from-host", "1"]
    assert sorted(p.name for p in src.iterdir()) == ["hello"]


def test_features(runtime: Runtime) -> None:
    r = subprocess.run(runtime.cmd("features"), capture_output=True, text=True, timeout=60)
    if "unknown command" in r.stderr:
        pytest.skip(f"{runtime.name} is too old for `features` (runc 1.1.0, crun 1.9)")
    assert r.returncode == 0, r.stderr
    feats = json.loads(r.stdout)
    validate(feats, "features-schema.json")
    assert "CAP_SYS_ADMIN" in feats["linux"]["capabilities"]
    assert {"mount", "pid", "network"} <= set(feats["linux"]["namespaces"])


def test_privileged(bundle: Any) -> None:
    from dockwright.runtime.caps import bounding_mask

    r = bundle(
        S.with_process(
            [
                "sh",
                "-c",
                "grep -E 'CapEff|Seccomp:' /proc/self/status; mkdir -p /tmp/pm; "
                "mount -t tmpfs none /tmp/pm && echo mount-ok; test -c /dev/kmsg && echo kmsg",
            ]
        ),
        S.with_privileged(),
    ).run()
    assert r.returncode == 0, r.stderr
    st = _status(r.stdout)
    assert int(st["CapEff"], 16) == bounding_mask()
    assert st["Seccomp"] == "0"
    assert "mount-ok" in r.stdout and "kmsg" in r.stdout


def test_hooks(bundle: Any, subreaper: None, tmp_path: Path) -> None:
    out = tmp_path / "hooks"
    out.mkdir()

    def hook(kind: str) -> S.SpecOpt:
        # the state arrives on stdin; the prestart hook also sees the container's network namespace
        script = f"cat > {out}/{kind}.json; " + (
            f"readlink /proc/$(sed 's/.*\"pid\": *\\([0-9]*\\).*/\\1/' {out}/{kind}.json)/ns/net > {out}/netns; "
            f"readlink /proc/self/ns/pid > {out}/pidns"
            if kind == "prestart" else "true")
        return S.with_hook(kind, "/bin/sh", ["sh", "-c", script])

    b = bundle(S.with_process(["sleep", "60"]), hook("prestart"), hook("poststart"), hook("poststop"))
    b.call("create", "--bundle", str(b.dir), "--pid-file", str(b.dir / "pid"), b.id, **QUIET)
    pid = int((b.dir / "pid").read_text())
    pre = json.loads((out / "prestart.json").read_text())
    assert (pre["id"], pre["pid"]) == (b.id, pid)
    assert (out / "netns").read_text().strip() == os.readlink(f"/proc/{pid}/ns/net")
    assert os.readlink(f"/proc/{pid}/ns/net") != os.readlink("/proc/self/ns/net")
    assert (out / "pidns").read_text().strip() == os.readlink("/proc/self/ns/pid")  # hooks run on the host
    if b.rt.name == "builtin":  # runc 1.1 already runs poststart hooks at create
        assert not (out / "poststart.json").exists()
    b.call("start", b.id)
    assert json.loads((out / "poststart.json").read_text())["id"] == b.id
    b.call("kill", b.id, "KILL")
    _wait_exit(pid)
    b.call("delete", b.id)
    assert json.loads((out / "poststop.json").read_text())["id"] == b.id


def test_bind_mount_files_like_docker(bundle: Any, tmp_path: Path, rootfs: Path) -> None:
    """The daemon binds /etc/hostname, /etc/hosts and /etc/resolv.conf as files."""
    files = {}
    for name in ("hostname", "hosts", "resolv.conf"):
        f = tmp_path / name
        f.write_text(f"content of {name}\n")
        files[name] = f
    r = bundle(S.with_process(["cat", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf"]),
               S.with_mounts([S.bind_mount(str(f), f"/etc/{n}") for n, f in files.items()])).run()
    assert r.stdout == "content of hostname\ncontent of hosts\ncontent of resolv.conf\n", r.stderr
    for n in ("hosts", "resolv.conf"):  # mount points the runtime had to create in the rootfs
        p = rootfs / "etc" / n
        if p.exists() and p.stat().st_size == 0:
            p.unlink()


def test_preserve_fds(bundle: Any) -> None:
    """``--preserve-fds 1`` hands the caller's fd 3 to the container (socket activation)."""
    b = bundle(S.with_process(["sh", "-c", "echo through-fd3 >&3; ls /proc/self/fd"]))
    r, w = os.pipe()
    try:
        cmd = b.rt.cmd("run", "--preserve-fds", "1", "--bundle", str(b.dir), b.id)
        trampoline = ("import os, sys; fd = int(sys.argv[1]); os.dup2(fd, 3); os.close(fd); "
                      "os.execvp(sys.argv[2], sys.argv[2:])")
        res = subprocess.run([sys.executable, "-c", trampoline, str(w), *cmd], pass_fds=(w,),
                             capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
        os.close(w)
        w = -1
        assert res.returncode == 0, res.stderr
        assert os.read(r, 100) == b"through-fd3\n"
        assert sorted(res.stdout.split()) == ["0", "1", "2", "3", "4"]  # 4: ls's own directory
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


def test_umask(bundle: Any) -> None:
    b = bundle(S.with_process(["sh", "-c", "umask"]))
    assert b.run().stdout.strip() == "0022"
    spec = dict(b.spec)
    spec["process"] = dict(spec["process"], user=dict(spec["process"]["user"], umask=0o077))
    (b.dir / "config.json").write_text(json.dumps(spec))
    assert b.run().stdout.strip() == "0077"


@pytest.fixture
def public_dir() -> Iterator[Path]:
    """A directory every uid can traverse: a user-namespaced init must reach its rootfs and bundle."""
    import tempfile

    d = Path(tempfile.mkdtemp(prefix="dw-userns-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_user_namespace(runtime: Runtime, public_dir: Path, subreaper: None) -> None:
    rootfs = make_rootfs_dir(public_dir / "rootfs")
    b = Bundle(runtime, rootfs, public_dir, S.with_namespace("user"),
               S.with_process(["sh", "-c", "id -u; cat /proc/self/uid_map; grep CapEff /proc/self/status; "
                                           "stat -c %U /bin/busybox; sleep 60"]))
    b.dir.chmod(0o755)
    b.spec["linux"].pop("sysctl")  # ping_group_range names gids the namespace does not map
    b.spec["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]
    b.spec["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]
    (b.dir / "config.json").write_text(json.dumps(b.spec))
    out = public_dir / "out"
    with open(out, "w") as f:
        b.call("create", "--bundle", str(b.dir), "--pid-file", str(b.dir / "pid"), b.id, stdin=subprocess.DEVNULL,
               stdout=f, stderr=f)
    pid = int((b.dir / "pid").read_text())
    b.call("start", b.id)
    with open(f"/proc/{pid}/status") as st:
        uid_line = next(line for line in st if line.startswith("Uid:"))
    assert uid_line.split()[1] == "200000"  # container root is an unprivileged uid on the host
    proc = dict(b.spec["process"], args=["sh", "-c", "id -u; cat /proc/1/comm"])
    (b.dir / "p.json").write_text(json.dumps(proc))
    for _ in range(50):  # `start` may return before the init has exec'd (crun): its comm is the runtime's
        r = b.call("exec", "--process", str(b.dir / "p.json"), b.id, stdin=subprocess.DEVNULL)
        if r.stdout.split() == ["0", "sleep"]:
            break
        time.sleep(0.05)
    assert r.stdout.split() == ["0", "sleep"]
    b.call("kill", b.id, "KILL")
    _wait_exit(pid)
    b.call("delete", b.id)
    lines = out.read_text().split("\n")
    assert lines[0] == "0"
    assert lines[1].split() == ["0", "200000", "65536"]
    assert lines[2].split() == ["CapEff:", DOCKER_CAPS]
    assert lines[3] == "nobody"  # host root's files are unmapped
    assert b.leftovers() == []
