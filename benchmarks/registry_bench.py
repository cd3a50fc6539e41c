"""Registry benchmark: skopeo push/pull of a ~300 MB image, and blob GET throughput under load.

    .venv/bin/python benchmarks/registry_bench.py                       # our registry, fresh temp root
    .venv/bin/python benchmarks/registry_bench.py --against http://127.0.0.1:5001   # plus another one

Runs the same scenarios against ``dockwright registry serve`` (started here
on a free port) and, with ``--against URL``, another registry such as Debian's
``docker-registry`` (CNCF Distribution) or ``registry:2``, alternating runs so
both see the same machine noise. The blob GET load uses 16 concurrent curl
processes (``--clients``), so the client is not the bottleneck. Compare
ratios, not absolute figures.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[1]
MiB = 1 << 20


def start_ours(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cfg = workdir / "config.yml"
    cfg.write_text(
        "version: 0.1\n"
        f"http: {{addr: '127.0.0.1:{port}'}}\n"
        f"storage: {{filesystem: {{rootdirectory: '{workdir / 'root'}'}}, delete: {{enabled: true}}}}\n"
        "log: {level: warning, accesslog: {disabled: true}}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    with open(workdir / "registry.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "dockwright", "registry", "serve", str(cfg)],
                                env=env, stdout=subprocess.DEVNULL, stderr=log)
    if wait_for_port(port, 20):
        return proc, f"http://127.0.0.1:{port}"
    proc.kill()
    raise SystemExit("dockwright registry did not start")


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def make_image(layout: Path, total_mb: int, layers: int) -> int:
    """An OCI layout with ``layers`` gzip layers of random data (incompressible, so ~total_mb on the wire)."""
    import gzip

    (layout / "blobs/sha256").mkdir(parents=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')

    def blob(data: bytes) -> str:
        d = _sha(data)
        (layout / "blobs/sha256" / d.split(":")[1]).write_bytes(data)
        return d

    descs, diff_ids, size = [], [], 0
    per = total_mb * MiB // layers
    for i in range(layers):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tf:
            ti = tarfile.TarInfo(f"data{i}.bin")
            ti.size = per
            tf.addfile(ti, io.BytesIO(os.urandom(per)))
        raw = buf.getvalue()
        gz = gzip.compress(raw, compresslevel=1, mtime=0)
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": blob(gz),
                      "size": len(gz)})
        diff_ids.append(_sha(raw))
        size += len(gz)
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": blob(config), "size": len(config)},
                           "layers": descs}).encode()
    md = blob(manifest)
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": len(manifest),
        "annotations": {"org.opencontainers.image.ref.name": "bench"}}]}))
    return size


def skopeo(*args: str) -> float:
    t = time.perf_counter()
    r = subprocess.run(["skopeo", "--insecure-policy", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"skopeo {' '.join(args)}: {r.stderr}")
    return time.perf_counter() - t


def host_of(url: str) -> tuple[str, str]:
    scheme, _, host = url.partition("://")
    return host.rstrip("/"), ("--tls-verify=false" if scheme == "http" else "--tls-verify=true")


def push_pull(url: str, layout: Path, tmp: Path, run: int) -> tuple[float, float]:
    host, tls = host_of(url)
    repo = f"bench/img{run}-{os.getpid()}"
    dst_tls = tls.replace("--tls", "--dest-tls")
    src_tls = tls.replace("--tls", "--src-tls")
    push = skopeo("copy", dst_tls, f"oci:{layout}:bench", f"docker://{host}/{repo}:v1")
    out = tmp / f"pull-{run}-{host.replace(':', '_')}"
    pull = skopeo("copy", src_tls, f"docker://{host}/{repo}:v1", f"oci:{out}:v1")
    shutil.rmtree(out, ignore_errors=True)
    return push, pull


def upload_blob(url: str, data: bytes) -> str:
    d = _sha(data)
    req = urllib.request.Request(f"{url}/v2/bench/blob/blobs/uploads/", method="POST", data=b"")
    with urllib.request.urlopen(req) as r:
        loc = r.headers["Location"]
    if loc.startswith("/"):
        loc = url + loc
    sep = "&" if "?" in loc else "?"
    req = urllib.request.Request(f"{loc}{sep}digest={d}", method="PUT", data=data,
                                 headers={"Content-Type": "application/octet-stream"})
    with urllib.request.urlopen(req) as r:
        assert r.status == 201
    return d


def blob_get_load(url: str, digest: str, size: int, clients: int, requests_per_client: int) -> tuple[float, float]:
    """(MB/s, requests/s) of ``clients`` concurrent curls each fetching the blob repeatedly."""
    blob_url = f"{url}/v2/bench/blob/blobs/{digest}"

    def one(_: int) -> int:
        args = ["curl", "-s", "-f", "-o", "/dev/null", "-L", "-k"]
        for _i in range(requests_per_client):
            args += [blob_url, "-o", "/dev/null"]
        subprocess.run(args[:-2], check=True)
        return requests_per_client

    t = time.perf_counter()
    with ThreadPoolExecutor(clients) as ex:
        n = sum(ex.map(one, range(clients)))
    dt = time.perf_counter() - t
    return n * size / MiB / dt, n / dt


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--against", help="URL of another registry to run the same scenarios on")
    ap.add_argument("--url", help="use this dockwright registry instead of starting one")
    ap.add_argument("--image-mb", type=int, default=300)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--blob-mb", type=int, default=64)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--gets", type=int, default=4, help="GETs per client")
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()
    if not shutil.which("skopeo") or not shutil.which("curl"):
        raise SystemExit("skopeo and curl are needed")
    tmp = Path(tempfile.mkdtemp(prefix="dw-regbench-"))
    proc = None
    try:
        if args.url:
            ours = args.url.rstrip("/")
        else:
            proc, ours = start_ours(tmp)
        targets = [("dockwright", ours)] + ([("other", args.against.rstrip("/"))] if args.against else [])
        results: dict[str, dict[str, list[float]]] = {name: {} for name, _ in targets}
        size = 0
        for run in range(args.runs):
            # fresh random layers per run, so no push is short-cut by a mount of known blobs
            layout = tmp / f"layout{run}"
            print(f"building a {args.image_mb} MB image in {args.layers} layers ...", flush=True)
            size = make_image(layout, args.image_mb, args.layers)
            for name, url in targets:
                push, pull = push_pull(url, layout, tmp, run)
                results[name].setdefault("push", []).append(push)
                results[name].setdefault("pull", []).append(pull)
                print(f"[{name}] run {run}: push {push:.2f}s  pull {pull:.2f}s", flush=True)
            shutil.rmtree(layout, ignore_errors=True)
        blob = os.urandom(args.blob_mb * MiB)
        for name, url in targets:
            d = upload_blob(url, blob)
            for _ in range(args.runs):
                mbps, rps = blob_get_load(url, d, len(blob), args.clients, args.gets)
                results[name].setdefault("get_mbps", []).append(mbps)
                results[name].setdefault("get_rps", []).append(rps)
                print(f"[{name}] blob GET x{args.clients} clients: {mbps:.0f} MB/s, {rps:.1f} req/s", flush=True)
        print()
        print(f"image {size / MiB:.0f} MB on the wire; blob {args.blob_mb} MB; {args.clients} clients")
        print(f"{'metric':<26}" + "".join(f"{n:>16}" for n, _ in targets))
        for metric, label in (("push", "skopeo push (s, median)"), ("pull", "skopeo pull (s, median)"),
                              ("get_mbps", "blob GET MB/s (median)"), ("get_rps", "blob GET req/s (median)")):
            row = "".join(f"{statistics.median(results[n][metric]):>16.2f}" for n, _ in targets)
            print(f"{label:<26}{row}")
        for metric in ("push", "pull"):
            med = statistics.median(results["dockwright"][metric])
            print(f"{'push' if metric == 'push' else 'pull'} throughput dockwright: {size / MiB / med:.0f} MB/s")
        return 0
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
