"""S3 driver (boto3): driver paths become keys under an optional root prefix.

S3 has no append, so a resumed writer re-opens the object: an object under
the multipart minimum is read back into the buffer, a larger one becomes the
first part of a new multipart upload by server-side copy. Every part but the
last is at least ``chunksize`` bytes, and ``close`` completes the upload, so
between requests an upload in progress is an ordinary object.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from .base import FileInfo, InvalidOffset, PathNotFound, WriterClosed, check_path

NAME = "s3aws"
MIN_PART = 5 * 1024 * 1024
MAX_COPY_PART = 5 * 1024 * 1024 * 1024


@dataclass(frozen=True)
class S3Params:
    bucket: str
    region: str = "us-east-1"
    regionendpoint: str = ""
    accesskey: str = ""
    secretkey: str = ""
    rootdirectory: str = ""
    secure: bool = True
    chunksize: int = 10 * 1024 * 1024
    forcepathstyle: bool = True
    redirect: bool = False

    @classmethod
    def from_config(cls, cfg: dict[str, Any], *, redirect: bool = False) -> S3Params:
        def get(key: str, default: Any) -> Any:
            v = cfg.get(key)
            return default if v is None or v == "" else v

        return cls(
            bucket=str(cfg["bucket"]),
            region=str(get("region", "us-east-1")),
            regionendpoint=str(get("regionendpoint", "")),
            accesskey=str(get("accesskey", "")),
            secretkey=str(get("secretkey", "")),
            rootdirectory=str(get("rootdirectory", "")).strip("/"),
            secure=bool(get("secure", True)),
            chunksize=max(MIN_PART, int(get("chunksize", 10 * 1024 * 1024))),
            forcepathstyle=bool(get("forcepathstyle", True)),
            redirect=redirect,
        )


def _is_missing(exc: Exception) -> bool:
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    return code in {"404", "NoSuchKey", "NotFound", "NoSuchUpload"}


class S3Writer:
    def __init__(self, drv: S3Driver, path: str, append: bool) -> None:
        self._drv = drv
        self._path = path
        self._key = drv._key(path)
        self._buf = bytearray()
        self._parts: list[dict[str, Any]] = []
        self._upload_id: str | None = None
        self._copy_existing = 0
        self._done = False
        self._size = 0
        if append:
            info = drv.stat(path)
            if info.is_dir:
                raise PathNotFound(NAME, path)
            self._size = info.size
            if info.size < drv.params.chunksize:
                self._buf += drv.get_content(path)
            else:
                self._copy_existing = info.size

    def _start(self) -> str:
        if self._upload_id is None:
            c, b = self._drv.client, self._drv.params.bucket
            self._upload_id = str(c.create_multipart_upload(Bucket=b, Key=self._key)["UploadId"])
            offset = 0
            while offset < self._copy_existing:
                end = min(self._copy_existing, offset + MAX_COPY_PART)
                if 0 < self._copy_existing - end < MIN_PART:
                    end = self._copy_existing - MIN_PART
                n = len(self._parts) + 1
                r = c.upload_part_copy(
                    Bucket=b,
                    Key=self._key,
                    UploadId=self._upload_id,
                    PartNumber=n,
                    CopySource={"Bucket": b, "Key": self._key},
                    CopySourceRange=f"bytes={offset}-{end - 1}",
                )
                self._parts.append({"PartNumber": n, "ETag": r["CopyPartResult"]["ETag"]})
                offset = end
        return self._upload_id

    def _flush_part(self, data: bytes) -> None:
        upload_id = self._start()
        n = len(self._parts) + 1
        r = self._drv.client.upload_part(
            Bucket=self._drv.params.bucket, Key=self._key, UploadId=upload_id, PartNumber=n, Body=data
        )
        self._parts.append({"PartNumber": n, "ETag": r["ETag"]})

    def write(self, data: bytes) -> int:
        if self._done:
            raise WriterClosed(NAME)
        self._buf += data
        self._size += len(data)
        chunk = self._drv.params.chunksize
        while len(self._buf) >= chunk:
            self._flush_part(bytes(self._buf[:chunk]))
            del self._buf[:chunk]
        return len(data)

    def size(self) -> int:
        return self._size

    def _finish(self) -> None:
        c, b = self._drv.client, self._drv.params.bucket
        if self._upload_id is None and not self._copy_existing:
            c.put_object(Bucket=b, Key=self._key, Body=bytes(self._buf))
            return
        upload_id = self._start()
        if self._buf or not self._parts:
            self._flush_part(bytes(self._buf))
        c.complete_multipart_upload(
            Bucket=b, Key=self._key, UploadId=upload_id, MultipartUpload={"Parts": self._parts}
        )

    def commit(self) -> None:
        if self._done:
            raise WriterClosed(NAME)
        self._done = True
        self._finish()

    def close(self) -> None:
        if self._done:
            return
        self._done = True
        self._finish()

    def cancel(self) -> None:
        if self._done:
            raise WriterClosed(NAME)
        self._done = True
        c, b = self._drv.client, self._drv.params.bucket
        if self._upload_id is not None:
            c.abort_multipart_upload(Bucket=b, Key=self._key, UploadId=self._upload_id)
        c.delete_object(Bucket=b, Key=self._key)


class S3Driver:
    name = NAME

    def __init__(self, params: S3Params, client: Any = None) -> None:
        self.params = params
        if client is None:
            import boto3
            from botocore.config import Config

            kw: dict[str, Any] = {
                "region_name": params.region,
                "config": Config(
                    s3={"addressing_style": "path" if params.forcepathstyle else "auto"},
                    retries={"max_attempts": 3},
                    max_pool_connections=32,
                ),
            }
            if params.regionendpoint:
                kw["endpoint_url"] = params.regionendpoint
            if params.accesskey:
                kw["aws_access_key_id"] = params.accesskey
                kw["aws_secret_access_key"] = params.secretkey
            if not params.secure:
                kw["use_ssl"] = False
            client = boto3.client("s3", **kw)
        self.client = client

    def _key(self, path: str) -> str:
        rel = "" if path == "/" else path.lstrip("/")
        if self.params.rootdirectory:
            return f"{self.params.rootdirectory}/{rel}" if rel else self.params.rootdirectory
        return rel

    def _dir_prefix(self, path: str) -> str:
        k = self._key(path)
        return k + "/" if k else ""

    def _path(self, key: str) -> str:
        if self.params.rootdirectory:
            key = key[len(self.params.rootdirectory) + 1 :]
        return "/" + key

    def get_content(self, path: str) -> bytes:
        check_path(NAME, path)
        try:
            r = self.client.get_object(Bucket=self.params.bucket, Key=self._key(path))
        except Exception as exc:
            if _is_missing(exc):
                raise PathNotFound(NAME, path) from exc
            raise
        return bytes(r["Body"].read())

    def put_content(self, path: str, data: bytes) -> None:
        check_path(NAME, path)
        self.client.put_object(Bucket=self.params.bucket, Key=self._key(path), Body=data)

    def reader(self, path: str, offset: int = 0) -> BinaryIO:
        info = self.stat(path)
        if info.is_dir:
            raise PathNotFound(NAME, path)
        if offset < 0 or offset > info.size:
            raise InvalidOffset(NAME, path, offset)
        if offset == info.size:
            return io.BytesIO(b"")
        r = self.client.get_object(Bucket=self.params.bucket, Key=self._key(path), Range=f"bytes={offset}-")
        body: BinaryIO = r["Body"]
        return body

    def writer(self, path: str, *, append: bool = False) -> S3Writer:
        check_path(NAME, path)
        return S3Writer(self, path, append)

    def stat(self, path: str) -> FileInfo:
        check_path(NAME, path, root_ok=True)
        if path != "/":
            try:
                h = self.client.head_object(Bucket=self.params.bucket, Key=self._key(path))
                return FileInfo(path, int(h["ContentLength"]), h["LastModified"].timestamp(), False)
            except Exception as exc:
                if not _is_missing(exc):
                    raise
        r = self.client.list_objects_v2(Bucket=self.params.bucket, Prefix=self._dir_prefix(path), MaxKeys=1)
        contents = r.get("Contents", [])
        if not contents:
            if path == "/":
                return FileInfo(path, 0, 0.0, True)
            raise PathNotFound(NAME, path)
        return FileInfo(path, 0, contents[0]["LastModified"].timestamp(), True)

    def list(self, path: str) -> list[str]:
        check_path(NAME, path, root_ok=True)
        prefix = self._dir_prefix(path)
        out: list[str] = []
        pager = self.client.get_paginator("list_objects_v2")
        for page in pager.paginate(Bucket=self.params.bucket, Prefix=prefix, Delimiter="/"):
            out += [self._path(o["Key"]) for o in page.get("Contents", [])]
            out += [self._path(p["Prefix"].rstrip("/")) for p in page.get("CommonPrefixes", [])]
        if not out and path != "/":
            raise PathNotFound(NAME, path)
        return sorted(out)

    def move(self, src: str, dst: str) -> None:
        check_path(NAME, src)
        check_path(NAME, dst)
        b = self.params.bucket
        info = self.stat(src)
        if info.is_dir:
            raise PathNotFound(NAME, src)
        if info.size <= MAX_COPY_PART:
            self.client.copy_object(
                Bucket=b, Key=self._key(dst), CopySource={"Bucket": b, "Key": self._key(src)}
            )
        else:
            self.client.copy({"Bucket": b, "Key": self._key(src)}, b, self._key(dst))
        self.client.delete_object(Bucket=b, Key=self._key(src))

    def delete(self, path: str) -> None:
        check_path(NAME, path)
        b = self.params.bucket
        keys = [fi.path for fi in self._walk_raw(path)]
        try:
            self.client.head_object(Bucket=b, Key=self._key(path))
            keys.append(path)
        except Exception as exc:
            if not _is_missing(exc):
                raise
        if not keys:
            raise PathNotFound(NAME, path)
        for i in range(0, len(keys), 1000):
            objs = [{"Key": self._key(p)} for p in keys[i : i + 1000]]
            self.client.delete_objects(Bucket=b, Delete={"Objects": objs, "Quiet": True})

    def _walk_raw(self, path: str, start_after: str | None = None) -> Iterator[FileInfo]:
        pager = self.client.get_paginator("list_objects_v2")
        kw: dict[str, Any] = {"Bucket": self.params.bucket, "Prefix": self._dir_prefix(path)}
        if start_after:
            kw["StartAfter"] = self._key(start_after)
        for page in pager.paginate(**kw):
            for o in page.get("Contents", []):
                yield FileInfo(self._path(o["Key"]), int(o["Size"]), o["LastModified"].timestamp(), False)

    def walk(self, path: str, *, start_after: str | None = None) -> Iterator[FileInfo]:
        check_path(NAME, path, root_ok=True)
        found = False
        for fi in self._walk_raw(path, start_after):
            found = True
            yield fi
        if not found and path != "/" and start_after is None:
            raise PathNotFound(NAME, path)

    def redirect_url(self, method: str, path: str) -> str | None:
        if not self.params.redirect or method not in ("GET", "HEAD"):
            return None
        op = "get_object" if method == "GET" else "head_object"
        url: str = self.client.generate_presigned_url(
            op, Params={"Bucket": self.params.bucket, "Key": self._key(path)}, ExpiresIn=1200
        )
        return url
