"""The async OCIRuntime driver over real runtimes (builtin, runc): lifecycle, stdio, errors."""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockwright.errors import AlreadyExists, Conflict, InvalidParameter, NotFound, Unavailable
from dockwright.runtime import spec as S
from dockwright.runtime.cgroups import Cgroup
from dockwright.runtime.ociruntime import OCIRuntime, ProcessIO, _error_text, builtin_argv, map_error
from tests.support.busybox import make_rootfs_dir

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="OCI runtimes need root")
CG_PARENT = f"dockwright-driver-{os.getpid()}"
_libc = ctypes.CDLL(None, use_errno=True)


def test_error_text_prefers_json_log() -> None:
    log = '{"level":"info","msg":"x"}\n{"level":"error","msg":"container does not exist: a","time":"t"}\n'
    assert _error_text(b"ignored", log) == "container does not exist: a"
    assert _error_text(b'time="t" level=error msg="runc run failed: \\"x\\" bad"\n', "") == 'runc run failed: "x" bad'
    assert _error_text(b"plain text\n", "") == "plain text"


def test_map_error_kinds() -> None:
    assert isinstance(map_error("state", "a", "container does not exist: a"), NotFound)
    assert isinstance(map_error("create", "a", "container with id exists: a"), AlreadyExists)
    assert isinstance(map_error("delete", "a", "cannot delete container a that is not stopped: running"), Conflict)
    err = map_error("create", "a", 'unable to start container process: exec: "x": executable file not found in $PATH')
    assert isinstance(err, InvalidParameter) and "executable file not found in $PATH" in str(err)


@pytest.fixture(scope="module")
def rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_rootfs_dir(tmp_path_factory.mktemp("drv-rootfs") / "rootfs")


@pytest.fixture(params=["builtin", "runc"])
def rt(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OCIRuntime]:
    if request.param == "runc" and shutil.which("runc") is None:
        pytest.skip("runc is not installed")
    binary = builtin_argv() if request.param == "builtin" else ["runc"]
    _libc.prctl(36, 1, 0, 0, 0)  # be the subreaper, as the container monitor is
    yield OCIRuntime(binary, tmp_path / "state")
    _libc.prctl(36, 0, 0, 0, 0)
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
    for mnt in {*Cgroup.for_path("/").dirs.values()}:
        for p in (Path(mnt) / CG_PARENT, Path("/sys/fs/cgroup/systemd") / CG_PARENT,
                  Path("/sys/fs/cgroup/unified") / CG_PARENT):
            if p.is_dir():
                p.rmdir()


def _bundle(tmp_path: Path, rootfs: Path, *opts: S.SpecOpt) -> tuple[str, Path]:
    cid = f"drv-{uuid.uuid4().hex[:10]}"
    b = tmp_path / cid
    b.mkdir()
    spec = S.build_spec(cid, S.with_rootfs(rootfs), S.with_cgroups_path(f"/{CG_PARENT}/{cid}"), *opts)
    (b / "config.json").write_text(json.dumps(spec))
    return cid, b


def _wait(pid: int, timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        wpid, status = os.waitpid(pid, os.WNOHANG)
        if wpid == pid:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    raise AssertionError(f"{pid} did not exit")


@needs_root
def test_lifecycle_with_stdio(rt: OCIRuntime, tmp_path: Path, rootfs: Path) -> None:
    cid, b = _bundle(tmp_path, rootfs, S.with_process(["sh", "-c", "read x; echo got:$x; exit 3"]))

    async def scenario() -> None:
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        pid = await rt.create(cid, b, ProcessIO(stdin=in_r, stdout=out_w, stderr=out_w))
        os.close(in_r)
        os.close(out_w)
        st = await rt.state(cid)
        assert (st.status, st.pid, st.id) == ("created", pid, cid)
        await rt.start(cid)
        assert (await rt.state(cid)).status in ("running", "stopped")
        os.write(in_w, b"hello\n")
        os.close(in_w)
        code = await asyncio.to_thread(_wait, pid)
        assert code == 3
        assert os.read(out_r, 100) == b"got:hello\n"
        os.close(out_r)
        assert (await rt.state(cid)).status == "stopped"
        await rt.delete(cid)
        with pytest.raises(NotFound):
            await rt.state(cid)

    asyncio.run(scenario())


@needs_root
def test_exec_kill_errors(rt: OCIRuntime, tmp_path: Path, rootfs: Path) -> None:
    cid, b = _bundle(tmp_path, rootfs, S.with_process(["sleep", "60"]))
    spec = json.loads((b / "config.json").read_text())

    async def scenario() -> None:
        pid = await rt.create(cid, b, ProcessIO())
        with pytest.raises(AlreadyExists):
            await rt.create(cid, b, ProcessIO())
        await rt.start(cid)
        out_r, out_w = os.pipe()
        proc = dict(spec["process"], args=["sh", "-c", "echo in-exec; exit 4"])
        epid = await rt.exec(cid, proc, ProcessIO(stdout=out_w))
        os.close(out_w)
        assert await asyncio.to_thread(_wait, epid) == 4
        assert os.read(out_r, 100) == b"in-exec\n"
        os.close(out_r)
        with pytest.raises(InvalidParameter, match="executable file not found"):
            await rt.exec(cid, dict(spec["process"], args=["nope"]), ProcessIO())
        assert pid in await rt.ps(cid)
        with pytest.raises(Conflict):
            await rt.delete(cid)
        await rt.pause(cid)
        assert (await rt.state(cid)).status == "paused"
        await rt.resume(cid)
        await rt.update(cid, {"pids": {"limit": 42}})
        assert Cgroup.for_path(f"/{CG_PARENT}/{cid}").stats().pids_limit == 42
        await rt.kill(cid, 9)
        assert await asyncio.to_thread(_wait, pid) == -9
        await rt.delete(cid)
        with pytest.raises(NotFound):
            await rt.kill(cid, 9)

    asyncio.run(scenario())


def test_missing_binary(tmp_path: Path) -> None:
    rt = OCIRuntime(["/nonexistent/runtime"], tmp_path / "s")
    with pytest.raises(Unavailable, match="not found"):
        asyncio.run(rt.state("x"))
