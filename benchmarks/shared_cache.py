"""Shared build cache benchmark: machine B's first build from what machine A shared through a
registry, everything B fetches included, against A's cold build (goal: B at most a quarter of A).

    sudo .venv/bin/python benchmarks/shared_cache.py [--against unix:///var/run/docker.sock]
        [--runs 3] [--deps 20000] [--registry dockwright|distribution] [--app seed|tar]

The app context is build.py's shape with a dependency install step that unpacks ``--deps`` small
files (the layer that dominates a pull). Per run, on fresh dockwright daemons with the same base
image and a fresh registry:

- A: ``docker build`` cold, ``docker push`` the image, ``dockwright build --cache-to
  type=registry,mode=max`` (only the export: every step hits A's local cache);
- B (empty): ``docker pull`` + ``docker build --cache-from IMAGE`` (Docker's legacy rule);
- C (empty): ``dockwright build --cache-from type=registry,ref=...`` (fetches only what it needs).

With ``--against`` the other engine (one daemon) runs the legacy story: cold build, push, ``rmi``
of the image, then pull + ``build --cache-from``. B and C must run no step: the script checks.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from _common import Engine, Results, fmt, make_app_context, parser
from push_pull import Registry
from tests.support.busybox import rootfs_tar_bytes
from tests.support.daemon import DaemonProc, new_daemon

DOCKERFILE = """FROM {base}
WORKDIR /app
COPY requirements.txt deps.tar /deps/
RUN mkdir -p /opt/deps && tar -xf /deps/deps.tar -C /opt/deps && rm /deps/deps.tar && find /opt/deps | wc -l
COPY src/ /app/
CMD ["sh"]
"""
# the seed's app as shared/bench/cache-share measures it on dockerd: the install step stands for
# `pip install` (20 packages x 1000 modules, plus 3 s), so A's cold build costs what an install costs
SEED_DOCKERFILE = """FROM {base}
WORKDIR /app
COPY requirements.txt .
RUN mkdir -p /app/site-packages && for pkg in $(sed 's/==.*//' requirements.txt); do \\
    mkdir -p /app/site-packages/$pkg && i=0 && while [ $i -lt 1000 ]; do \\
    echo "# $pkg module $i" > /app/site-packages/$pkg/mod_$i.py; i=$((i+1)); done; done && sleep 3
