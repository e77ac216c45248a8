"""A small OpenID provider on loopback, standing in for the company's Keycloak in tests.

It is a real HTTP server (stdlib ``ThreadingHTTPServer`` in a thread) with keys generated here: the
discovery document, the JWKS (counting fetches, so a test can see a refetch on an unknown ``kid``), the
authorization endpoint (it signs in whoever the test names, at once, and sends the browser back with a
code) and the token endpoint (which checks the PKCE verifier and returns an ID token and an access token).
Tests mint bearer JWTs with :meth:`TestIdp.token`, valid or broken on purpose.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

AUDIENCE = "parley"
CLIENT_ID = "parley-web"
# IdP group → Parley role, as an operator would set PARLEY_OIDC_ROLE_MAP for Keycloak realm roles.
ROLE_MAP = {"cc-negotiators": "negotiator", "cc-supervisors": "supervisor", "cc-auditors": "auditor"}


@dataclass
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(uuid.uuid4().hex[:12], rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def jwk(self) -> dict[str, Any]:
        public: dict[str, Any] = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256"}


@dataclass
class LoopbackIdp:
    port: int = 0
    keys: list[SigningKey] = field(default_factory=lambda: [SigningKey.generate()])
    jwks_fetches: int = 0
    # The claims of whoever signs in through the authorization endpoint next.
    next_user: dict[str, Any] = field(default_factory=dict)
    _codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rotate(self) -> SigningKey:
        """Publish a new key and sign with it from now on (the old one stays published, as IdPs do)."""
        key = SigningKey.generate()
        self.keys.insert(0, key)
        return key

    def token(
        self,
        *,
        subject: str = "kim@acme-cc.example",
        roles: list[str] | None = None,
        clients: list[str] | None = None,
        audience: str = AUDIENCE,
        lifetime: int = 300,
        issued_ago: int = 0,
        key: SigningKey | None = None,
        **claims: Any,
    ) -> str:
        now = int(time.time()) - issued_ago
        body = {
            "iss": self.issuer,
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, subject)),
            "preferred_username": subject,
            "name": subject.split("@")[0].title(),
            "aud": audience,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": uuid.uuid4().hex,
            "realm_access": {"roles": roles if roles is not None else ["cc-negotiators"]},
            "parley_clients": clients if clients is not None else ["*"],
            **claims,
        }
        signer = key or self.keys[0]
        return jwt.encode(body, signer.private, algorithm="RS256", headers={"kid": signer.kid})

    # --- the HTTP server ---------------------------------------------------------------------------

    def start(self) -> LoopbackIdp:
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                return

            def _json(self, body: dict[str, Any], status: int = 200) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path == "/.well-known/openid-configuration":
                    self._json(
                        {
                            "issuer": idp.issuer,
                            "jwks_uri": f"{idp.issuer}/jwks",
                            "authorization_endpoint": f"{idp.issuer}/authorize",
                            "token_endpoint": f"{idp.issuer}/token",
                        }
                    )
                elif url.path == "/jwks":
                    idp.jwks_fetches += 1
                    self._json({"keys": [k.jwk() for k in idp.keys]})
                elif url.path == "/authorize":
                    query = {k: v[0] for k, v in parse_qs(url.query).items()}
                    code = secrets.token_urlsafe(16)
                    idp._codes[code] = {**query, "user": dict(idp.next_user)}
                    target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.end_headers()
                else:
                    self._json({"error": "not_found"}, 404)

            def do_POST(self) -> None:
                if urlsplit(self.path).path != "/token":
                    self._json({"error": "not_found"}, 404)
                    return
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                grant = idp._codes.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "")
                challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
                if (
                    grant is None
                    or challenge.decode() != grant["code_challenge"]
                    or form.get("redirect_uri") != grant["redirect_uri"]
                    or form.get("client_id") != grant["client_id"]
                ):
                    self._json({"error": "invalid_grant"}, 400)
                    return
                user = grant["user"]
                self._json(
                    {
                        "token_type": "Bearer",
                        "id_token": idp.token(audience=CLIENT_ID, nonce=grant["nonce"], **user),
                        "access_token": idp.token(**user),
                        "expires_in": 300,
                    }
                )

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="test-idp", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def settings_env(self) -> dict[str, str]:
        """The ``PARLEY_OIDC_*`` variables a service needs to trust this provider."""
        return {
            "PARLEY_OIDC_ISSUER": self.issuer,
            "PARLEY_OIDC_AUDIENCE": AUDIENCE,
            "PARLEY_OIDC_ROLES_CLAIM": "realm_access.roles",
            "PARLEY_OIDC_ROLE_MAP": json.dumps(ROLE_MAP),
            "PARLEY_OIDC_CLIENT_ID": CLIENT_ID,
            "PARLEY_OIDC_DISPLAY_NAME": "Test IdP",
        }
