"""Start a real dockwright daemon on a temporary data root and socket, for tests and benchmarks."""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from pathlib import Path

from tests.support import subnets


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 10) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self._path)
        self.sock = s


def unix_request(sock: str, method: str, path: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None, timeout: float = 30) -> tuple[int, bytes]:
    conn = _UnixHTTPConnection(sock, timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def _die_with_parent() -> None:
    """A test daemon must not outlive a test run that was killed (its containers may: that is the point)."""
    import ctypes

    ctypes.CDLL(None).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG


@dataclass
class DaemonProc:
    tmp: Path
    data_root: Path
    socket: str
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path = field(default_factory=Path)
    extra_args: list[str] = field(default_factory=list)
    bridge: str = ""
    subnet: IPv4Network | None = None

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def env(self) -> dict[str, str]:
        e = dict(os.environ)
        e["DOCKER_HOST"] = self.host
        e["DOCKWRIGHT_HOST"] = self.host
        e.pop("DOCKER_CONTEXT", None)
        e["DOCKER_CONFIG"] = str(self.tmp / "docker-config")
        return e

    def start(self, timeout: float = 30) -> None:
        self.log_path = self.tmp / f"daemon-{int(time.time() * 1000)}.log"
        cmd = [sys.executable, "-m", "dockwright", "daemon", "--data-root", str(self.data_root),
               "-H", self.host, "--exec-root", str(self.tmp / "exec"), *self.extra_args]
        if self.bridge and "--bridge" not in self.extra_args:
            cmd += ["--bridge", self.bridge]
            if self.subnet is not None:
                cmd += ["--bip", f"{self.subnet.network_address + 1}/{self.subnet.prefixlen}"]
        with open(self.log_path, "ab") as logf:
            self.proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True,
                                         preexec_fn=_die_with_parent)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited with {self.proc.returncode}:\n{self.log()}")
            try:
                status, _ = unix_request(self.socket, "GET", "/_ping", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"daemon did not answer within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-5000:]
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        return rc

    def kill9(self) -> None:
        if self.proc is not None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        return unix_request(self.socket, method, path, body, headers)

    def kill_containers(self) -> None:
        """Whatever a failed test left running: containers (through their runtime) and monitors."""
        runtimes = {"runc": shutil.which("runc"), "crun": shutil.which("crun"),
                    "dockwright": f"{sys.executable} -m dockwright runtime"}
        rt_root = self.tmp / "exec" / "runtime"
        for d in rt_root.glob("*") if rt_root.exists() else []:
            binary = runtimes.get(d.name)
            if not binary:
                continue
            argv = binary.split()
            r = subprocess.run([*argv, "--root", str(d), "list", "-q"], capture_output=True, text=True)
            for cid in r.stdout.split():
                subprocess.run([*argv, "--root", str(d), "delete", "--force", cid], capture_output=True)
        for pidfile in (self.tmp / "exec" / "containers").glob("*/monitor.pid"):
            try:
                os.kill(int(pidfile.read_text()), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        from dockwright.network import portproxy

        portproxy.stop_stale(str(self.tmp / "exec"), keep=set())  # published ports' proxies

    def cleanup(self) -> None:
        self.stop()
        self.kill_containers()
        if self.bridge:
            from dockwright.network import firewall

            subprocess.run(["ip", "link", "delete", self.bridge], capture_output=True)
            firewall.remove_intra_bridge(self.bridge)
        if self.subnet is not None:
            subnets.release(self.subnet)
        # Leave no mounts behind under the temporary root, then remove it.
        with open("/proc/mounts") as f:
            mounts = [line.split()[1] for line in f if str(self.tmp) in line.split()[1]]
        for m in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", m], capture_output=True)
        shutil.rmtree(self.tmp, ignore_errors=True)


def new_daemon(prefix: str = "dw-test-", extra_args: list[str] | None = None) -> DaemonProc:
    base = Path(os.environ.get("DOCKWRIGHT_TEST_TMP", "/var/tmp"))
    base.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=prefix + uuid.uuid4().hex[:6] + "-", dir=base))
    (tmp / "docker-config").mkdir()
    args = list(extra_args or [])
    runtime = os.environ.get("DOCKWRIGHT_TEST_RUNTIME")  # run a whole suite under another runtime
    if runtime and "--default-runtime" not in args:
        args += ["--default-runtime", runtime]
    bridge = "dwt" + uuid.uuid4().hex[:8]  # each test daemon its own bridge and subnet: they run side by side
    return DaemonProc(tmp=tmp, data_root=tmp / "root", socket=str(tmp / "dw.sock"),
                      extra_args=args, bridge=bridge, subnet=subnets.free_subnet())
