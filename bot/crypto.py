"""API keys at rest: Fernet (AES-128-CBC + HMAC) from the `cryptography` package.

A hand-rolled cipher would be a liability; Fernet gives authenticated encryption and a
versioned token format, so a wrong or rotated SECRET_KEY fails loudly instead of yielding garbage.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretKeyError(RuntimeError):
    """The configured or stored secret key cannot be used."""


class UndecryptableKeyError(SecretKeyError):
    """One stored API key cannot be decrypted with the configured secret (`user_id` when known).

    Callers pause that user (`UsersRepo.pause_undecryptable`, told once) rather than retry: retrying
    cannot succeed until the key is linked again.
    """

    def __init__(self, message: str, user_id: int | None = None) -> None:
        super().__init__(message)
        self.user_id = user_id


class KeyBox:
    """Encrypts and decrypts users' SMSPVA API keys.

    Accepts several Fernet keys: the first encrypts, all of them decrypt (key rotation).
    """

    def __init__(self, *keys: bytes) -> None:
        if not keys:
            raise SecretKeyError("no secret key given")
        try:
            self._fernet = MultiFernet([Fernet(key) for key in keys])
        except (ValueError, TypeError) as error:
            raise SecretKeyError(
                "SECRET_KEY is not a valid Fernet key (32 url-safe base64-encoded bytes)"
            ) from error
        # A separate secret for key_hash(), derived from the primary key: the hash never reuses
        # Fernet's own signing or encryption key material.
        self._hash_secret = hmac.new(
            base64.urlsafe_b64decode(keys[0]), b"smspva-bot: api key hash v1", hashlib.sha256
        ).digest()
        self._hash_kid = hmac.new(self._hash_secret, b"key id", hashlib.sha256).hexdigest()[:8]

    def encrypt(self, plain: str) -> bytes:
        return self._fernet.encrypt(plain.encode("utf-8"))

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode("utf-8")
        except InvalidToken as error:
            raise UndecryptableKeyError("stored API key cannot be decrypted with SECRET_KEY") from error

    def can_decrypt(self, token: bytes) -> bool:
        try:
            self._fernet.decrypt(token)
        except InvalidToken:
            return False
        return True

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt a token with the primary key."""
        return self._fernet.rotate(token)

    @property
    def hash_kid(self) -> str:
        """Names the secret key_hash() uses: a hash with another prefix is stale (SECRET_KEY rotated)."""
        return self._hash_kid

    def key_hash(self, plain: str) -> str:
        """A keyed hash of an API key, "<kid>:<HMAC-SHA256 hex>", to find the same key on another
        account (Fernet tokens differ for the same key). Without SECRET_KEY it cannot be inverted
        or checked against a guessed key."""
        digest = hmac.new(self._hash_secret, plain.encode("utf-8"), hashlib.sha256).hexdigest()
        return f"{self._hash_kid}:{digest}"


def load_secret_keys(configured: str | None, key_file: Path, *, may_generate: bool = True) -> list[bytes]:
    """SECRET_KEY's keys ("NEW,OLD" during a rotation: the first encrypts, all decrypt), else the
    key stored in `key_file`, created (mode 0600) once — but only when `may_generate`: a database that
    already holds encrypted keys needs the secret they were made with, never a new one."""
    if configured:
        return [part.strip().encode("ascii") for part in configured.split(",") if part.strip()]
    if key_file.exists():
        return [key_file.read_bytes().strip()]
    if not may_generate:
        raise SecretKeyError(
            f"{key_file} is missing and SECRET_KEY is not set, but the database holds encrypted API keys: "
            "restore that file (or set SECRET_KEY to the key they were encrypted with); "
            "a new key would make them unreadable, so none is generated"
        )
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    # O_EXCL: two processes starting at once must not overwrite each other's key.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    return [key]
