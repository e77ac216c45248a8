"""Webhook signatures and the URL policy, without a network."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from services.intake.keys import PREFIX, hash_secret, split_key
from services.intake.webhooks import UnsafeUrl, check_url, signature


def test_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    header = signature("whsec_abc", 1700000000, '{"id":"1"}')
    expected = hmac.new(b"whsec_abc", b'1700000000.{"id":"1"}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert signature("whsec_abc", 1700000001, '{"id":"1"}') != header  # the timestamp is signed too


@pytest.mark.parametrize(
    "url",
    [
        "http://partner.example/hook",  # not https
        "https://127.0.0.1/hook",  # loopback
        "https://10.1.2.3/hook",  # private
        "https://169.254.169.254/latest",  # link-local (cloud metadata)
        "https://[::1]/hook",
        "https://user:pw@partner.example/hook",
        "file:///etc/passwd",
    ],
)
def test_production_refuses_urls_into_our_own_network(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        check_url(url, allow_private=False)


def test_development_may_use_loopback() -> None:
    assert check_url("http://127.0.0.1:9000/hook", allow_private=True) == "http://127.0.0.1:9000/hook"


def test_keys_parse_only_in_their_own_shape() -> None:
    key = f"{PREFIX}_0123456789ab_" + "A" * 43
    assert split_key(key) == ("0123456789ab", "A" * 43)
    for bad in ("", key + "x", key.replace(PREFIX, "sk"), "prly_0123456789ab_short"):
        assert split_key(bad) is None
    assert hash_secret("A" * 43) != hash_secret("A" * 42 + "B")
