"""Both object stores through the same cases: a folder, and the real boto3 against moto's S3 server."""

from __future__ import annotations

import base64
import hashlib
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from adapters.object_store import LocalObjectStore, S3ObjectStore, object_store_from_settings, s3_client
from adapters.settings import Settings
from application.errors import Conflict, NotFound
from application.object_store import InvalidObjectKey, ObjectStore, content_key

PRACTICE = uuid.UUID("5b0f3a55-8f1e-4d2b-9c1a-2f7e4a6b9c01")
ERA = b"ISA*00*          *00*          *ZZ*PAYER          *ZZ*CLINIC         *240105*1200*^*00501*000000001*0*P*:~\n"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def s3(moto_endpoint: str, aws_credentials: None) -> Any:
    return s3_client("us-east-1", moto_endpoint)


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"careledger-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return LocalObjectStore(tmp_path / "objects")
    return S3ObjectStore(request.getfixturevalue("s3"), request.getfixturevalue("bucket"))


def key_for(data: bytes) -> str:
    return content_key(PRACTICE, hashlib.sha256(data).hexdigest(), ".835")


def test_round_trip(store: ObjectStore) -> None:
    key = key_for(ERA)
    assert not store.exists(key)
    stored = store.put(key, ERA, "application/edi-x12")
    assert (stored.key, stored.size, stored.sha256) == (key, len(ERA), hashlib.sha256(ERA).hexdigest())
    assert store.exists(key)
    assert store.get(key) == ERA


def test_the_same_bytes_twice_is_a_no_op(store: ObjectStore) -> None:
    key = key_for(ERA)
    first = store.put(key, ERA, "application/edi-x12")
    assert store.put(key, ERA, "application/edi-x12") == first
    assert store.get(key) == ERA


def test_other_bytes_under_an_existing_key_conflict(store: ObjectStore) -> None:
    key = key_for(ERA)
    store.put(key, ERA, "application/edi-x12")
    with pytest.raises(Conflict):
        store.put(key, ERA + b"GS*HP~\n", "application/edi-x12")
    assert store.get(key) == ERA


def test_missing_key_is_not_found(store: ObjectStore) -> None:
    key = key_for(b"never stored")
    assert not store.exists(key)
    with pytest.raises(NotFound):
        store.get(key)


def test_empty_object(store: ObjectStore) -> None:
    stored = store.put("empty/object.bin", b"", "application/octet-stream")
    assert (stored.size, store.get("empty/object.bin")) == (0, b"")


@pytest.mark.parametrize(
    "key",
    ["../outside.835", "remittances/../../etc/passwd", "/etc/passwd", "a//b", "a/./b", "", "a/b/", "a\\..\\b", "a\x00b"],
)
def test_keys_that_are_not_plain_relative_paths_are_refused(store: ObjectStore, key: str) -> None:
    with pytest.raises(InvalidObjectKey):
        store.put(key, ERA, "application/edi-x12")
    with pytest.raises(InvalidObjectKey):
        store.get(key)
    with pytest.raises(InvalidObjectKey):
        store.exists(key)


def test_local_put_writes_nothing_outside_root_and_leaves_no_partial_files(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    key = key_for(ERA)
    store.put(key, ERA, "application/edi-x12")
    with pytest.raises(InvalidObjectKey):
        store.put("../escaped.835", ERA, "application/edi-x12")
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert files == [f"objects/{key}"]


def test_local_refuses_a_symlink_that_leads_outside_root(tmp_path: Path) -> None:
    root = tmp_path / "objects"
    (tmp_path / "elsewhere").mkdir()
    root.mkdir()
    (root / "remittances").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(InvalidObjectKey):
        LocalObjectStore(root).put(key_for(ERA), ERA, "application/edi-x12")
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_s3_object_carries_its_content_type_checksum_and_digest(s3: Any, bucket: str) -> None:
    key = key_for(ERA)
    S3ObjectStore(s3, bucket).put(key, ERA, "application/edi-x12")
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert head["ContentType"] == "application/edi-x12"
    assert head["Metadata"] == {"sha256": hashlib.sha256(ERA).hexdigest()}
    assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(ERA).digest()).decode()


def test_s3_re_put_over_an_object_without_our_metadata_compares_the_bytes(s3: Any, bucket: str) -> None:
    key = key_for(ERA)
    s3.put_object(Bucket=bucket, Key=key, Body=ERA)
    store = S3ObjectStore(s3, bucket)
    assert store.put(key, ERA, "application/edi-x12").sha256 == hashlib.sha256(ERA).hexdigest()
    with pytest.raises(Conflict):
        store.put(key, b"other", "application/edi-x12")


def test_s3_missing_bucket_is_an_error_not_a_missing_object(s3: Any) -> None:
    store = S3ObjectStore(s3, f"absent-{uuid.uuid4().hex[:12]}")
    with pytest.raises(Exception) as raised:
        store.get(key_for(ERA))
    assert not isinstance(raised.value, NotFound)


def test_content_key_names_the_practice_and_the_digest() -> None:
    digest = hashlib.sha256(ERA).hexdigest()
    assert content_key(PRACTICE, digest, ".835") == f"remittances/{PRACTICE}/{digest}.835"
    assert content_key(PRACTICE, digest, "835") == f"remittances/{PRACTICE}/{digest}.835"
    with pytest.raises(InvalidObjectKey):
        content_key(PRACTICE, digest.upper(), ".835")
    with pytest.raises(InvalidObjectKey):
        content_key(PRACTICE, digest, "../835")


def test_settings_default_to_a_folder_under_the_data_dir(tmp_path: Path) -> None:
    store = object_store_from_settings(Settings(data_dir=tmp_path))
    assert isinstance(store, LocalObjectStore)
    assert store.root == tmp_path / "objects"
    store = object_store_from_settings(Settings(data_dir=tmp_path, object_store_path=tmp_path / "raw"))
    assert isinstance(store, LocalObjectStore)
    assert store.root == tmp_path / "raw"


def test_settings_select_s3(monkeypatch: pytest.MonkeyPatch, moto_endpoint: str, aws_credentials: None, bucket: str) -> None:
    monkeypatch.setenv("CARELEDGER_OBJECT_STORE", "s3")
    monkeypatch.setenv("CARELEDGER_S3_BUCKET", bucket)
    monkeypatch.setenv("CARELEDGER_S3_ENDPOINT_URL", moto_endpoint)
    store = object_store_from_settings(Settings())
    assert isinstance(store, S3ObjectStore)
    key = key_for(ERA)
    store.put(key, ERA, "application/edi-x12")
    assert store.get(key) == ERA


def test_s3_without_a_bucket_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="S3_BUCKET"):
        object_store_from_settings(Settings(object_store="s3"))
