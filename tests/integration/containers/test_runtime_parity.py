"""The same probe container under each runtime through the daemon: the security view is Docker's."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.integration.conftest import docker
from tests.support.daemon import DaemonProc

PROBES = Path(__file__).resolve().parents[4] / "shared" / "security" / "probes.sh"
if not PROBES.exists():
    PROBES = Path("/work/shared/security/probes.sh")

# what dockerd 20.10 + runc showed on this kind of machine (shared/security/CHECKLIST.md)
DOCKER_DEFAULTS = {
    "uid": "0", "CapInh": "0000000000000000", "CapPrm": "00000000a80425fb", "CapEff": "00000000a80425fb",
    "CapBnd": "00000000a80425fb", "CapAmb": "0000000000000000", "NoNewPrivs": "0", "Seccomp": "2",
    "pid1_comm": "sh", "try:mount_tmpfs": "denied", "try:write_proc_sys": "denied", "try:unshare_user": "denied",
    "try:sethostname": "denied", "try:netadmin": "denied", "try:write_sysrq": "denied",
    "mnt:/sys": None,
}
# differences we keep on purpose: a private cgroup namespace, the probe's own container ID, and the
# builtin runtime mounts the /sys/fs/cgroup tmpfs read-only (runc leaves the tmpfs itself writable);
# nprocs counts the probe's own pipeline
IGNORED = {"cgroup", "hostname", "fds", "cgroup_mounts", "mnt:/sys/fs/cgroup", "nprocs"}


def _probe(d: DaemonProc, runtime: str) -> dict[str, str]:
    hostdev = f"{os.major(os.stat('/').st_dev)} {os.minor(os.stat('/').st_dev)}"
    out = docker(d, "run", "--rm", "--runtime", runtime, "--network", "none", "-e", f"HOSTDEV={hostdev}",
                 "busybox", "sh", "-c", PROBES.read_text()).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


# crun 1.8 itself differs from runc here, under dockerd as under us: read-only paths are remounted
# "ro" without nosuid/nodev/noexec, and /dev/core links to /proc/kcore
CRUN_OWN = {"mnt:/proc/bus", "mnt:/proc/fs", "mnt:/proc/irq", "mnt:/proc/sys", "mnt:/proc/sysrq-trigger", "dev"}


def _crun_usable(d: DaemonProc) -> str:
    """Why crun cannot run containers here ("" when it can): 1.8 refuses hybrid cgroup hosts whose
    unified hierarchy has controllers (scripts/bootstrap.sh mounts hugetlb on v1, as systemd does)."""
    if not shutil.which("crun"):
        return "crun is not installed"
    r = docker(d, "run", "--rm", "--runtime", "crun", "--network", "none", "busybox", "true", check=False)
    return "" if r.returncode == 0 else f"crun cannot run containers on this host: {r.stderr.strip()}"


@pytest.mark.skipif(not PROBES.exists(), reason="shared/security/probes.sh is not beside the project")
def test_builtin_runc_and_crun_give_dockers_view(dw_daemon: DaemonProc, busybox_image: str) -> None:
    runtimes = [rt for rt in ("runc", "dockwright") if rt == "dockwright" or shutil.which(rt)]
    no_crun = _crun_usable(dw_daemon)
    if not no_crun:
        runtimes.append("crun")
    results = {rt: _probe(dw_daemon, rt) for rt in runtimes}
    for rt, got in results.items():
        for key, want in DOCKER_DEFAULTS.items():
            if want is not None:
                assert got.get(key) == want, (rt, key, got.get(key))
        assert got["mnt:/sys"].startswith("ro"), (rt, got["mnt:/sys"])
        assert got["nprocs"] in ("1", "2", "3", "4"), (rt, got["nprocs"])  # no host processes
    if "runc" in results:
        a = results["runc"]
        for rt in set(results) - {"runc"}:
            b, ignored = results[rt], IGNORED | (CRUN_OWN if rt == "crun" else set())
            diff = {k: (a.get(k), b.get(k)) for k in set(a) | set(b) if k not in ignored and a.get(k) != b.get(k)}
            assert diff == {}, (rt, diff)
    if no_crun:
        pytest.skip(no_crun)  # the other runtimes were compared; say loudly that crun was not


def test_memory_limit_visible_and_oom(dw_daemon: DaemonProc, busybox_image: str) -> None:
    for rt in ("runc", "dockwright", "crun"):
        if rt != "dockwright" and not shutil.which(rt) or rt == "crun" and _crun_usable(dw_daemon):
            continue
        out = docker(dw_daemon, "run", "--rm", "--runtime", rt, "-m", "32m", "--pids-limit", "20", "busybox", "sh",
                     "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max "
                     "2>/dev/null || cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max").stdout.split()
        assert out == [str(32 << 20), "20"], (rt, out)


def test_many_short_containers_at_once(dw_daemon: DaemonProc, busybox_image: str) -> None:
    """`true` can exec and exit between two polls of `start`: the start still happened (a race seen
    with 50 concurrent runs under the builtin runtime)."""
    from concurrent.futures import ThreadPoolExecutor

    for rt in ("dockwright", "runc"):
        with ThreadPoolExecutor(24) as ex:
            codes = list(ex.map(lambda r: docker(dw_daemon, "run", "--rm", "--runtime", r, "--network", "none",
                                                 "busybox", "true", check=False).returncode, [rt] * 24))
        assert codes == [0] * 24, (rt, codes)
