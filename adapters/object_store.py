"""Object stores for raw uploads: a local folder (the default) or S3 through boto3."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from adapters.settings import Settings
from application.errors import Conflict, NotFound
from application.object_store import InvalidObjectKey, ObjectStore, StoredObject, check_key

_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
_SHA256_METADATA = "sha256"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _different_bytes(key: str) -> Conflict:
    return Conflict(f"Object {key!r} already exists with different content.", key=key)


class LocalObjectStore:
    """Files under `root`, one per key. `content_type` is not kept: keys carry their suffix."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, key: str, data: bytes, content_type: str) -> StoredObject:
        path = self._path(key)
        stored = StoredObject(key, len(data), _sha256(data))
        if path.is_file():
            if _sha256(path.read_bytes()) != stored.sha256:
                raise _different_bytes(key)
            return stored
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".partial-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        _fsync_directory(path.parent)
        return stored

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise NotFound(f"No object {key!r}.", key=key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def _path(self, key: str) -> Path:
        path = self.root / check_key(key)
        if not path.resolve().is_relative_to(self.root.resolve()):
            raise InvalidObjectKey(f"Object key {key!r} leads outside the store.")
        return path


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class S3ObjectStore:
    """One bucket. S3 checks the SHA-256 we send; it is also kept as metadata to compare re-puts."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def put(self, key: str, data: bytes, content_type: str) -> StoredObject:
        check_key(key)
        digest = hashlib.sha256(data).digest()
        stored = StoredObject(key, len(data), digest.hex())
        head = self._head(key)
        if head is not None:
            existing = head.get("Metadata", {}).get(_SHA256_METADATA) or _sha256(self.get(key))
            if existing != stored.sha256:
                raise _different_bytes(key)
            return stored
        self.client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=base64.b64encode(digest).decode(),
            Metadata={_SHA256_METADATA: stored.sha256},
        )
        return stored

    def get(self, key: str) -> bytes:
        check_key(key)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as error:
            if _error_code(error) in _MISSING:
                raise NotFound(f"No object {key!r}.", key=key) from None
            raise
        body: bytes = response["Body"].read()
        return body

    def exists(self, key: str) -> bool:
        check_key(key)
        return self._head(key) is not None

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            head: dict[str, Any] = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _error_code(error) in _MISSING:
                return None
            raise
        return head


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def s3_client(region: str, endpoint_url: str | None = None) -> Any:
    """A boto3 S3 client; credentials come from boto3's usual chain (env, profile, role)."""
    addressing = {"addressing_style": "path"} if endpoint_url else {}
    config = Config(region_name=region, s3=addressing, retries={"mode": "standard", "max_attempts": 3})
    return boto3.client("s3", endpoint_url=endpoint_url, config=config)


def object_store_from_settings(settings: Settings) -> ObjectStore:
    if settings.object_store == "s3":
        if not settings.s3_bucket:
            raise ValueError("CARELEDGER_OBJECT_STORE=s3 needs CARELEDGER_S3_BUCKET.")
        return S3ObjectStore(s3_client(settings.s3_region, settings.s3_endpoint_url), settings.s3_bucket)
    return LocalObjectStore(settings.object_store_root)
