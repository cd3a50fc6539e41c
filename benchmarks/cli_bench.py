"""CLI benchmark: wall time of ``dockwright`` commands (process start to exit) next to the docker CLI.

The promise is ``dockwright version`` in under 150 ms, Python start-up included. Both CLIs run the
same commands against the same engine, alternating, so they see the same machine noise; the
``-X importtime`` summary shows where our start-up goes.

    .venv/bin/python benchmarks/cli_bench.py [--host unix:///var/run/docker.sock] [--runs 15]

Without ``--host`` a fresh dockwright daemon is started (needs root).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from _common import DOCKER, Engine, Results, engines, fmt, parser

ROOT = Path(__file__).resolve().parents[1]
DW = [str(ROOT / ".venv" / "bin" / "dockwright")]
if not os.path.exists(DW[0]):
    DW = [sys.executable, "-m", "dockwright"]

COMMANDS: list[tuple[str, list[str]]] = [
    ("version", ["version"]),
    ("images", ["images"]),
    ("image_inspect", ["image", "inspect", "{image}"]),
    ("history", ["history", "{image}"]),
    ("system_df", ["system", "df"]),
    ("info", ["info"]),
]


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    r = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.decode(errors='replace')}")
    return dt


def import_times(env: dict[str, str], top: int = 12) -> str:
    """The modules with the largest cumulative import time in ``dockwright version``."""
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "dockwright", "version"], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    rows = []
    for line in r.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, self_us, cum_us, name = (p.strip() for p in line.split("|", 1)[0].split(":", 1) + line.split("|")[1:])
        rows.append((int(cum_us), int(self_us), name.strip()))
    total = sum(c for c, _, n in rows if not n.startswith(" "))
    lines = [f"imports: {total / 1000:.1f} ms total (top-level cumulative)"]
    for cum, _, name in sorted(rows, reverse=True)[:top]:
        lines.append(f"  {cum / 1000:7.1f} ms  {name}")
    return "\n".join(lines)


def main() -> None:
    p = parser(__doc__ or "")
    p.set_defaults(runs=15)
    args = p.parse_args()
    res = Results()
    with engines(args) as engs:
        eng = engs[0]
        env = eng.env()
        env["DOCKWRIGHT_HOST"] = eng.host
        image = f"cli-bench-{uuid.uuid4().hex[:6]}:1"
        from tests.support.busybox import rootfs_tar_bytes

        subprocess.run([*DW, "import", "-", image], input=rootfs_tar_bytes(), env=env, check=True,
                       capture_output=True)
        clients = [("dockwright", DW)]
        if os.path.exists(DOCKER):
            clients.append(("docker-cli", [DOCKER]))
        try:
            for name, argv in COMMANDS:
                argv = [a.replace("{image}", image) for a in argv]
                for _client, prefix in clients:  # warm the page cache once
                    timed([*prefix, *argv], env)
                for _ in range(args.runs):
                    for client, prefix in clients:
                        res.add(name, client, timed([*prefix, *argv], env))
        finally:
            subprocess.run([*DW, "rmi", "-f", image], env=env, capture_output=True)
        shown = [Engine(c, eng.host) for c, _ in clients]
        print(f"engine: {eng.host}; {args.runs} runs each, alternating clients")
        print(res.report(shown))
        v = res.rows["version"]["dockwright"]
        print(f"\ndockwright version: median {fmt(statistics.median(v))}, "
              f"p90 {fmt(sorted(v)[int(len(v) * 0.9) - 1])}, max {fmt(max(v))} (budget 150 ms)")
        print(import_times(env))


if __name__ == "__main__":
    main()
