"""The on-disk layout the module docstring promises (other tools and fsck rely on it)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from dockwright.content.store import ContentStore
from dockwright.oci.digest import sha256_bytes


def test_ingest_and_blob_layout(tmp_path: Path) -> None:
    s = ContentStore(tmp_path)
    w = s.writer("layer-sha256:abc", expected=sha256_bytes(b"data"))
    w.write(b"da")
    w.close()
    d = tmp_path / "ingest" / hashlib.sha256(b"layer-sha256:abc").hexdigest()
    assert {p.name for p in d.iterdir()} >= {"data", "ref", "expected", "startedat"}
    assert (d / "ref").read_text() == "layer-sha256:abc"
    assert (d / "expected").read_text() == sha256_bytes(b"data")
    w = s.writer("layer-sha256:abc")
    w.write(b"ta")
    digest = w.commit(4)
    assert (tmp_path / "blobs" / "sha256" / digest.split(":")[1]).read_bytes() == b"data"
    assert not d.exists()
    assert s.path(digest) == tmp_path / "blobs" / "sha256" / digest.split(":")[1]


def test_status_of_open_writer(tmp_path: Path) -> None:
    s = ContentStore(tmp_path)
    with s.writer("r") as w:
        w.write(b"12345")
        st = w.status()
        assert (st.ref, st.offset, st.expected) == ("r", 5, None)
        assert st.started_at > 0
    assert s.status("r").offset == 5
    s.abort("r")
