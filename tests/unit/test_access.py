"""Access pieces that need no running service: identities and scopes, token and cookie formats, claim
mapping, log redaction, webhook-secret encryption, and every route's declared roles."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from importlib import import_module

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr, ValidationError
from typer.testing import CliRunner

from services.intake.config import IntakeSettings
from services.intake.secrets import SecretBox, SecretsKeyError, parse_keys
from shared.auth import LINK_PAGE_PREFIXES, PUBLIC_PATHS, Identity, IdentityKind, Role, Via, route_roles
from shared.auth.dependency import app_routes
from shared.auth.oidc import OidcProvider, claim_at
from shared.auth.pages import safe_next
from shared.auth.sessions import read_session, read_signin_cookie, session_cookie, signin_cookie
from shared.auth.tokens import looks_like_jwt, new_token, secret_matches, split_token
from shared.catalog import SERVICES
from shared.cli import app
from shared.observability import REDACTED, redact_credentials
from shared.settings import Environment, Settings


def _user(*roles: Role, clients: tuple[str, ...] = ("*",), via: Via = Via.token) -> Identity:
    return Identity(
        kind=IdentityKind.user,
        subject="dana@acme-cc.example",
        name="Dana",
        roles=frozenset(roles),
        clients=frozenset(clients),
        token_id="0123456789ab",
        via=via,
    )


def test_client_scope_is_none_for_every_client_and_the_named_ones_otherwise() -> None:
    everyone = _user(Role.auditor)
    assert (everyone.client_scope, everyone.may_see("anyone")) == (None, True)
    scoped = _user(Role.negotiator, clients=("acme", "harbor"))
    assert scoped.client_scope == frozenset({"acme", "harbor"})
    assert (scoped.may_see("acme"), scoped.may_see("other"), scoped.may_see(None)) == (True, False, False)
    assert scoped.has(Role.negotiator, Role.admin)
    assert not scoped.has(Role.admin)
    assert _user(Role.auditor, Role.viewer).read_only
    assert not _user(Role.auditor, Role.supervisor).read_only


def test_tokens_are_told_apart_and_only_their_hash_is_needed() -> None:
    made = new_token()
    token_id, secret = split_token(made.token) or ("", "")
    assert (token_id, len(secret)) == (made.token_id, 43)
    assert secret_matches(secret, made.secret_sha256)
    assert made.secret_sha256 != secret
    assert split_token("prly_" + made.token[5:]) is None  # a partner key is not a user token
    assert split_token(made.token + "x") is None
    assert not looks_like_jwt(made.token)
    assert looks_like_jwt("eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl")


def test_a_session_cookie_round_trips_and_refuses_tampering_and_other_keys() -> None:
    settings = Settings(environment="test")
    value, csrf = session_cookie(settings, _user(Role.negotiator))
    session = read_session(settings, value)
    assert session is not None
    assert (session.subject, session.token_id, session.csrf, session.identity) == (
        "dana@acme-cc.example",
        "0123456789ab",
        csrf,
        None,  # a token session re-reads the token on every request
    )
    assert timedelta(minutes=479) < session.expires_at - datetime.now(UTC) <= timedelta(minutes=480)
    assert read_session(settings, value[:-3] + "abc") is None
    other = Settings(environment="test", session_secret=SecretStr("x" * 40))
    assert read_session(other, value) is None
    # The sign-in form's cookie is signed with the same key but is no session, and vice versa.
    assert read_session(settings, signin_cookie(settings, csrf="c")) is None
    assert read_signin_cookie(settings, value) == {}


def test_an_oidc_session_carries_the_identity_and_never_outlives_the_credential() -> None:
    settings = Settings(environment="test")
    identity = Identity(
        kind=IdentityKind.user,
        subject="sam@acme-cc.example",
        name="Sam",
        roles=frozenset({Role.supervisor}),
        clients=frozenset({"acme"}),
        via=Via.oidc,
        expires_at=datetime.now(UTC) + timedelta(minutes=30),
    )
    session = read_session(settings, session_cookie(settings, identity)[0])
    assert session is not None
    assert session.identity is not None
    assert (session.identity.roles, session.identity.clients) == (
        frozenset({Role.supervisor}),
        frozenset({"acme"}),
    )
    assert session.expires_at - datetime.now(UTC) <= timedelta(minutes=30)


def test_roles_and_clients_come_from_configurable_claims() -> None:
    claims = {
        "sub": "f81d4fae",
        "preferred_username": "kim@acme-cc.example",
        "name": "Kim",
        "realm_access": {"roles": ["cc-negotiators", "offline_access", "admin"]},
        "parley_clients": "acme harbor",
        "exp": 2_000_000_000,
        "jti": "abc",
    }
    assert claim_at(claims, "realm_access.roles") == ["cc-negotiators", "offline_access", "admin"]
    assert claim_at(claims, "realm_access.missing") is None
    keycloak = Settings(
        oidc_issuer="https://sso.example/realms/acme",
        oidc_roles_claim="realm_access.roles",
        oidc_role_map={"cc-negotiators": "negotiator"},
    )
    mapped = OidcProvider(keycloak).identity_of(claims)
    # With a map, only mapped values count (an IdP's own "admin" is not Parley's admin).
    assert (mapped.subject, mapped.name, mapped.roles) == ("kim@acme-cc.example", "Kim", {Role.negotiator})
    assert (mapped.clients, mapped.token_id) == ({"acme", "harbor"}, "abc")
    plain = OidcProvider(keycloak.model_copy(update={"oidc_role_map": {}})).identity_of(claims)
    assert plain.roles == {Role.admin}


@pytest.mark.parametrize(
    ("value", "expected"),
    [("/account", "/account"), ("/v1/cases?x=1", "/v1/cases?x=1"), ("https://evil.example", "/account"),
     ("//evil.example", "/account"), ("/\\evil", "/account"), (None, "/account")],
)  # fmt: skip
def test_sign_in_only_ever_returns_to_this_host(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


def test_credentials_never_reach_a_log_line() -> None:
    token = new_token().token
    event = {
        "event": f"calling with Bearer {token} and whsec_abcDEF123",
        "authorization": "anything",
        "headers": {
            "Cookie": "parley_session=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkIn0.sig",
            "X-Request-Id": "r1",
        },
        "key_id": "0123456789ab",
    }
    out = redact_credentials(logging.getLogger("t"), "info", dict(event))
    rendered = json.dumps(out)
    assert token not in rendered
    assert "whsec_abc" not in rendered
    assert "eyJzdWIi" not in rendered
    assert out["authorization"] == REDACTED
    assert out["headers"] == {"Cookie": REDACTED, "X-Request-Id": "r1"}
    assert out["key_id"] == "0123456789ab"  # ids are what logs are for


def test_webhook_secrets_are_sealed_and_survive_a_key_rotation() -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    sealed = SecretBox([old]).seal("whsec_secret")
    assert "whsec_secret" not in sealed
    rotated_box = SecretBox([new, old])  # step 1: the new key first, the old one still decrypts
    assert rotated_box.open(sealed) == "whsec_secret"
    resealed = rotated_box.rotate(sealed)  # step 2: `parley intake webhooks reencrypt`
    assert SecretBox([new]).open(resealed) == "whsec_secret"  # step 3: the old key can go
    with pytest.raises(SecretsKeyError):
        SecretBox([new]).open(sealed)


def test_production_needs_its_own_secrets_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="PARLEY_SECRETS_KEYS must be set in production"):
        parse_keys(None, Environment.production)
    with pytest.raises(ValueError, match="not a Fernet key"):
        parse_keys(SecretStr("not-a-key"), Environment.development)
    assert len(parse_keys(None, Environment.test)) == 1
    monkeypatch.setenv("PARLEY_SECRETS_KEYS", "nonsense")
    with pytest.raises(ValidationError, match="not a Fernet key"):
        IntakeSettings()


@pytest.mark.parametrize("info", SERVICES, ids=lambda s: s.name)
def test_every_route_declares_its_roles_or_is_public(info: object) -> None:
    name = info.name  # type: ignore[attr-defined]
    app = import_module(f"services.{name}.main").create_app()
    undeclared = []
    for route in app_routes(app):
        path = getattr(route, "path_format", None) or route.path
        if (
            path in PUBLIC_PATHS
            or path.startswith("/static")
            or path.startswith(LINK_PAGE_PREFIXES)  # provider link pages: their own link token
            or path.startswith("/v1/bills")
            or path.startswith("/v1/webhook")
        ):
            continue  # public, or intake's partner routes (their own partner-key dependency)
        if route_roles(route) is None:
            undeclared.append(path)
    assert undeclared == []
    logging.getLogger().handlers.clear()  # create_app configured JSON logging for a service


@pytest.mark.parametrize("days", ["-1", "36501"])
def test_a_token_lifetime_outside_0_to_100_years_is_refused_before_anything_is_written(days: str) -> None:
    # -1 used to print a token that was already expired; 3,000,000 ended in a traceback (past year 9999).
    for command in (
        ["users", "create", "--id", "x@example.com", "--name", "X", "--role", "viewer", "--all-clients"],
        ["users", "token", "x@example.com"],
    ):
        result = CliRunner().invoke(app, [*command, "--expires-days", days])
        assert result.exit_code == 2, result.output
        assert "--expires-days" in result.output
        assert "prlu_" not in result.output
