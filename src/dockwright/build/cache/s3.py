"""The build cache as S3 objects: the same manifest, cacheconfig and layer blobs a registry holds.

Object layout under ``prefix`` (default empty)::

    manifests/<name>           the OCI manifest (``name`` defaults to "buildkit", like buildkit's)
    blobs/sha256:<hex>         cacheconfig and layer blobs, by digest; layers compressed (gzip, or
                               zstd when the daemon kept a zstd blob), their media type says which;
                               caches written before that hold plain tars, read alike (the import
                               detects compression by magic bytes)

Calls are synchronous (boto3); the build runs them with ``asyncio.to_thread``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from dockwright.errors import InvalidParameter, NotFound, Unavailable


class S3Cache:
    def __init__(self, attrs: dict[str, str]) -> None:
        self.bucket = attrs.get("bucket", "")
        if not self.bucket:
            raise InvalidParameter("type=s3 cache needs bucket=NAME")
        self.prefix = attrs.get("prefix", "")
        self.name = attrs.get("name", "buildkit")
        self.attrs = attrs
        self._client: Any = None

    def _s3(self) -> Any:
        if self._client is None:
            import boto3

            kw: dict[str, Any] = {"region_name": self.attrs.get("region") or "us-east-1"}
            if self.attrs.get("endpoint_url"):
                kw["endpoint_url"] = self.attrs["endpoint_url"]
            if self.attrs.get("access_key_id"):
                kw["aws_access_key_id"] = self.attrs["access_key_id"]
                kw["aws_secret_access_key"] = self.attrs.get("secret_access_key", "")
            self._client = boto3.client("s3", **kw)
        return self._client

    def location(self) -> str:
        """Where this cache lives, as the key of the daemon's "which blob a layer became" memory."""
        endpoint = self.attrs.get("endpoint_url") or self.attrs.get("region") or "aws"
        return f"s3://{endpoint}/{self.bucket}/{self.prefix}"

    def manifest_key(self) -> str:
        return f"{self.prefix}manifests/{self.name}"

    def blob_key(self, digest: str) -> str:
        return f"{self.prefix}blobs/{digest}"

    def get(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return bytes(self._s3().get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise NotFound(f"s3://{self.bucket}/{key} does not exist") from exc
            raise Unavailable(f"s3 cache: reading {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise Unavailable(f"s3 cache: reading {key}: {exc}") from exc

    def exists(self, key: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._s3().head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError:
            return False
        except BotoCoreError as exc:
            raise Unavailable(f"s3 cache: {exc}") from exc

    def put(self, key: str, data: bytes) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._s3().put_object(Bucket=self.bucket, Key=key, Body=data)
        except (BotoCoreError, ClientError) as exc:
            raise Unavailable(f"s3 cache: writing {key}: {exc}") from exc

    def put_file(self, key: str, path: Path) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._s3().upload_file(str(path), self.bucket, key)
        except (BotoCoreError, ClientError) as exc:
            raise Unavailable(f"s3 cache: writing {key}: {exc}") from exc

    def download(self, key: str, sink: Any) -> int:
        """Stream the object into ``sink.write``; the number of bytes."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            body = self._s3().get_object(Bucket=self.bucket, Key=key)["Body"]
            n = 0
            for chunk in body.iter_chunks(1 << 20):
                sink.write(chunk)
                n += len(chunk)
            return n
        except (BotoCoreError, ClientError) as exc:
            raise Unavailable(f"s3 cache: reading {key}: {exc}") from exc


def gzip_file(src: Path, dst: Path) -> tuple[str, int]:
    """Compress a layer tar (any compression is undone first) into ``dst``; its digest and size."""
    from dockwright.diff.compression import compressing_writer, decompressing_reader

    h = hashlib.sha256()
    size = 0

    class _Hashing:
        def __init__(self, f: Any) -> None:
            self.f = f

        def write(self, b: bytes) -> int:
            nonlocal size
            h.update(b)
            size += len(b)
            return int(self.f.write(b))

        def flush(self) -> None:
            self.f.flush()

    with open(src, "rb") as fin, open(dst, "wb") as fout:
        w = compressing_writer(_Hashing(fout), "gzip")  # type: ignore[arg-type]
        reader = decompressing_reader(fin)
        while data := reader.read(4 << 20):
            w.write(data)
        w.close()
    return "sha256:" + h.hexdigest(), size
