"""Build benchmark: cold, nothing-changed, one-file-change and bad-ordering builds of an app-shaped
context (a dependency manifest, an install step that unpacks thousands of files, ~2000 source
files), and two independent stages; each through the docker CLI (legacy builder), beside another
engine with ``--against``.

    sudo .venv/bin/python benchmarks/build.py [--against unix:///var/run/docker.sock] [--files 2000]
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path

from _common import Engine, Results, alternate, engines, make_app_context, parser
from tests.support.busybox import rootfs_tar_bytes

GOOD = """FROM {base}
WORKDIR /app
COPY requirements.txt deps.tar /deps/
RUN mkdir -p /opt/deps && tar -xf /deps/deps.tar -C /opt/deps && rm /deps/deps.tar && find /opt/deps | wc -l
COPY src/ /app/
CMD ["sh"]
"""
BAD = """FROM {base}
WORKDIR /app
COPY . /app
RUN mkdir -p /opt/deps && tar -xf /app/deps.tar -C /opt/deps && find /opt/deps | wc -l
CMD ["sh"]
"""
MULTI = """FROM {base} AS deps
COPY deps.tar /deps.tar
RUN mkdir -p /opt/deps && tar -xf /deps.tar -C /opt/deps && find /opt/deps | wc -l > /opt/count && sleep 1
FROM {base} AS assets
COPY src/ /src/
RUN mkdir /assets && cat /src/pkg0/*.py > /assets/all.txt && sleep 1
FROM {base}
COPY --from=deps /opt/count /opt/count
COPY --from=assets /assets /assets
"""


def make_context(root: Path, files: int) -> None:
    make_app_context(root, deps=3000, files=files, pkg_dirs=40, sizes=(200, 3000), seed=42)
    (root / ".dockerignore").write_text("*.pyc\n.git\n")


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--files", type=int, default=2000)
    args = p.parse_args()
    base = f"bench-build-base-{uuid.uuid4().hex[:6]}:1"
    tag = f"bench-build-{uuid.uuid4().hex[:6]}"
    res = Results()
    tmp = Path(tempfile.mkdtemp(prefix="dw-bench-build-"))
    try:
        ctx = tmp / "ctx"
        ctx.mkdir()
        make_context(ctx, args.files)
        for name, text in (("Dockerfile", GOOD), ("Dockerfile.bad", BAD), ("Dockerfile.multi", MULTI)):
            (ctx / name).write_text(text.format(base=base))
        with engines(args) as engs:
            for e in engs:
                e.docker("import", "-", base, input=rootfs_tar_bytes())

            def build(e: Engine, *extra: str) -> float:
                return e.timed("build", "-q", "-t", f"{tag}:1", *extra, str(ctx))

            def cold(e: Engine, i: int) -> None:
                res.add("cold build (--no-cache)", e.name, build(e, "--no-cache"))

            def warm(e: Engine, i: int) -> None:
                res.add("rebuild, nothing changed", e.name, build(e))

            def one_file(e: Engine, i: int) -> None:
                (ctx / "src" / "pkg3" / "m3.py").write_text(f"x = {uuid.uuid4().hex!r}\n")
                res.add("rebuild, one source file changed", e.name, build(e))

            def bad(e: Engine, i: int) -> None:
                (ctx / "src" / "pkg3" / "m3.py").write_text(f"x = {uuid.uuid4().hex!r}\n")
                res.add("bad ordering, one file changed", e.name, build(e, "-f", str(ctx / "Dockerfile.bad")))

            def multi(e: Engine, i: int) -> None:
                res.add("two independent stages (--no-cache)", e.name,
                        build(e, "--no-cache", "-f", str(ctx / "Dockerfile.multi")))

            def stages_apart(e: Engine, i: int) -> None:
                # the goal: both stages together in at most 0.6 of their separate times' sum
                multi_df = str(ctx / "Dockerfile.multi")
                apart = sum(build(e, "--no-cache", "--target", t, "-f", multi_df) for t in ("deps", "assets"))
                res.add("the two stages built apart, summed (--no-cache --target)", e.name, apart)

            for e in engs:
                build(e)  # warm up both caches
                build(e, "-f", str(ctx / "Dockerfile.bad"))
            for fn in (cold, warm, one_file, bad, multi, stages_apart):
                alternate(engs, args.runs, fn)
            for e in engs:
                e.docker("rmi", f"{tag}:1", check=False)
                e.docker("image", "prune", "-f", check=False)
                e.docker("rmi", base, check=False)
                e.docker("builder", "prune", "-af", check=False)
        print(res.report(engs))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
