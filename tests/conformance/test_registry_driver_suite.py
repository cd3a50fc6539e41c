"""One conformance suite for every registry storage driver: filesystem, inmemory, S3 (moto server).

Each case works under a fresh prefix; teardown removes it and asserts the
driver holds nothing afterwards, so ``delete`` and directory pruning are
checked on every case too.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dockwright.registry.storage.driver.base import (
    InvalidOffset,
    InvalidPath,
    PathNotFound,
    StorageDriver,
    WriterClosed,
)
from dockwright.registry.storage.driver.filesystem import FilesystemDriver
from dockwright.registry.storage.driver.inmemory import InMemoryDriver
from dockwright.registry.storage.driver.s3 import MIN_PART, S3Driver, S3Params
from tests.support.moto import moto_server


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


def s3_driver(endpoint: str, bucket: str) -> S3Driver:
    params = S3Params(
        bucket=bucket,
        region="us-east-1",
        regionendpoint=endpoint,
        accesskey="test",
        secretkey="test",
        rootdirectory="registry",
        secure=False,
        chunksize=MIN_PART,
    )
    drv = S3Driver(params)
    drv.client.create_bucket(Bucket=bucket)
    return drv


@pytest.fixture(params=["filesystem", "inmemory", "s3"])
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StorageDriver]:
    drv: Any
    if request.param == "filesystem":
        drv = FilesystemDriver(str(tmp_path / "fs"))
    elif request.param == "inmemory":
        drv = InMemoryDriver()
    else:
        endpoint = request.getfixturevalue("moto_endpoint")
        bucket = f"b-{uuid.uuid4().hex[:12]}"
        drv = s3_driver(endpoint, bucket)
    yield drv
    for p in drv.list("/"):
        drv.delete(p)
    assert drv.list("/") == []
    assert list(drv.walk("/")) == []
    if request.param == "s3":
        left = drv.client.list_objects_v2(Bucket=drv.params.bucket).get("Contents", [])
        assert left == []
        uploads = drv.client.list_multipart_uploads(Bucket=drv.params.bucket).get("Uploads", [])
        for u in uploads:  # aborted on cancel; completed ones never linger
            drv.client.abort_multipart_upload(Bucket=drv.params.bucket, Key=u["Key"], UploadId=u["UploadId"])
        assert uploads == []
        drv.client.delete_bucket(Bucket=drv.params.bucket)
    if request.param == "filesystem":
        assert os.listdir(tmp_path / "fs") == []
        shutil.rmtree(tmp_path / "fs")


@pytest.fixture
def base() -> str:
    return f"/suite-{uuid.uuid4().hex[:8]}"


def test_put_get_overwrite(driver: StorageDriver, base: str) -> None:
    driver.put_content(f"{base}/a/file", b"one")
    assert driver.get_content(f"{base}/a/file") == b"one"
    driver.put_content(f"{base}/a/file", b"")
    assert driver.get_content(f"{base}/a/file") == b""
    driver.put_content(f"{base}/a/file", b"two" * 1000)
    assert driver.get_content(f"{base}/a/file") == b"two" * 1000


def test_missing_and_invalid_paths(driver: StorageDriver, base: str) -> None:
    with pytest.raises(PathNotFound):
        driver.get_content(f"{base}/missing")
    with pytest.raises(PathNotFound):
        driver.stat(f"{base}/missing")
    with pytest.raises(PathNotFound):
        driver.reader(f"{base}/missing")
    for bad in ("relative", "/a/../b", "/a b", "/a//b", "/", "", "/a/", "/a\x00"):
        with pytest.raises(InvalidPath):
            driver.put_content(bad, b"x")


def test_writer_commit_and_close_then_append(driver: StorageDriver, base: str) -> None:
    p = f"{base}/upload/data"
    w = driver.writer(p)
    assert w.write(b"hello ") == 6
    assert w.size() == 6
    w.close()
    assert driver.get_content(p) == b"hello "
    w = driver.writer(p, append=True)
    assert w.size() == 6
    w.write(b"world")
    w.commit()
    assert driver.get_content(p) == b"hello world"
    assert driver.stat(p).size == 11
    with pytest.raises(WriterClosed):
        w.write(b"more")
    with pytest.raises(PathNotFound):
        driver.writer(f"{base}/nope", append=True)
    w = driver.writer(p)  # not appending: starts afresh
    w.commit()
    assert driver.get_content(p) == b""


def test_writer_cancel(driver: StorageDriver, base: str) -> None:
    p = f"{base}/c/data"
    w = driver.writer(p)
    w.write(b"x" * 100)
    w.cancel()
    with pytest.raises(PathNotFound):
        driver.stat(p)
    with pytest.raises(WriterClosed):
        w.commit()


def test_large_writer_across_appends(driver: StorageDriver, base: str) -> None:
    """Big enough for multipart uploads (S3) and server-side copy on append."""
    data = os.urandom(2 * MIN_PART + 12345)
    p = f"{base}/big/data"
    w = driver.writer(p)
    for i in range(0, MIN_PART + 1000, 1 << 20):
        w.write(data[i : min(i + (1 << 20), MIN_PART + 1000)])
    w.close()
    assert driver.stat(p).size == MIN_PART + 1000
    w = driver.writer(p, append=True)
    w.write(data[MIN_PART + 1000 : MIN_PART + 2000])
    w.close()
    w = driver.writer(p, append=True)
    w.write(data[MIN_PART + 2000 :])
    w.commit()
    assert driver.stat(p).size == len(data)
    with driver.reader(p) as r:
        assert r.read() == data
    with driver.reader(p, MIN_PART + 7) as r:
        assert r.read() == data[MIN_PART + 7 :]


def test_reader_offsets(driver: StorageDriver, base: str) -> None:
    p = f"{base}/r"
    driver.put_content(p, b"0123456789")
    with driver.reader(p, 4) as r:
        assert r.read() == b"456789"
    with driver.reader(p, 10) as r:
        assert r.read() == b""
    with pytest.raises(InvalidOffset):
        driver.reader(p, 11)
    with pytest.raises(InvalidOffset):
        driver.reader(p, -1)


def test_stat_files_and_directories(driver: StorageDriver, base: str) -> None:
    driver.put_content(f"{base}/d/e/f", b"12345")
    fi = driver.stat(f"{base}/d/e/f")
    assert (fi.path, fi.size, fi.is_dir) == (f"{base}/d/e/f", 5, False)
    assert fi.mod_time > time.time() - 3600
    di = driver.stat(f"{base}/d")
    assert di.is_dir and di.path == f"{base}/d"
    with pytest.raises(PathNotFound):
        driver.stat(f"{base}/d/e/f/g")


def test_list(driver: StorageDriver, base: str) -> None:
    for p in ("b/x", "a", "c/d/e", "b/y"):
        driver.put_content(f"{base}/dir/{p}", b".")
    assert driver.list(f"{base}/dir") == [f"{base}/dir/a", f"{base}/dir/b", f"{base}/dir/c"]
    assert driver.list(f"{base}/dir/b") == [f"{base}/dir/b/x", f"{base}/dir/b/y"]
    assert base in driver.list("/")
    with pytest.raises(PathNotFound):
        driver.list(f"{base}/none")


def test_move(driver: StorageDriver, base: str) -> None:
    driver.put_content(f"{base}/src/data", b"payload")
    driver.put_content(f"{base}/dst/data", b"old")
    driver.move(f"{base}/src/data", f"{base}/dst/data")
    assert driver.get_content(f"{base}/dst/data") == b"payload"
    with pytest.raises(PathNotFound):
        driver.stat(f"{base}/src/data")
    with pytest.raises(PathNotFound):
        driver.list(f"{base}/src")
    with pytest.raises(PathNotFound):
        driver.move(f"{base}/src/data", f"{base}/x")
    driver.move(f"{base}/dst/data", f"{base}/deep/new/place")
    assert driver.get_content(f"{base}/deep/new/place") == b"payload"


def test_delete_recursive_not_prefix_siblings(driver: StorageDriver, base: str) -> None:
    for p in ("a/b/c", "a/b/d", "a/bc", "a/b2/x"):
        driver.put_content(f"{base}/{p}", b".")
    driver.delete(f"{base}/a/b")
    assert driver.list(f"{base}/a") == [f"{base}/a/b2", f"{base}/a/bc"]
    driver.delete(f"{base}/a/bc")
    assert driver.get_content(f"{base}/a/b2/x") == b"."
    with pytest.raises(PathNotFound):
        driver.delete(f"{base}/a/b")


def test_walk(driver: StorageDriver, base: str) -> None:
    names = ["z", "a/b/c", "a/b-c", "a.x", "m/n"]
    for n in names:
        driver.put_content(f"{base}/w/{n}", n.encode())
    walked = [fi.path for fi in driver.walk(f"{base}/w")]
    assert walked == sorted(f"{base}/w/{n}" for n in names)
    assert all(not fi.is_dir for fi in driver.walk(f"{base}/w"))
    rest = [fi.path for fi in driver.walk(f"{base}/w", start_after=walked[1])]
    assert rest == walked[2:]
    with pytest.raises(PathNotFound):
        list(driver.walk(f"{base}/none"))


def test_concurrent_writers(driver: StorageDriver, base: str) -> None:
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            w = driver.writer(f"{base}/conc/{i}/data")
            for _ in range(10):
                w.write(bytes([i]) * 1000)
            w.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for i in range(8):
        assert driver.get_content(f"{base}/conc/{i}/data") == bytes([i]) * 10000


def test_redirect_url(driver: StorageDriver, base: str) -> None:
    driver.put_content(f"{base}/r", b"x")
    url: Callable[[str, str], str | None] = driver.redirect_url
    assert url("PUT", f"{base}/r") is None
    assert url("GET", f"{base}/r") is None or url("GET", f"{base}/r").startswith("http")  # type: ignore[union-attr]


def test_append_nothing_to_large_file(driver: StorageDriver, base: str) -> None:
    data = os.urandom(MIN_PART + 10)
    p = f"{base}/same/data"
    w = driver.writer(p)
    w.write(data)
    w.close()
    w = driver.writer(p, append=True)
    assert w.size() == len(data)
    w.commit()
    assert driver.get_content(p) == data
