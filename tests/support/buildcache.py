"""Two developer machines sharing a build cache: daemons A and B on their own data roots, the
same busybox base on both, an app context, and the step-by-step reading of a build's output.

Every remote-cache test (registry, S3, inline, the docker CLI's ``--cache-from IMAGE``) runs
the same story through ``scenario``: A builds cold and shares its result, B (empty) builds the
same context from it without running anything, B's next build needs no remote at all, and a
one-file change on B reruns only the last COPY and what follows it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.busybox import rootfs_tar_bytes
from tests.support.daemon import DaemonProc, new_daemon

DW = [sys.executable, "-m", "dockwright"]

DOCKERFILE = """FROM busybox
COPY requirements.txt /app/requirements.txt
RUN mkdir -p /deps && for f in a b c; do echo dep-$f > /deps/$f; done && sleep 1
ENV APP=1
COPY . /app
RUN cat /app/src/m1.py > /app/built
"""
N_STEPS = 5  # after FROM


def dw(d: DaemonProc, *args: str, check: bool = True, timeout: float = 180,
       input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Our CLI against ``d``."""
    r = subprocess.run([*DW, *args], capture_output=True, env=d.env, timeout=timeout, text=True, input=input)
    if check and r.returncode != 0:
        raise AssertionError(f"dockwright {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}\n"
                             f"--- daemon log ---\n{d.log()}")
    return r


def steps(out: str) -> list[str]:
    """'cache' or 'ran' per step after FROM, read from the legacy builder's output."""
    res = []
    for block in out.split("Step ")[1:]:
        if " : FROM " in block.splitlines()[0]:
            continue
        res.append("cache" if "Using cache" in block else "ran")
    return res


def context(tmp: Path) -> Path:
    """A fresh app context: its unique requirements file keeps other tests' caches out."""
    ctx = tmp / f"ctx-{uuid.uuid4().hex[:6]}"
    (ctx / "src").mkdir(parents=True)
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    (ctx / "requirements.txt").write_text(f"a\nb\nu{uuid.uuid4().hex[:8]}\n")
    for i in range(20):
        (ctx / "src" / f"m{i}.py").write_text(f"x = {i}\n")
    return ctx


@dataclass
class Machines:
    a: DaemonProc
    b: DaemonProc
    base_id: str


def _import_base(d: DaemonProc) -> str:
    status, body = d.request("POST", "/v1.47/images/create?fromSrc=-&repo=busybox&tag=latest"
                             "&changes=" + "CMD%20%5B%22sh%22%5D", rootfs_tar_bytes(),
                             {"Content-Type": "application/x-tar"})
    assert status == 200, body
    status, body = d.request("GET", "/v1.47/images/busybox:latest/json")
    assert status == 200, body
    return str(json.loads(body)["Id"])


@contextmanager
def two_daemons() -> Iterator[Machines]:
    """A and B started, both with the same busybox:latest (B gets A's by save and load)."""
    a, b = new_daemon(), new_daemon()
    try:
        a.start()
        b.start()
        base = _import_base(a)
        status, saved = a.request("GET", "/v1.47/images/busybox:latest/get")
        assert status == 200
        status, body = b.request("POST", "/v1.47/images/load?quiet=1", saved, {"Content-Type": "application/x-tar"})
        assert status == 200, body
        status, body = b.request("GET", "/v1.47/images/busybox:latest/json")
        assert status == 200 and json.loads(body)["Id"] == base, body
        yield Machines(a, b, base)
    finally:
        for d in (a, b):
            d.kill_containers()
            d.stop()
            d.cleanup()


Build = Callable[[DaemonProc, Path], str]  # (daemon, context) -> the build's output


@dataclass
class Timings:
    cold: float  # A's build from nothing
    warm: float  # B's first build from the shared cache, everything it fetches included


def scenario(m: Machines, ctx: Path, *, build_a: Build, share: Callable[[], None], build_b: Build,
             label: str) -> Timings:
    """The story of the module docstring; ``share`` runs between A's build and B's (a push, a pull)."""
    t0 = time.monotonic()
    out_a = build_a(m.a, ctx)
    cold = time.monotonic() - t0
    assert steps(out_a) == ["ran"] * N_STEPS, out_a
    t0 = time.monotonic()
    share()
    out_b = build_b(m.b, ctx)
    warm = time.monotonic() - t0
    assert steps(out_b) == ["cache"] * N_STEPS, out_b
    assert "Running in" not in out_b, out_b
    print(f"[{label}] cold build on A: {cold:.2f}s; first build on B from the shared cache: {warm:.2f}s")
    # the image B got runs (layers kept as blobs only are unpacked on first use) and B's store is sound
    image = out_b.rsplit("Successfully built ", 1)[1].split()[0]
    r = dw(m.b, "system", "check")
    assert "No errors found." in r.stdout, r.stdout + r.stderr
    saved = ctx.parent / f"saved-{label}.tar"
    dw(m.b, "save", "-o", str(saved), image)  # from the blobs, before anything unpacked them
    assert saved.stat().st_size > 10_000
    saved.unlink()
    r = dw(m.b, "run", "--rm", image, "sh", "-c", "cat /app/built /deps/b")
    assert r.stdout.split() == ["x", "=", "1", "dep-b"], r.stdout + r.stderr
    # what B imported is now B's own cache: no remote named, nothing runs
    r = dw(m.b, "build", "--progress=plain", str(ctx))
    out_local = r.stdout + r.stderr
    assert steps(out_local) == ["cache"] * N_STEPS and "Running in" not in out_local, out_local
    (ctx / "src" / "m1.py").write_text("x = 'changed'\n")
    out_b2 = build_b(m.b, ctx)
    assert steps(out_b2) == ["cache"] * (N_STEPS - 2) + ["ran", "ran"], out_b2
    return Timings(cold, warm)
