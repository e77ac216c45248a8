"""The per-process reference cache never keeps a value fetched under a version another decision replaced."""

from __future__ import annotations

import uuid

from services.pricing.reference_cache import MISSING, CacheView, ReferenceCache


def test_a_value_fetched_before_a_newer_version_was_seen_is_not_kept() -> None:
    cache = ReferenceCache()
    before, after = uuid.uuid4(), uuid.uuid4()
    cache.token = before
    slow = CacheView(cache, before)  # a decision that read the old version, still fetching
    cache.token = after  # meanwhile another decision saw a load's new version (and emptied the cache)
    slow.put(("client", "c"), "old row")
    assert cache.entries == {}
    assert CacheView(cache, after).get(("client", "c")) is MISSING
    CacheView(cache, after).put(("client", "c"), "new row")
    assert CacheView(cache, after).get(("client", "c")) == "new row"
    assert slow.get(("client", "c")) is MISSING  # the old decision never reads under the new version
