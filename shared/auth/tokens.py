"""Personal and service tokens: ``prlu_<token id>_<secret>``.

The token id is public (it names the token in lists, logs and the audit log); the secret is 256 random
bits, shown once and never stored: intake keeps its SHA-256, every service a replica of that hash (from
``user.token_issued`` events), and a request's token is checked by hashing what it carries. A fast hash
is enough for a secret that cannot be guessed; a slow one would only tax every request.

A JWT (three base64url parts separated by dots) is told apart from a token by its shape.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

USER_TOKEN_PREFIX = "prlu"  # noqa: S105 - a prefix, not a secret
PARTNER_KEY_PREFIX = "prly"  # intake's partner API keys (services/intake/keys.py)
_TOKEN = re.compile(rf"^{USER_TOKEN_PREFIX}_([0-9a-f]{{12}})_([A-Za-z0-9_\-]{{43}})$")
_JWT = re.compile(r"^[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*$")


def hash_secret(secret: str) -> str:
    """Hex SHA-256 of a secret (or of a whole credential, for in-process cache keys)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def split_token(token: str) -> tuple[str, str] | None:
    """``(token id, secret)`` of a well-formed user token, else None."""
    match = _TOKEN.fullmatch(token)
    return (match.group(1), match.group(2)) if match else None


def looks_like_jwt(credential: str) -> bool:
    return bool(_JWT.fullmatch(credential))


def is_partner_key(credential: str) -> bool:
    return credential.startswith(PARTNER_KEY_PREFIX + "_")


@dataclass(frozen=True)
class NewToken:
    token_id: str
    secret_sha256: str
    token: str  # the only time the whole token exists outside its owner's hands


def new_token() -> NewToken:
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return NewToken(token_id, hash_secret(secret), f"{USER_TOKEN_PREFIX}_{token_id}_{secret}")
