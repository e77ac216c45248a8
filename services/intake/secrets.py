"""Webhook signing secrets at rest: encrypted with Fernet keys from ``PARLEY_SECRETS_KEYS``.

A webhook secret must be readable to sign deliveries (HMAC), so unlike API keys it cannot be hashed; it
is kept encrypted (``cryptography``'s Fernet: AES-128-CBC with HMAC-SHA256, timestamped). The setting is
a comma-separated list of keys: the first encrypts, all of them decrypt (``MultiFernet``). To rotate:

1. put a new key first (``PARLEY_SECRETS_KEYS=<new>,<old>``) on every intake instance;
2. run ``parley intake webhooks reencrypt`` (every stored secret is rewritten under the new key);
3. drop the old key.

Production refuses to start without the setting; development and test derive a fixed key (not secret)
so ``make up`` works out of the box.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from shared.settings import Environment


class SecretsKeyError(ValueError):
    """The configured keys cannot decrypt a stored secret (a key was dropped too early)."""


def development_key() -> bytes:
    """The fixed (public) key of development and test stacks, the same for every process of them."""
    return base64.urlsafe_b64encode(hashlib.sha256(b"parley-development-secrets-key").digest())


def parse_keys(value: SecretStr | None, environment: Environment) -> list[bytes]:
    if value is None:
        if environment is Environment.production:
            raise ValueError("PARLEY_SECRETS_KEYS must be set in production (comma-separated Fernet keys)")
        return [development_key()]
    keys = [k.strip().encode() for k in value.get_secret_value().split(",") if k.strip()]
    if not keys:
        raise ValueError("PARLEY_SECRETS_KEYS names no key")
    for key in keys:
        try:
            Fernet(key)
        except ValueError as exc:
            raise ValueError(
                "PARLEY_SECRETS_KEYS holds a value that is not a Fernet key (32 url-safe base64 bytes; "
                "make one with `python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`)"
            ) from exc
    return keys


class SecretBox:
    def __init__(self, keys: list[bytes]) -> None:
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise SecretsKeyError(
                "a stored webhook secret cannot be decrypted with PARLEY_SECRETS_KEYS"
            ) from exc

    def rotate(self, sealed: str) -> str:
        """The same secret under the first key (a no-op in effect when it already is)."""
        try:
            return self._fernet.rotate(sealed.encode()).decode()
        except InvalidToken as exc:
            raise SecretsKeyError(
                "a stored webhook secret cannot be decrypted with PARLEY_SECRETS_KEYS"
            ) from exc
