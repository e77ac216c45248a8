"""Company single sign-on: OIDC bearer JWTs checked against a JWKS served by a real HTTP server on
loopback (``tests/idp.py``, keys generated in the test), as every service is configured to trust it."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers import auth_header, wait_until
from tests.idp import LoopbackIdp, SigningKey

pytestmark = pytest.mark.e2e


async def _me(urls: dict[str, str], token: str, service: str = "negotiation") -> httpx.Response:
    async with httpx.AsyncClient(timeout=10.0) as client:
        return await client.get(f"{urls[service]}/v1/me", headers=auth_header(token))


async def test_a_valid_jwt_is_a_user_with_the_roles_and_clients_its_claims_name(
    urls: dict[str, str], idp: LoopbackIdp
) -> None:
    token = idp.token(
        subject="kim@acme-cc.example", roles=["cc-supervisors", "offline_access"], clients=["acme"]
    )
    async with httpx.AsyncClient(timeout=10.0) as client:
        for url in urls.values():
            me = await client.get(f"{url}/v1/me", headers=auth_header(token))
            assert me.status_code == 200, me.text
            body = me.json()
            # realm_access.roles mapped through PARLEY_OIDC_ROLE_MAP; unmapped values are ignored.
            assert (body["subject"], body["roles"], body["clients"], body["via"]) == (
                "kim@acme-cc.example",
                ["supervisor"],
                ["acme"],
                "oidc",
            )
        # The role decides as for any user: a supervisor reads cases, an auditor may not write.
        assert (
            await client.get(f"{urls['negotiation']}/v1/cases", headers=auth_header(token))
        ).status_code == 200
        auditor = idp.token(roles=["cc-auditors"])
        refused = await client.post(
            f"{urls['pricing']}/v1/reference/clients", content=b"[]", headers=auth_header(auditor)
        )
        assert refused.status_code == 403
        nobody = idp.token(roles=["some-other-group"])
        assert (
            await client.get(f"{urls['negotiation']}/v1/cases", headers=auth_header(nobody))
        ).status_code == 403


@pytest.mark.parametrize(
    ("case", "detail"),
    [
        ("expired", "the JWT has expired"),
        ("wrong audience", "the JWT is not meant for Parley (aud)"),
        ("wrong issuer", "the JWT comes from another issuer (iss)"),
        ("unknown key", "the JWT is signed with a key the issuer does not publish"),
        ("tampered", "the JWT does not verify: InvalidSignatureError"),
    ],
)
async def test_a_jwt_that_does_not_verify_is_401(
    urls: dict[str, str], idp: LoopbackIdp, case: str, detail: str
) -> None:
    token = {
        # Expired two minutes ago: beyond the 60 s leeway.
        "expired": lambda: idp.token(lifetime=60, issued_ago=180),
        "wrong audience": lambda: idp.token(audience="someone-else"),
        "wrong issuer": lambda: idp.token(iss="http://127.0.0.1:1/elsewhere"),
        "unknown key": lambda: idp.token(key=SigningKey.generate()),
        "tampered": lambda: _tampered(idp.token()),
    }[case]()
    refused = await _me(urls, token)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert refused.json()["detail"] == detail


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    return ".".join([header, payload, flipped])


async def test_a_token_within_the_clock_leeway_is_accepted(urls: dict[str, str], idp: LoopbackIdp) -> None:
    # Expired 20 s ago, inside PARLEY_OIDC_LEEWAY_SECONDS (60): a small clock skew is forgiven.
    assert (await _me(urls, idp.token(lifetime=100, issued_ago=120))).status_code == 200


async def test_a_rotated_key_is_fetched_when_a_token_names_it(urls: dict[str, str], idp: LoopbackIdp) -> None:
    assert (await _me(urls, idp.token(), "reporting")).status_code == 200  # reporting has the JWKS now
    fetched = idp.jwks_fetches
    key = idp.rotate()
    token = idp.token(subject="lee@acme-cc.example")

    async def accepted_now() -> httpx.Response | None:
        # A refetch for an unknown kid happens at most every JWKS_REFETCH_SECONDS (2 s) per process.
        answer = await _me(urls, token, "reporting")
        return answer if answer.status_code == 200 else None

    accepted = await wait_until(accepted_now, timeout=10, what="the rotated key to be fetched")
    assert accepted.json()["subject"] == "lee@acme-cc.example"
    assert idp.jwks_fetches == fetched + 1  # one refetch for the unknown kid, then cached
    assert (await _me(urls, idp.token(key=key), "reporting")).status_code == 200
    assert idp.jwks_fetches == fetched + 1


async def test_a_made_up_kid_does_not_make_every_request_a_jwks_fetch(
    urls: dict[str, str], idp: LoopbackIdp
) -> None:
    assert (await _me(urls, idp.token(), "agreements")).status_code == 200
    await wait_until(lambda: _settled(idp), timeout=5, what="fetches to settle")
    before = idp.jwks_fetches
    for _ in range(5):
        assert (await _me(urls, idp.token(key=SigningKey.generate()), "agreements")).status_code == 401
    assert idp.jwks_fetches - before <= 1


async def _settled(idp: LoopbackIdp) -> bool:
    return idp.jwks_fetches > 0
