"""Containers benchmark: ``docker run --rm busybox true`` latency through the docker CLI, 50 containers
started concurrently, ``docker ps -a`` with many containers, and ``GET /containers/json?all=1``
requests per second; each beside another engine with ``--against``.

    sudo .venv/bin/python benchmarks/run_latency.py [--against unix:///var/run/docker.sock] [--runtime runc]
"""

from __future__ import annotations

import concurrent.futures
import functools
import http.client
import socket
import time
import uuid

from _common import Engine, Results, alternate, engines, parser
from tests.support.busybox import rootfs_tar_bytes


class _Unix(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost")
        self.path_ = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX)
        s.connect(self.path_)
        self.sock = s


def api_rate(e: Engine, path: str, n: int) -> float:
    conn = _Unix(e.host.removeprefix("unix://"))
    t = time.perf_counter()
    for _ in range(n):
        conn.request("GET", path)
        conn.getresponse().read()
    conn.close()
    return time.perf_counter() - t


def _create(e: Engine, label: str, image: str, _n: int) -> None:
    e.docker("create", "--label", label, image, "true")


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--runtime", default="", help="--runtime for engine A's containers (runc, dockwright)")
    p.add_argument("--many", type=int, default=200, help="containers for ps -a and the list API")
    p.add_argument("--concurrent", type=int, default=50)
    args = p.parse_args()
    image = f"bench-run-{uuid.uuid4().hex[:6]}:1"
    res = Results()
    with engines(args) as engs:
        for e in engs:
            e.docker("import", "-", image, input=rootfs_tar_bytes())
        rt = {engs[0].name: ["--runtime", args.runtime] if args.runtime else []}

        def run_true(e: Engine, i: int) -> None:
            res.add("run --rm true", e.name, e.timed("run", "--rm", *rt.get(e.name, []), image, "true"))

        alternate(engs, args.runs, run_true)

        def run_true_ours(e: Engine, i: int) -> None:
            res.add("run --rm true (our CLI)", e.name, e.timed_ours("run", "--rm", *rt.get(e.name, []), image, "true"))

        alternate(engs, args.runs, run_true_ours)

        def run_many(e: Engine, i: int) -> None:
            t = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(args.concurrent) as ex:
                list(ex.map(lambda _: e.docker("run", "--rm", *rt.get(e.name, []), image, "true"),
                            range(args.concurrent)))
            res.add(f"{args.concurrent} concurrent run --rm", e.name, time.perf_counter() - t)

        alternate(engs, 1, run_many)
        label = f"bench={uuid.uuid4().hex[:6]}"
        for e in engs:
            with concurrent.futures.ThreadPoolExecutor(8) as ex:
                list(ex.map(functools.partial(_create, e, label, image), range(args.many)))

        def listing(e: Engine, i: int) -> None:
            res.add(f"ps -a ({args.many} containers)", e.name, e.timed("ps", "-a"))
            if e.host.startswith("unix://"):
                res.add("GET /containers/json?all=1 x100", e.name, api_rate(e, "/containers/json?all=1", 100))

        alternate(engs, args.runs, listing)
        for e in engs:
            e.docker("container", "prune", "-f", "--filter", f"label={label}")
            e.docker("rmi", image, check=False)
    print(res.report(engs))


if __name__ == "__main__":
    main()
