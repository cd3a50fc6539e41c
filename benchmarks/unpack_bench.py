"""Layer unpack and diff throughput: many small files, and one big random gzip layer.

    .venv/bin/python benchmarks/unpack_bench.py [--files 20000] [--big-mb 300] [--dir /dev/shm]

Prints files/s and MB/s for apply_layer (overlay whiteout format) and write_diff.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import tarfile
import tempfile
import time
from pathlib import Path

from dockwright.diff.apply import apply_layer
from dockwright.diff.compression import compressing_writer
from dockwright.diff.tarwrite import write_diff


def small_files_tar(n: int, size: int = 512) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        per_dir = 100
        for d in range((n + per_dir - 1) // per_dir):
            ti = tarfile.TarInfo(f"usr/share/d{d:04d}")
            ti.type = tarfile.DIRTYPE
            ti.mode = 0o755
            tar.addfile(ti)
            for i in range(min(per_dir, n - d * per_dir)):
                data = os.urandom(size)
                ti = tarfile.TarInfo(f"usr/share/d{d:04d}/f{i:03d}.txt")
                ti.size = len(data)
                ti.mode = 0o644
                ti.mtime = 1_700_000_000
                tar.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def big_layer(path: Path, mb: int) -> None:
    with path.open("wb") as f:
        gz = compressing_writer(f, "gzip")
        with tarfile.open(fileobj=gz, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            per = 50
            for i in range(0, mb, per):
                n = min(per, mb - i) << 20
                ti = tarfile.TarInfo(f"data/blob{i // per:03d}.bin")
                ti.size = n
                tar.addfile(ti, io.BytesIO(os.urandom(n)))
        gz.close()


def bare_create(root: Path, n: int, size: int = 512) -> float:
    """Files/s of a plain create+write loop: the filesystem's floor, to judge apply against."""
    data = os.urandom(size)
    root.mkdir()
    t = time.perf_counter()
    for d in range((n + 99) // 100):
        sub = root / f"d{d}"
        sub.mkdir()
        for i in range(min(100, n - d * 100)):
            fd = os.open(sub / f"f{i}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.write(fd, data)
            os.close(fd)
    rate = n / (time.perf_counter() - t)
    shutil.rmtree(root)
    return rate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=20_000)
    ap.add_argument("--big-mb", type=int, default=300)
    ap.add_argument("--dir", default=None, help="where to unpack (e.g. /dev/shm to leave the disk out)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="dw-bench-", dir=args.dir) as tmp:
        root = Path(tmp)
        print(f"baseline (bare create+write loop): {bare_create(root / 'bare', args.files):,.0f} files/s")
        layer = small_files_tar(args.files)
        target = root / "small"
        target.mkdir()
        t = time.perf_counter()
        res = apply_layer(target, io.BytesIO(layer))
        dt = time.perf_counter() - t
        print(
            f"apply small: {args.files} files in {dt:.2f}s = {args.files / dt:,.0f} files/s "
            f"({len(layer) / dt / 1e6:.1f} MB/s of tar)"
        )
        t = time.perf_counter()
        out = io.BytesIO()
        d = write_diff(target, out)
        dt = time.perf_counter() - t
        print(f"write_diff small: {args.files / dt:,.0f} files/s ({d.size / dt / 1e6:.1f} MB/s)")
        shutil.rmtree(target)
        del layer, out

        blob = root / "big.tar.gz"
        big_layer(blob, args.big_mb)
        target = root / "big"
        target.mkdir()
        t = time.perf_counter()
        with blob.open("rb") as f:
            res = apply_layer(target, f)
        dt = time.perf_counter() - t
        print(
            f"apply big gzip: {res.size / 1e6:.0f} MB in {dt:.2f}s = {res.size / dt / 1e6:.0f} MB/s "
            f"(compressed {res.compressed_size / 1e6:.0f} MB)"
        )
        t = time.perf_counter()
        with open(os.devnull, "wb") as null:
            d = write_diff(target, null)
        dt = time.perf_counter() - t
        print(f"write_diff big: {d.size / dt / 1e6:.0f} MB/s")


if __name__ == "__main__":
    main()
