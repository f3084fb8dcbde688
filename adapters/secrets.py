"""The keys that must not live in the database: master key, audit signing key, token secret.

In production they come from settings. In dev and test mode, missing keys are generated once
into the data folder (mode 0600) so `make run` works on a fresh machine.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from adapters.settings import Settings


class MissingSecret(RuntimeError):
    pass


@dataclass(frozen=True)
class Secrets:
    master_key: bytes
    audit_signing_key: Ed25519PrivateKey
    token_secret: bytes


def _load(settings: Settings, value: str | None, name: str, size: int) -> bytes:
    if value:
        raw = base64.b64decode(value)
        if len(raw) != size:
            raise MissingSecret(f"CARELEDGER_{name.upper()} must be base64 of {size} bytes")
        return raw
    if not settings.is_dev:
        raise MissingSecret(f"CARELEDGER_{name.upper()} is required outside dev mode")
    path = Path(settings.data_dir) / "keys" / f"{name}.b64"
    if path.exists():
        return base64.b64decode(path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = os.urandom(size)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(base64.b64encode(raw).decode())
    return raw


def load_secrets(settings: Settings) -> Secrets:
    master = _load(settings, settings.master_key, "master_key", 32)
    seed = _load(settings, settings.audit_signing_key, "audit_signing_key", 32)
    token = _load(settings, settings.token_secret, "token_secret", 32)
    return Secrets(
        master_key=master,
        audit_signing_key=Ed25519PrivateKey.from_private_bytes(seed),
        token_secret=token,
    )
