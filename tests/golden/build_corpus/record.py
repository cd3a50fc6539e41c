"""Record expected.json for every corpus case by building it with a real dockerd.

    .venv/bin/python tests/golden/build_corpus/record.py [case ...]

Uses dockerd's legacy builder (DOCKER_BUILDKIT=0) at DOCKER_HOST (default
unix:///var/run/docker.sock) through the docker CLI. The base image is
imported as dwcorpus-busybox:1 from tests/support/busybox.py; every image made
here is removed at the end. Cases with a HANDWRITTEN file are skipped: their
expected.json is written by hand. Review the diff of the fixtures before
committing them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from tests.support import buildcorpus  # noqa: E402
from tests.support.busybox import rootfs_tar_bytes  # noqa: E402

DOCKER = os.environ.get("DOCKER", "/usr/local/bin/docker")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DOCKER_HOST", "unix:///var/run/docker.sock")
    env["DOCKER_BUILDKIT"] = "0"
    env.pop("DOCKER_CONTEXT", None)
    return env


def docker(*args: str, input: bytes | None = None) -> bytes:
    r = subprocess.run([DOCKER, *args], env=_env(), input=input, capture_output=True, timeout=300)
    if r.returncode != 0:
        raise SystemExit(f"docker {' '.join(args)} failed:\n{r.stdout.decode()}\n{r.stderr.decode()}")
    return r.stdout


def server_version() -> str:
    return docker("version", "--format", "{{.Server.Version}}").decode().strip()


def record(case: str, tmp: Path, version: str) -> None:
    ctx = buildcorpus.prepare(case, tmp / case)
    tag = f"dwcorpus-rec-{uuid.uuid4().hex[:8]}:{case}"
    try:
        with buildcorpus.serving(case) as url:
            docker("build", "--rm", "--force-rm", "-t", tag, *buildcorpus.build_args(case, url), str(ctx))
        doc = buildcorpus.result(docker("save", tag))
    finally:
        subprocess.run([DOCKER, "rmi", "-f", tag], env=_env(), capture_output=True)
    doc["source"] = f"recorded from dockerd {version}, legacy builder (DOCKER_BUILDKIT=0)"
    (buildcorpus.CORPUS / case / "expected.json").write_text(buildcorpus.render(doc))
    print(f"recorded {case}: {len(doc['changed'])} changed, {len(doc['deleted'])} deleted")


def remove_descendants(base_id: str) -> None:
    """The base and every image built on it, children first: the legacy builder leaves the
    images of stages other than the last one behind, untagged."""
    ids = docker("images", "-a", "-q", "--no-trunc").decode().split()
    parents: dict[str, str] = {}
    if ids:
        for img in json.loads(docker("image", "inspect", *sorted(set(ids)))):
            parents[img["Id"]] = img.get("Parent") or ""

    def chain(i: str) -> list[str]:
        out = [i]
        while parents.get(out[-1]):
            out.append(parents[out[-1]])
        return out

    mine = sorted(((len(chain(i)), i) for i in parents if chain(i)[-1] == base_id), reverse=True)
    for _, image in mine:
        subprocess.run([DOCKER, "rmi", "-f", image], env=_env(), capture_output=True)


def main(argv: list[str]) -> None:
    names = argv or buildcorpus.cases()
    version = server_version()
    had_base = subprocess.run([DOCKER, "image", "inspect", buildcorpus.BASE_TAG], env=_env(),
                              capture_output=True).returncode == 0
    if not had_base:
        docker("import", "-", buildcorpus.BASE_TAG, input=rootfs_tar_bytes())
    base_id = docker("image", "inspect", "--format", "{{.Id}}", buildcorpus.BASE_TAG).decode().strip()
    try:
        with tempfile.TemporaryDirectory(prefix="dwcorpus-") as t:
            for case in names:
                if buildcorpus.handwritten(case):
                    print(f"skipped {case}: hand-written ({buildcorpus.handwritten(case)})")
                    continue
                record(case, Path(t), version)
    finally:
        if not had_base:
            remove_descendants(base_id)


if __name__ == "__main__":
    main(sys.argv[1:])