COPY . /app
CMD ["sh", "-c", "cat /app/src/app/version.py"]
"""
COLD = "A: cold build"
LEGACY = "B: pull + build --cache-from IMAGE (docker CLI)"
REGISTRY = "C: build --cache-from type=registry (dockwright CLI)"


def make_seed_context(root: Path, deps: int, files: int = 2000) -> None:
    (root / "requirements.txt").write_text("".join(f"pkg{i:02d}==1.{i}.0\n" for i in range(1, deps // 1000 + 1)))
    for i in range(files):
        d = root / "src" / "app" / f"pkg{i % 20}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"m{i}.py").write_text(f"def f{i}():\n    return {i}\n")
    (root / "src" / "app" / "version.py").write_text("CHANGE = 0\n")


def make_context(root: Path, deps: int, files: int = 2000) -> None:
    make_app_context(root, deps=deps, files=files, pkg_dirs=200, sizes=(100, 2000), seed=7)


def _timed_ok(e: Engine, *args: str) -> float:
    """A build that must run nothing: every step a cache hit."""
    t = time.perf_counter()
    r = e.docker(*args)
    took = time.perf_counter() - t
    out = r.stdout.decode(errors="replace")
    if "Running in" in out:
        raise RuntimeError(f"[{e.name}] a step ran:\n{out[-3000:]}")
    return took


def _dw(d: DaemonProc, *args: str) -> float:
    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "dockwright", *args], env=d.env, capture_output=True, text=True)
    took = time.perf_counter() - t
    if r.returncode != 0 or "Running in" in r.stdout:
        raise RuntimeError(f"dockwright {' '.join(args)}:\n{r.stdout[-3000:]}\n{r.stderr}")
    return took


def run_dockwright(ctx: Path, base: str, kind: str, work: Path, res: Results) -> None:
    daemons = [new_daemon("dw-bench-sc-") for _ in range(3)]
    reg = Registry(kind, work)
    try:
        for d in daemons:
            d.start()
        a, b, c = (Engine("dockwright", d.host) for d in daemons)
        a.docker("import", "-", base, input=rootfs_tar_bytes())
        saved = a.docker("save", base).stdout
        b.docker("load", "-q", input=saved)
        c.docker("load", "-q", input=saved)
        image = f"{reg.addr}/bench/app:{uuid.uuid4().hex[:6]}"
        res.add(COLD, "dockwright", a.timed("build", "-q", "-t", image, str(ctx)))
        res.add("A: push image", "dockwright", a.timed("push", image))
        cache = f"{reg.addr}/bench/app:buildcache"
        res.add("A: export registry cache (steps hit locally)", "dockwright",
                _dw(daemons[0], "build", "-q", "--cache-to", f"type=registry,ref={cache},mode=max", str(ctx)))
        os.sync()  # A's writes reach the disk before B's clock starts (as on another machine)
        t = b.timed("pull", image)
        t2 = _timed_ok(b, "build", "--cache-from", image, "-t", "app:b", str(ctx))
        res.add("B: of which pull", "dockwright", t)
        res.add(LEGACY, "dockwright", t + t2)
        os.sync()
        res.add(REGISTRY, "dockwright",
                _dw(daemons[2], "build", "--progress=plain", "--cache-from", f"type=registry,ref={cache}",
                    "-t", "app:c", str(ctx)))
    finally:
        reg.stop()
        for d in daemons:
            d.cleanup()


def run_other(e: Engine, ctx: Path, base: str, kind: str, work: Path, res: Results) -> None:
    reg = Registry(kind, work)
    image = f"{reg.addr}/bench/app:{uuid.uuid4().hex[:6]}"
    tag_b = f"bench-sc-b-{uuid.uuid4().hex[:6]}"
    try:
        res.add(COLD, e.name, e.timed("build", "--no-cache", "-q", "-t", image, str(ctx)))
        res.add("A: push image", e.name, e.timed("push", image))
        e.docker("rmi", image)  # its intermediate images go with it: the machine has only the base
        os.sync()
        t = e.timed("pull", image)
        t2 = _timed_ok(e, "build", "--cache-from", image, "-t", tag_b, str(ctx))
        res.add("B: of which pull", e.name, t)
        res.add(LEGACY, e.name, t + t2)
    finally:
        e.docker("rmi", tag_b, check=False)
        e.docker("rmi", image, check=False)
        reg.stop()


def main() -> None:
    p = parser(__doc__ or "")
    p.set_defaults(runs=3)
    p.add_argument("--deps", type=int, default=20000)
    p.add_argument("--registry", choices=("dockwright", "distribution"), default="dockwright")
    p.add_argument("--app", choices=("seed", "tar"), default="seed",
                   help="seed: the install step is the seed's shell loop (shared/bench/cache-share); "
                        "tar: it untars the files (a fast install: B's pull weighs more)")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dw-bench-sc-", dir="/var/tmp"))
    base = f"bench-sc-base-{uuid.uuid4().hex[:6]}:1"
    res = Results()
    other = Engine("other", args.against) if args.against else None
    try:
        ctx = work / "ctx"
        ctx.mkdir()
        if args.app == "seed":
            make_seed_context(ctx, args.deps)
            (ctx / "Dockerfile").write_text(SEED_DOCKERFILE.format(base=base))
        else:
            make_context(ctx, args.deps)
            (ctx / "Dockerfile").write_text(DOCKERFILE.format(base=base))
        if other is not None:
            other.docker("import", "-", base, input=rootfs_tar_bytes())
        for i in range(args.runs):
            run_dockwright(ctx, base, args.registry, work, res)
            if other is not None:
                run_other(other, ctx, base, args.registry, work, res)
            print(f"run {i + 1} done", flush=True)
        engs = [Engine("dockwright", "")] + ([other] if other is not None else [])
        print(res.report(engs))
        for e in engs:
            cold = statistics.median(res.rows[COLD][e.name])
            for metric in (LEGACY, REGISTRY):
                vals = res.rows.get(metric, {}).get(e.name)
                if vals:
                    warm = statistics.median(vals)
                    print(f"{e.name}: {metric}: {fmt(warm)} = {warm / cold:.2f} x A's cold build "
                          f"({fmt(cold)}; goal <= 0.25)")
    finally:
        if other is not None:
            other.docker("rmi", base, check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
