"""Start-up cost of a container: median wall time of ``<runtime> run`` of busybox ``true``.

    .venv/bin/python benchmarks/runtime_bench.py [-n 30]

Runs the same bundle (busybox rootfs, Docker's default spec) under the builtin
runtime, runc and crun (each skipped with the reason when it cannot run here)
and prints the median and the minimum in milliseconds, plus bare Python
start-up for scale. The builtin runtime runs with bytecode caching on (in a
private pycache prefix), as an installed package would.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.busybox import make_rootfs_dir  # noqa: E402

from dockwright.runtime import spec as S  # noqa: E402
from dockwright.runtime.ociruntime import builtin_argv  # noqa: E402


def _time(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    r = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    dt = (time.perf_counter() - t) * 1000
    if r.returncode != 0:
        raise RuntimeError(r.stderr.decode(errors="replace").strip().splitlines()[-1])
    return dt


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=30)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root")
        return 1
    work = Path(tempfile.mkdtemp(prefix="rt-bench-"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    runtimes = {
        "python -c pass": None,
        "builtin -m": [sys.executable, "-m", "dockwright", "runtime"],
        "builtin": builtin_argv(),
        "runc": ["runc"],
        "crun": ["crun"],
    }
    try:
        rootfs = make_rootfs_dir(work / "rootfs")
        cg_parent = f"dockwright-bench-{os.getpid()}"
        times: dict[str, list[float]] = {name: [] for name in runtimes}
        skipped: dict[str, str] = {}
        for name, argv in runtimes.items():
            if argv is not None and shutil.which(argv[0]) is None:
                skipped[name] = f"{argv[0]} not installed"
        # interleaved rounds, so that load from elsewhere on the machine hits every runtime alike
        for i in range(args.n + 1):
            for name, argv in runtimes.items():
                if name in skipped:
                    continue
                try:
                    if argv is None:
                        dt = _time([sys.executable, "-c", "pass"], env)
                    else:
                        cid = f"bench-{name.replace(' ', '')}-{i}"
                        b = work / cid
                        b.mkdir()
                        spec = S.build_spec(cid, S.with_process(["true"]), S.with_rootfs(rootfs),
                                            S.with_cgroups_path(f"/{cg_parent}/{cid}"))
                        (b / "config.json").write_text(json.dumps(spec))
                        dt = _time([*argv, "--root", str(work / f"state-{cid}"), "run", "--bundle", str(b), cid], env)
                except RuntimeError as e:
                    skipped[name] = str(e)
                    continue
                if i:  # round 0 warms caches (bytecode, seccomp BPF)
                    times[name].append(dt)
        results: dict[str, str] = {}
        for name in runtimes:
            if name in skipped:
                results[name] = f"skipped: {skipped[name]}"
            else:
                t = times[name]
                results[name] = f"median {statistics.median(t):6.1f} ms   min {min(t):6.1f} ms   (n={len(t)})"
        for name, line in results.items():
            print(f"{name:16s} {line}")
    finally:
        with open("/proc/self/mountinfo") as f:
            cg_mounts = [ln.split()[4] for ln in f if ln.split(" - ")[1].split()[0] in ("cgroup", "cgroup2")]
        for mnt in cg_mounts:
            d = Path(mnt) / f"dockwright-bench-{os.getpid()}"
            if d.is_dir():
                for sub in d.iterdir():
                    if sub.is_dir():
                        sub.rmdir()
                d.rmdir()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
