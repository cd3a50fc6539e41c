"""Push/pull benchmark: a 300 MB image of three random layers through the engine to a local registry.

    sudo .venv/bin/python benchmarks/push_pull.py [--against unix:///var/run/docker.sock] [--runs 3]
        [--registry dockwright|distribution] [--mib 100] [--layers 3]

Per run and engine: ``docker load`` the image (untimed), ``docker push`` it to a fresh registry
(started here on a free 127.0.0.1 port, empty storage, so every blob is uploaded), ``docker rmi``
(layers gone), ``docker pull`` it back. Prints seconds and MB/s of layer payload. Both engines
treat 127.0.0.0/8 registries as insecure (plain HTTP). ``--registry distribution`` uses Debian's
``docker-registry`` (CNCF Distribution) instead of ours.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from _common import Engine, Results, engines, free_port, parser, wait_for_port
from tests.support.archives import big_archive


class Registry:
    def __init__(self, kind: str, workdir: Path) -> None:
        self.port = free_port()
        self.addr = f"127.0.0.1:{self.port}"
        self.root = workdir / f"reg-{self.port}"
        self.root.mkdir(parents=True)
        if kind == "distribution":
            cfg = self.root / "config.yml"
            cfg.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {self.root / 'data'}\n"
                           f"http:\n  addr: {self.addr}\n")
            cmd = ["/usr/bin/docker-registry", "serve", str(cfg)]
        else:
            cmd = [sys.executable, "-m", "dockwright", "registry", "serve", "--addr", self.addr,
                   "--root", str(self.root / "data")]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        if wait_for_port(self.port, 20):
            return
        raise RuntimeError(f"registry {kind} did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def main() -> None:
    p = parser(__doc__ or "")
    p.set_defaults(runs=3)
    p.add_argument("--registry", choices=("dockwright", "distribution"), default="dockwright")
    p.add_argument("--mib", type=int, default=100)
    p.add_argument("--layers", type=int, default=3)
    args = p.parse_args()
    if args.registry == "distribution" and not Path("/usr/bin/docker-registry").exists():
        sys.exit("docker-registry is not installed: apt-get install -y docker-registry")
    work = Path(tempfile.mkdtemp(prefix="dw-bench-pp-", dir="/var/tmp"))
    res = Results()
    payload = args.layers * args.mib * (1 << 20)
    res.units["push"] = ("MB/s", payload / 1e6)
    res.units["pull"] = ("MB/s", payload / 1e6)
    try:
        archive = work / "big.tar"
        tag = f"bench-pp-{uuid.uuid4().hex[:6]}:v1"
        print(f"generating {args.layers} x {args.mib} MiB random layers ...", flush=True)
        big_archive(archive, layers=args.layers, mib=args.mib, tag=tag)
        with engines(args) as engs:
            for i in range(args.runs):
                for e in engs:
                    run(e, archive, tag, args.registry, work, res)
                    print(f"run {i + 1} {e.name}: push {res.rows['push'][e.name][-1]:.2f} s, "
                          f"pull {res.rows['pull'][e.name][-1]:.2f} s", flush=True)
            print(res.report(engs))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(e: Engine, archive: Path, tag: str, kind: str, work: Path, res: Results) -> None:
    reg = Registry(kind, work)
    try:
        remote = f"{reg.addr}/bench/big:v1"
        with archive.open("rb") as f:
            e.docker("load", "-q", input=f.read())
        e.docker("tag", tag, remote)
        res.add("push", e.name, e.timed("push", remote))
        e.docker("rmi", tag, remote)
        e.docker("image", "prune", "-f", check=False)
        res.add("pull", e.name, e.timed("pull", remote))
        e.docker("rmi", remote)
    finally:
        reg.stop()


if __name__ == "__main__":
    main()
