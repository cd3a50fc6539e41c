"""Content store conformance: every ContentStore implementation runs these cases."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dockwright.content.store import ContentStore
from dockwright.errors import AlreadyExists, FailedPrecondition, InvalidParameter, NotFound, Unavailable
from dockwright.oci.digest import Digest, sha256_bytes

Factory = Callable[[], ContentStore]

IMPLEMENTATIONS: dict[str, Callable[[Path], ContentStore]] = {"local": ContentStore}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    root = tmp_path / "content"
    impl = IMPLEMENTATIONS[request.param]
    yield lambda: impl(root)
    # Teardown: no test may leave an ingest behind, nor a stray file in blobs/.
    leftovers = [p.name for p in (root / "ingest").iterdir()] if (root / "ingest").exists() else []
    assert not leftovers, f"ingests left behind: {leftovers}"
    for p in (root / "blobs").rglob("*"):
        if p.is_file():
            want = hashlib.new(p.parent.name, p.read_bytes()).hexdigest()
            assert p.name == want, f"unverified file {p}"


@pytest.fixture
def store(make_store: Factory) -> ContentStore:
    return make_store()


def test_writer_commit(store: ContentStore) -> None:
    data = b"hello " * 1000
    d = sha256_bytes(data)
    with store.writer("ref-1", expected=d) as w:
        for i in range(0, len(data), 777):
            w.write(data[i : i + 777])
        assert w.offset() == len(data)
        assert w.digest() == d
        assert w.commit(len(data), d) == d
    info = store.info(d)
    assert (info.digest, info.size) == (d, len(data))
    assert store.read_bytes(d) == data
    assert store.exists(d)
    mode = stat.S_IMODE(store.path(d).stat().st_mode)
    assert mode == 0o444
    with store.open(d) as f:
        assert f.read(5) == b"hello"
    assert store.ingests() == []


def test_commit_without_expected_uses_computed_digest(store: ContentStore) -> None:
    w = store.writer("ref-x")
    w.write(b"abc")
    assert w.commit() == sha256_bytes(b"abc")


def test_commit_existing_aborts_writer(store: ContentStore) -> None:
    d = store.put_bytes(b"same")
    w = store.writer("ref-2")
    w.write(b"same")
    with pytest.raises(AlreadyExists):
        w.commit(4, d)
    assert store.ingests() == []
    with pytest.raises(FailedPrecondition):
        w.write(b"more")  # commit always closes


def test_writer_for_present_blob_is_already_exists(store: ContentStore) -> None:
    d = store.put_bytes(b"present")
    with pytest.raises(AlreadyExists):
        store.writer("ref-3", expected=d)


def test_size_mismatch_removes_ingest(store: ContentStore) -> None:
    w = store.writer("ref-4")
    w.write(b"12345")
    with pytest.raises(FailedPrecondition, match="size"):
        w.commit(6)
    assert store.ingests() == []


def test_digest_mismatch_removes_ingest(store: ContentStore) -> None:
    w = store.writer("ref-5")
    w.write(b"12345")
    with pytest.raises(FailedPrecondition, match="digest"):
        w.commit(5, sha256_bytes(b"other"))
    assert store.ingests() == []
    assert not store.exists(sha256_bytes(b"12345"))


def test_resume_after_close(store: ContentStore) -> None:
    data = os.urandom(100_000)
    d = sha256_bytes(data)
    w = store.writer("ref-6", expected=d)
    w.write(data[:40_000])
    w.close()
    [st] = store.ingests()
    assert (st.ref, st.offset, st.expected) == ("ref-6", 40_000, d)
    w = store.writer("ref-6")
    assert w.offset() == 40_000
    assert w.digest() == sha256_bytes(data[:40_000])
    w.write(data[40_000:])
    assert w.commit(len(data)) == d


def test_resume_after_restart(make_store: Factory) -> None:
    data = os.urandom(10_000)
    s1 = make_store()
    w = s1.writer("ref-7")
    w.write(data[:3000])
    w.close()
    s2 = make_store()
    w2 = s2.writer("ref-7")
    assert w2.offset() == 3000
    w2.write(data[3000:])
    assert w2.commit(len(data), sha256_bytes(data)) == sha256_bytes(data)


def test_second_writer_on_same_ref_is_unavailable(store: ContentStore) -> None:
    w = store.writer("ref-8")
    with pytest.raises(Unavailable, match="locked"):
        store.writer("ref-8")
    with pytest.raises(Unavailable, match="locked"):
        store.abort("ref-8")
    w.close()
    w2 = store.writer("ref-8")
    w2.close()
    store.abort("ref-8")


def test_abort(store: ContentStore) -> None:
    w = store.writer("ref-9")
    w.write(b"partial")
    w.close()
    store.abort("ref-9")
    assert store.ingests() == []
    with pytest.raises(NotFound):
        store.abort("ref-9")


def test_not_found_and_invalid_digest(store: ContentStore) -> None:
    d = sha256_bytes(b"nope")
    with pytest.raises(NotFound, match=f"blob {d} not found"):
        store.info(d)
    with pytest.raises(NotFound):
        store.open(d)
    with pytest.raises(NotFound):
        store.delete(d)
    with pytest.raises(InvalidParameter):
        store.info(Digest("sha256:../../etc/passwd"))
    assert not store.exists(d)


def test_walk_delete_usage(store: ContentStore) -> None:
    blobs = [store.put_bytes(os.urandom(n)) for n in (10, 20, 30)]
    assert sorted(b.digest for b in store.walk()) == sorted(blobs)
    assert store.usage() == 60
    store.delete(blobs[0])
    assert not store.exists(blobs[0])
    assert store.usage() == 50


def test_verify_detects_corruption(store: ContentStore) -> None:
    d = store.put_bytes(b"good bytes")
    assert store.verify(d)
    p = store.path(d)
    p.chmod(0o644)
    p.write_bytes(b"bad bytes!")
    assert not store.verify(d)
    store.delete(d)


def test_put_bytes_idempotent_and_checked(store: ContentStore) -> None:
    d = store.put_bytes(b"x", sha256_bytes(b"x"))
    assert store.put_bytes(b"x") == d
    with pytest.raises(FailedPrecondition):
        store.put_bytes(b"y", sha256_bytes(b"z"))


def test_concurrent_puts_of_one_blob(store: ContentStore) -> None:
    data = os.urandom(200_000)
    results: list[Digest] = []
    errors: list[BaseException] = []

    def put() -> None:
        try:
            results.append(store.put_bytes(data))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=put) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert set(results) == {sha256_bytes(data)}
    assert store.verify(sha256_bytes(data))


def test_sha512(store: ContentStore) -> None:
    data = b"long hash"
    d = Digest("sha512:" + hashlib.sha512(data).hexdigest())
    w = store.writer("ref-512", expected=d)
    w.write(data)
    assert w.commit(len(data)) == d
    assert store.read_bytes(d) == data
