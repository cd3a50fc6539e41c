"""Cgroup create/join/stats/freeze/destroy on this host's real hierarchies (v1 and, where mounted, v2)."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator

import pytest

from dockwright.runtime import cgroups
from dockwright.runtime.cgroups import Cgroup

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="cgroups need root")


def _child_sleep() -> int:
    pid = os.fork()
    if pid == 0:
        try:
            time.sleep(30)
        finally:
            os._exit(0)
    return pid


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)


@pytest.fixture
def path() -> Iterator[str]:
    p = f"/dockwright-unit-{uuid.uuid4().hex[:8]}/ct"
    yield p
    parent = os.path.dirname(p)
    v1, v2 = cgroups.mounts()
    for mnt in [*set(v1.values()), *([v2] if v2 else [])]:
        for d in (mnt + p, mnt + parent):
            if os.path.isdir(d):
                os.rmdir(d)


def test_mounts_found() -> None:
    v1, v2 = cgroups.mounts()
    assert v1 or v2


@pytest.mark.skipif(not cgroups.mounts()[0], reason="no cgroup v1 controllers on this host")
def test_v1_limits_stats_freeze(path: str) -> None:
    cg = Cgroup.for_path(path)
    assert not cg.v2 and "memory" in cg.dirs
    cg.create({"memory": {"limit": 64 << 20, "swap": 64 << 20}, "pids": {"limit": 10},
               "cpu": {"shares": 512, "quota": 50000, "period": 100000},
               "devices": [{"allow": False, "access": "rwm"}, {"allow": True, "type": "c", "major": 1,
                                                              "minor": 3, "access": "rwm"}]})
    pid = _child_sleep()
    try:
        cg.join(pid)
        assert cg.pids() == [pid]
        s = cg.stats()
        assert s.memory_limit == 64 << 20 and s.pids_limit == 10 and s.pids_current == 1
        assert not cg.oom_killed()
        with open(cg.dirs["devices"] + "/devices.list") as f:
            assert f.read().split("\n")[0] == "c 1:3 rwm"
        cg.freeze()
        assert cg.frozen()
        cg.thaw()
        assert not cg.frozen()
        cg.update({"pids": {"limit": -1}, "memory": {"limit": 128 << 20, "swap": 256 << 20}})
        s = cg.stats()
        assert s.pids_limit is None and s.memory_limit == 128 << 20
        assert isinstance(s.as_dict()["memory_stat"], dict)
    finally:
        _kill(pid)
    cg.destroy()
    assert not cg.exists()


@pytest.mark.skipif(cgroups.mounts()[1] is None, reason="no cgroup2 mount")
def test_v2_hierarchy_join_stats_freeze(path: str) -> None:
    """The v2 code paths, on the hybrid host's unified hierarchy (no controllers needed for these)."""
    _v1, v2 = cgroups.mounts()
    assert v2 is not None
    cg = Cgroup({"": v2 + path}, True)
    cg.create({"pids": {"limit": 5}})  # limits whose files are absent are skipped
    pid = _child_sleep()
    try:
        cg.join(pid)
        assert cg.pids() == [pid]
        cg.freeze()
        assert cg.frozen()
        cg.thaw()
        assert not cg.frozen()
        s = cg.stats()
        assert s.cpu_usage_ns >= 0 and not cg.oom_killed()
    finally:
        _kill(pid)
    cg.destroy()
    assert not cg.exists()


def test_destroy_times_out_while_busy(path: str) -> None:
    cg = Cgroup.for_path(path)
    cg.create({})
    pid = _child_sleep()
    try:
        cg.join(pid)
        with pytest.raises(OSError, match="busy"):
            cg.destroy(timeout=0.05)
    finally:
        _kill(pid)
    cg.destroy()


def test_rejects_dotdot() -> None:
    with pytest.raises(ValueError):
        Cgroup.for_path("/a/../../etc")


@pytest.mark.skipif(cgroups.mounts()[1] is None, reason="no cgroup2 mount")
def test_v2_device_filter(path: str) -> None:
    """Docker's device rules as an eBPF program: mknod anything, open only the standard nodes."""
    from dockwright.runtime.spec import DEFAULT_DEVICE_RULES

    _v1, v2 = cgroups.mounts()
    assert v2 is not None
    cg = Cgroup({"": v2 + path}, True)
    cg.create({"devices": [dict(r) for r in DEFAULT_DEVICE_RULES]})
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            cg.join(0)
            res = []
            for dev, flags in (("/dev/null", os.O_RDWR), ("/dev/urandom", os.O_RDONLY), ("/dev/kmsg", os.O_RDONLY)):
                try:
                    os.close(os.open(dev, flags))
                    res.append("ok")
                except PermissionError:
                    res.append("denied")
            os.write(w, ",".join(res).encode())
        finally:
            os._exit(0)
    os.close(w)
    out = os.read(r, 100).decode()
    os.close(r)
    os.waitpid(pid, 0)
    cg.destroy()
    assert out == "ok,ok,denied"


def test_device_filter_program_shape() -> None:
    from dockwright.runtime.devfilter import compile_rules

    prog = compile_rules([{"allow": False, "access": "rwm"}, {"allow": True, "type": "c", "major": 1, "minor": 3,
                                                                "access": "rwm"}])
    assert len(prog) % 8 == 0
    assert prog[-8] == 0x95  # ends with exit
