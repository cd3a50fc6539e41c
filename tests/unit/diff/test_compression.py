"""Compression detection and streams."""

from __future__ import annotations

import io
import os

import pytest

from dockwright.diff import compression
from dockwright.errors import InvalidParameter


def test_detect() -> None:
    assert compression.detect(b"\x1f\x8b\x08") == "gzip"
    assert compression.detect(b"\x28\xb5\x2f\xfd") == "zstd"
    assert compression.detect(b"usr/") == ""
    assert compression.detect(b"") == ""


@pytest.mark.parametrize("kind", ["gzip", "zstd", ""])
def test_round_trip_keeps_out_open(kind: str) -> None:
    data = os.urandom(50_000) * 4
    out = io.BytesIO()
    w = compression.compressing_writer(out, kind)
    w.write(data)
    w.close()
    assert not out.closed
    blob = out.getvalue()
    assert compression.detect(blob[:8]) == kind
    assert compression.decompressing_reader(io.BytesIO(blob)).read() == data


def test_concatenated_zstd_frames() -> None:
    out = io.BytesIO()
    for part in (b"one ", b"two"):
        w = compression.compressing_writer(out, "zstd")
        w.write(part)
        w.close()
    assert compression.decompressing_reader(io.BytesIO(out.getvalue())).read() == b"one two"


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_corrupt_and_truncated(kind: str) -> None:
    out = io.BytesIO()
    w = compression.compressing_writer(out, kind)
    w.write(os.urandom(100_000))
    w.close()
    blob = out.getvalue()
    with pytest.raises(InvalidParameter, match="truncated"):
        compression.decompressing_reader(io.BytesIO(blob[:-100])).read()
    bad = bytearray(blob)
    bad[len(bad) // 2] ^= 0xFF
    with pytest.raises(InvalidParameter):
        compression.decompressing_reader(io.BytesIO(bytes(bad))).read()


def test_unknown_kind() -> None:
    with pytest.raises(InvalidParameter):
        compression.compressing_writer(io.BytesIO(), "lz4")
