"""S3 (AWS, Ceph RGW, MinIO...) through boto3: ``s3://bucket/key`` or ``s3://bucket/prefix/``.

The endpoint (for anything but AWS), region and keys come with the credential
(``Auth.options``: ``endpoint_url``, ``region``). An object is never visible half
written: S3 makes a PUT (or a multipart upload, once completed) appear at once, and
boto3 sends each part with its SHA-256 so the service refuses corrupted bytes; the
object's metadata keeps the whole file's sha256 for the next reader.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import Any, BinaryIO

from eflows_kernel.services.hpc.transfer.stores.base import Auth, RemoteFile, StoreError
from eflows_kernel.services.paths import safe_relative

CHUNK = 1 << 20
SHA256_META = "sha256"


def split(location: str) -> tuple[str, str]:
    """(bucket, key) of ``s3://bucket/key``."""
    if not location.startswith("s3://"):
        raise StoreError(f"not an S3 location: {location!r} (expected s3://bucket/key)")
    bucket, _, key = location[len("s3://"):].partition("/")
    if not bucket:
        raise StoreError(f"{location!r} names no bucket (expected s3://bucket/key)")
    return bucket, key


def _md5_of(etag: str | None) -> str | None:
    """The ETag is the MD5 only for single-part uploads (a multipart one has a '-')."""
    value = (etag or "").strip('"')
    return value if len(value) == 32 and "-" not in value else None


class S3Store:
    """One S3 endpoint with one key pair (none: anonymous, for public buckets)."""

    scheme = "s3"

    def __init__(self, auth: Auth | None = None) -> None:
        import boto3  # (imported here: boto3 costs ~0.3 s and only S3 movements need it)
        from botocore import UNSIGNED
        from botocore.config import Config

        auth = auth or Auth()
        config = Config(signature_version=UNSIGNED) if not auth.username else None
        self.client: Any = boto3.client(
            "s3", endpoint_url=auth.option("endpoint_url") or None,
            region_name=auth.option("region") or "us-east-1",
            aws_access_key_id=auth.username or None,
            aws_secret_access_key=auth.secret or None, config=config)

    def _call(self, what: str, method: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return method(**kwargs)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            raise StoreError(f"S3 {what}: {code or 'error'} "
                             f"({error.response.get('Error', {}).get('Message', '')})") from None
        except BotoCoreError as error:
            raise StoreError(f"S3 {what}: {error}") from None

    def _head(self, bucket: str, key: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        if not key or key.endswith("/"):
            return None
        try:
            return self.client.head_object(Bucket=bucket, Key=key)  # type: ignore[no-any-return]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise StoreError(f"S3 HEAD s3://{bucket}/{key}: "
                             f"{error.response.get('Error', {}).get('Code')}") from None

    def files(self, location: str) -> list[RemoteFile]:
        bucket, key = split(location)
        head = self._head(bucket, key)
        if head is not None:
            return [RemoteFile(posixpath.basename(key), location, head["ContentLength"],
                               md5=_md5_of(head.get("ETag")),
                               sha256=head.get("Metadata", {}).get(SHA256_META),
                               etag=head.get("ETag"))]
        prefix = key.rstrip("/") + "/" if key else ""
        found = []
        for item in self._call(f"LIST {location}", self._objects, bucket=bucket, prefix=prefix):
            if item["Key"].endswith("/"):
                continue  # a "folder" marker object
            rel = safe_relative(item["Key"][len(prefix):], "S3 key")
            found.append(RemoteFile(rel, f"s3://{bucket}/{item['Key']}", item["Size"],
                                    md5=_md5_of(item.get("ETag")), etag=item.get("ETag")))
        if not found:
            raise StoreError(f"nothing at {location} (no object and no object below it)")
        return found

    def _objects(self, bucket: str, prefix: str) -> list[dict[str, Any]]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                       Prefix=prefix)
        return [item for page in pages for item in page.get("Contents", [])]

    def read(self, location: str, offset: int = 0, etag: str | None = None) -> Iterator[bytes]:
        bucket, key = split(location)
        extra: dict[str, str] = {}
        if offset:
            extra["Range"] = f"bytes={offset}-"
            if etag:
                extra["IfMatch"] = etag  # a changed object fails instead of mixing versions
        body = self._call(f"GET {location}", self.client.get_object, Bucket=bucket, Key=key,
                          **extra)["Body"]
        try:
            while block := body.read(CHUNK):
                yield block
        finally:
            body.close()

    def write(self, location: str, data: BinaryIO, size: int, sha256: str) -> None:
        from boto3.s3.transfer import TransferConfig

        bucket, key = split(location)
        if not key or key.endswith("/"):
            raise StoreError(f"{location}: an object key is needed to write")
        self._call(f"PUT {location}", self.client.upload_fileobj, Fileobj=data, Bucket=bucket,
                   Key=key, Config=TransferConfig(multipart_threshold=64 << 20),
                   ExtraArgs={"Metadata": {SHA256_META: sha256}, "ChecksumAlgorithm": "SHA256"})
        head = self._head(bucket, key)
        if head is None or head["ContentLength"] != size:
            raise StoreError(f"{location}: the object is not there with {size} bytes after "
                             "the upload")

    def close(self) -> None:
        self.client.close()
