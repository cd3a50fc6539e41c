"""The build corpus: every case built by us through the docker CLI, equal to what dockerd built.

tests/golden/build_corpus/<case>/expected.json was recorded from dockerd 20.10's
legacy builder by record.py there (or written by hand where that builder lacks
the feature: a HANDWRITTEN file says why). The config fields and the
filesystem a build adds over busybox (paths, types, modes, owners, sizes,
contents, link targets, deletions) must be equal; times are not compared.
Each case runs on the session daemon and on one using the native snapshotter.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import DOCKER, docker
from tests.support import buildcorpus
from tests.support.busybox import rootfs_tar_bytes
from tests.support.daemon import DaemonProc, new_daemon


def _params() -> list[object]:
    out: list[object] = []
    for case in buildcorpus.cases():
        reason = buildcorpus.xfail_reason(case)
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        out.append(pytest.param(case, marks=marks, id=case))
    return out


def _import_base(d: DaemonProc) -> None:
    if docker(d, "image", "inspect", buildcorpus.BASE_TAG, check=False).returncode != 0:
        docker(d, "import", "-", buildcorpus.BASE_TAG, input=rootfs_tar_bytes())


@pytest.fixture(scope="module")
def native_daemon(dw_daemon: DaemonProc) -> Iterator[DaemonProc]:
    """A second daemon on the native (copying) snapshotter: its layers come from a tree diff,
    not from an overlay upper dir, and COPY writes through the merged view."""
    d = new_daemon(extra_args=["--storage-driver", "native"])
    try:
        d.start()
        _import_base(d)
        yield d
    finally:
        d.cleanup()


@pytest.fixture(params=["default", "native"])
def daemon(request: pytest.FixtureRequest, dw_daemon: DaemonProc) -> DaemonProc:
    d: DaemonProc = request.getfixturevalue("native_daemon") if request.param == "native" else dw_daemon
    _import_base(d)
    return d


def _save(d: DaemonProc, tag: str) -> bytes:
    r = subprocess.run([DOCKER, "save", tag], env=d.env, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return r.stdout


def test_corpus_is_complete() -> None:
    cases = buildcorpus.cases()
    recorded = [c for c in cases if not buildcorpus.handwritten(c)]
    assert len(cases) >= 32 and len(recorded) >= 30
    for c in cases:
        assert (buildcorpus.CORPUS / c / "expected.json").is_file(), f"{c}: run record.py"


@pytest.mark.parametrize("case", _params())
def test_build_matches_dockerd(case: str, daemon: DaemonProc, tmp_path: Path) -> None:
    ctx = buildcorpus.prepare(case, tmp_path / "ctx")
    tag = f"dwcorpus-{uuid.uuid4().hex[:8]}:{case}"
    with buildcorpus.serving(case) as url:
        docker(daemon, "build", "-q", "-t", tag, *buildcorpus.build_args(case, url), str(ctx))
    try:
        got = buildcorpus.result(_save(daemon, tag))
    finally:
        docker(daemon, "rmi", tag, check=False)
    diff = buildcorpus.compare(buildcorpus.read_expected(case), got)
    assert not diff, f"{case}: our build differs from dockerd's\n{diff}"
