"""Shared pieces of the benchmarks: an engine under test, the docker CLI, timing and the report table.

Every benchmark runs the same scenario on engine A (a fresh dockwright daemon, or ``--host``) and,
with ``--against DOCKER_HOST``, on engine B, alternating A B A B so both see the same machine noise.
Compare the ratio, not absolute times: this machine is shared.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.daemon import new_daemon  # noqa: E402
from tests.support.ports import free_port, wait_for_port  # noqa: E402, F401 - for the benchmarks

DOCKER = shutil.which("docker") or "/usr/local/bin/docker"


@dataclass
class Engine:
    name: str
    host: str

    def env(self) -> dict[str, str]:
        e = dict(os.environ, DOCKER_HOST=self.host)
        e.pop("DOCKER_CONTEXT", None)
        return e

    def docker(self, *args: str, input: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        r = subprocess.run([DOCKER, *args], env=self.env(), input=input, capture_output=True)
        if check and r.returncode != 0:
            raise RuntimeError(f"[{self.name}] docker {' '.join(args)}: {r.stderr.decode(errors='replace')}")
        return r

    def timed(self, *args: str, input: bytes | None = None) -> float:
        t = time.perf_counter()
        self.docker(*args, input=input)
        return time.perf_counter() - t

    def timed_ours(self, *args: str) -> float:
        """The same command through our CLI (``dockwright ARGS``), which speaks to any engine."""
        t = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "dockwright", *args], env=self.env(), capture_output=True)
        if r.returncode != 0:
            raise RuntimeError(f"[{self.name}] dockwright {' '.join(args)}: {r.stderr.decode(errors='replace')}")
        return time.perf_counter() - t


@dataclass
class Results:
    rows: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    units: dict[str, tuple[str, float]] = field(default_factory=dict)  # metric -> (rate unit, work per sample)

    def add(self, metric: str, engine: str, seconds: float) -> None:
        self.rows.setdefault(metric, {}).setdefault(engine, []).append(seconds)

    def report(self, engines: list[Engine]) -> str:
        names = [e.name for e in engines]
        head = ["metric", *[f"{n} median" for n in names]]
        if len(names) == 2:
            head.append(f"{names[0]}/{names[1]}")
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for metric, per in self.rows.items():
            cells = [metric]
            meds: list[float | None] = []
            for n in names:
                vals = per.get(n, [])
                if not vals:
                    cells.append("-")
                    meds.append(None)
                    continue
                med = statistics.median(vals)
                meds.append(med)
                unit = self.units.get(metric)
                rate = f" ({unit[1] / med:.1f} {unit[0]})" if unit else ""
                cells.append(f"{fmt(med)}{rate} n={len(vals)}")
            if len(names) == 2:
                a, b = meds
                cells.append(f"{a / b:.2f}" if a and b else "-")
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)


def fmt(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--host", help="engine A (default: start a fresh dockwright daemon)")
    p.add_argument("--against", help="engine B, e.g. unix:///var/run/docker.sock")
    p.add_argument("--runs", type=int, default=5)
    return p


@contextmanager
def engines(args: argparse.Namespace) -> Iterator[list[Engine]]:
    d = None
    try:
        if args.host:
            out = [Engine("A", args.host)]
        else:
            d = new_daemon("dw-bench-")
            d.start()
            out = [Engine("dockwright", d.host)]
        if args.against:
            out.append(Engine("other", args.against))
        yield out
    finally:
        if d is not None:
            d.cleanup()


def alternate(engines_: list[Engine], runs: int, fn: Callable[[Engine, int], None]) -> None:
    for i in range(runs):
        for e in engines_:
            fn(e, i)


def make_app_context(root: Path, *, deps: int, files: int, pkg_dirs: int, sizes: tuple[int, int],
                     seed: int) -> None:
    """The app-shaped context of the build benchmarks: a requirements file, ``deps.tar`` with ``deps``
    random modules over ``pkg_dirs`` packages (what an install step unpacks), and ``files`` sources."""
    rnd = random.Random(seed)
    (root / "requirements.txt").write_text("".join(f"pkg{i}==1.{i}\n" for i in range(40)))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for i in range(deps):
            data = rnd.randbytes(rnd.randint(*sizes))
            ti = tarfile.TarInfo(f"site-packages/pkg{i % pkg_dirs}/mod{i}.py")
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    (root / "deps.tar").write_bytes(buf.getvalue())
    for i in range(files):
        d = root / "src" / f"pkg{i % 20}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"m{i}.py").write_text(f"def f{i}():\n    return {rnd.randint(0, 10**9)}\n" * 5)
