"""Foundation benchmark: load and save throughput of a ~300 MB image, and the latency of
``images``, ``history``, ``inspect`` and ``system df`` with 100 images, through the docker CLI.

    sudo .venv/bin/python benchmarks/image_ops.py [--against unix:///var/run/docker.sock] [--runs 5]
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from _common import Engine, Results, alternate, engines, parser
from tests.support.archives import big_archive, tiny_rootfs


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--mib", type=int, default=100, help="MiB per layer (3 layers)")
    p.add_argument("--images", type=int, default=100)
    args = p.parse_args()
    tag = f"bench-big-{uuid.uuid4().hex[:6]}:1"
    res = Results()
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp, engines(args) as engs:
        archive = Path(tmp) / "big.tar"
        big_archive(archive, layers=3, mib=args.mib, tag=tag)
        size_mb = archive.stat().st_size / 1e6
        res.units["load"] = ("MB/s", size_mb)
        res.units["save"] = ("MB/s", size_mb)

        def load_save(e: Engine, i: int) -> None:
            e.docker("rmi", "-f", tag, check=False)
            res.add("load", e.name, e.timed("load", "-q", "-i", str(archive)))
            out = Path(tmp) / f"save-{e.name}.tar"
            res.add("save", e.name, e.timed("save", "-o", str(out), tag))
            out.unlink()

        alternate(engs, max(1, args.runs // 2), load_save)
        for e in engs:
            e.docker("rmi", "-f", tag, check=False)
        prefix = f"bench-many-{uuid.uuid4().hex[:6]}"
        for e in engs:
            for n in range(args.images):
                e.docker("import", "-", f"{prefix}:{n}", input=tiny_rootfs(f"{prefix}-{n}"))
        target = f"{prefix}:0"

        def queries(e: Engine, i: int) -> None:
            res.add(f"images ({args.images} images)", e.name, e.timed("images"))
            res.add("history", e.name, e.timed("history", target))
            res.add("inspect", e.name, e.timed("image", "inspect", target))
            res.add("system df", e.name, e.timed("system", "df"))

        alternate(engs, args.runs, queries)
        for e in engs:
            ids = [f"{prefix}:{n}" for n in range(args.images)]
            e.docker("rmi", *ids, check=False)
    print(f"archive: {size_mb:.0f} MB in 3 layers; {args.images} small images for the queries")
    print(res.report(engs))


if __name__ == "__main__":
    main()
