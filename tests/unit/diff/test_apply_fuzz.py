"""Property: whatever a layer contains, apply_layer writes nothing outside its target."""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockwright.diff.apply import apply_layer
from dockwright.errors import InvalidParameter
from tests.conformance.storage_helpers import is_root

COMPONENTS = ["a", "b", "..", ".", "", ".wh.a", ".wh..wh..opq", "OUT"]
KINDS = ["file", "dir", "sym", "hard"]


def _path(parts: list[str], outside: str) -> str:
    return "/".join(outside if p == "OUT" else p for p in parts)


entry = st.tuples(
    st.sampled_from(KINDS),
    st.lists(st.sampled_from(COMPONENTS), min_size=1, max_size=4),
    st.lists(st.sampled_from(COMPONENTS), min_size=1, max_size=4),
    st.booleans(),
)


def _snapshot(d: Path) -> set[str]:
    out = set()
    for dirpath, dirnames, filenames in os.walk(d):
        for n in dirnames + filenames:
            out.add(os.path.relpath(os.path.join(dirpath, n), d))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(entry, min_size=1, max_size=8), st.sampled_from(["native", "overlay"]))
def test_nothing_escapes(entries: list[tuple[str, list[str], list[str], bool]], fmt: str) -> None:
    if fmt == "overlay" and not is_root():
        fmt = "native"
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        target, outside = base / "target", base / "outside"
        target.mkdir()
        outside.mkdir()
        (outside / "a").write_text("canary")
        before = _snapshot(base) - {"target"}
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for kind, name, link, absolute in entries:
                ti = tarfile.TarInfo(("/" if absolute else "") + _path(name, "../outside"))
                if kind == "dir":
                    ti.type = tarfile.DIRTYPE
                elif kind == "sym":
                    ti.type = tarfile.SYMTYPE
                    ti.linkname = _path(link, str(outside))
                elif kind == "hard":
                    ti.type = tarfile.LNKTYPE
                    ti.linkname = _path(link, "../outside")
                if kind == "file":
                    ti.size = 1
                    tar.addfile(ti, io.BytesIO(b"x"))
                else:
                    tar.addfile(ti)
        try:
            apply_layer(target, io.BytesIO(buf.getvalue()), whiteouts=fmt)
        except InvalidParameter:
            pass
        after = {p for p in _snapshot(base) if not p.startswith("target")}
        assert after == before
        assert (outside / "a").read_text() == "canary"
        assert os.stat(outside / "a").st_nlink == 1


def _sample_layer() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for i in range(4):
            ti = tarfile.TarInfo(f"dir{i}/" + "n" * (30 * i) + "/file")
            ti.size = 700
            ti.pax_headers = {"SCHILY.xattr.user.x": "v"}
            tar.addfile(ti, io.BytesIO(b"y" * 700))
    return buf.getvalue()


SAMPLE = _sample_layer()


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, len(SAMPLE) - 1), st.integers(0, 255)), max_size=6),
    st.integers(0, len(SAMPLE)),
    st.sampled_from(["", "gzip", "zstd"]),
)
def test_corrupt_input_is_invalid_parameter_only(flips: list[tuple[int, int]], cut: int, kind: str) -> None:
    from tests.conformance.storage_helpers import compress

    data = bytearray(SAMPLE)
    for pos, val in flips:
        data[pos] = val
    blob = compress(bytes(data), kind)[:cut] if kind else bytes(data[:cut])
    with tempfile.TemporaryDirectory() as tmp:
        try:
            apply_layer(Path(tmp), io.BytesIO(blob), whiteouts="native")
        except InvalidParameter:
            pass
