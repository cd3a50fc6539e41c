"""Published ports benchmark: through ``-p 127.0.0.1::80`` to busybox httpd in a container, the time
from ``docker run -d`` to the first answer, 300 requests each on its own connection, and a 64 MiB
download; each beside another engine with ``--against`` (dockerd forwards loopback traffic through
its userland ``docker-proxy``, as we do through ours).

    sudo .venv/bin/python benchmarks/ports.py [--against unix:///var/run/docker.sock] [--runs 3]
"""

from __future__ import annotations

import time
import uuid

from _common import Engine, Results, alternate, engines, parser
from tests.support.busybox import rootfs_tar_bytes
from tests.support.ports import http_get

HTTPD = ("mkdir -p /www && echo hi > /www/index.html && dd if=/dev/zero of=/www/big bs=1M count=64 2>/dev/null"
         " && exec httpd -f -p 80 -h /www")
REQUESTS = 300


def main() -> None:
    args = parser(__doc__ or "").parse_args()
    image = f"bench-ports-{uuid.uuid4().hex[:6]}:1"
    res = Results()
    res.units["64 MiB download"] = ("MB/s", 64 * 1.048576)
    res.units[f"{REQUESTS} requests"] = ("req/s", REQUESTS)
    with engines(args) as engs:
        for e in engs:
            e.docker("import", "-", image, input=rootfs_tar_bytes())

        def scenario(e: Engine, i: int) -> None:
            name = f"bench-ports-{uuid.uuid4().hex[:8]}"
            t = time.perf_counter()
            e.docker("run", "-d", "--name", name, "-p", "127.0.0.1::80", image, "sh", "-c", HTTPD)
            port = int(e.docker("port", name, "80").stdout.decode().split(":")[-1])
            http_get(port, wait=10, interval=0.005)
            res.add("run -d -p to first answer", e.name, time.perf_counter() - t)
            try:
                t = time.perf_counter()
                for _ in range(REQUESTS):
                    http_get(port, wait=0)
                res.add(f"{REQUESTS} requests", e.name, time.perf_counter() - t)
                t = time.perf_counter()
                assert len(http_get(port, "/big", wait=0)) == 64 << 20
                res.add("64 MiB download", e.name, time.perf_counter() - t)
            finally:
                e.docker("rm", "-f", name)

        alternate(engs, args.runs, scenario)
        for e in engs:
            e.docker("rmi", image, check=False)
    print(res.report(engs))


if __name__ == "__main__":
    main()
