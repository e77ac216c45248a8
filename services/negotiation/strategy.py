"""The opening offer: start from the U&C target, adjust by the provider's history within client limits,
never above billed.

    factor  = 100 %                                   when the provider has fewer than ``min_history``
                                                      accepted payments with a target on record
            = clamp(median share of the target the provider accepted over its last ``history_window``
                    payments, floor %, ceiling %)     otherwise
    opening = min(billed, round(target × factor, cents) + unpriced lines at billed)

Why this formula: the median of three U&C reviews is the figure Parley can defend line by line (seed
000), so it is the anchor. What a provider accepted before is the best predictor of what it will accept
now: a provider that settled below the target will again, so opening at the target would give money
away; one that held out above it will again, so opening a little higher saves rounds. The median keeps
one odd settlement from moving the opening; the client's floor and ceiling keep history from moving it
far; and no payer offers more than the provider asked. Unpriced lines carry no saving (nobody priced
them), so they are added at billed and never scaled.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from services.negotiation.client_settings import StrategyLimits

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def money(value: Decimal) -> str:
    """Dollars as a reader writes them: 2,140.00."""
    return f"{value:,.2f}"


def percent(value: Decimal) -> str:
    """A percentage without needless decimals: 92, 92.5."""
    text = f"{value.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP):f}"
    return text[:-2] if text.endswith(".0") else text


@dataclass(frozen=True)
class PastPayment:
    """An accepted payment of the provider, as shares (fractions: 0.92 is 92 %)."""

    share_of_billed: Decimal
    share_of_target: Decimal | None


@dataclass(frozen=True)
class Opening:
    amount: Decimal
    factor_percent: Decimal  # the % of the target applied
    basis: str


def target_label(method: str | None) -> str:
    return "U&C median" if method in (None, "usual_and_customary") else "priced amount"


def opening_offer(
    *,
    billed: Decimal,
    target: Decimal,
    unpriced_billed: Decimal,
    history: Sequence[PastPayment],
    limits: StrategyLimits,
    client_id: str,
    method: str | None = "usual_and_customary",
) -> Opening:
    """The opening offer for a bill and why, in words a provider can read (see the module docstring).

    ``history`` is the provider's accepted payments, most recent first. Amounts in dollars."""
    recent = list(history[: limits.history_window])
    with_target = [p.share_of_target for p in recent if p.share_of_target is not None]
    parts = [f"{target_label(method)} {money(target)}"]
    if len(with_target) >= limits.min_history:
        median_share = (Decimal(statistics.median(with_target)) * HUNDRED).quantize(Decimal("0.1"))
        factor = min(max(median_share, limits.floor_percent_of_target), limits.ceiling_percent_of_target)
        billed_shares = sorted(p.share_of_billed * HUNDRED for p in recent)
        low, high = billed_shares[0], billed_shares[-1]
        range_text = percent(low) if percent(low) == percent(high) else f"{percent(low)}–{percent(high)}"
        parts.append(
            f"provider accepted {range_text}% of billed on {len(recent)} prior bill(s), "
            f"a median {percent(median_share)}% of the target on {len(with_target)}"
        )
        if factor != median_share:
            bound = "floor" if factor == limits.floor_percent_of_target else "ceiling"
            parts.append(f"held to {client_id}'s {bound} of {percent(factor)}% of the target")
    else:
        factor = HUNDRED
        parts.append(
            f"{len(with_target)} accepted payment(s) on record, fewer than the {limits.min_history} "
            "needed to adjust: opening at the target"
        )
    scaled = (target * factor / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)
    amount = scaled + unpriced_billed
    sums = f"{percent(factor)}% of {money(target)} = {money(scaled)}"
    if unpriced_billed:
        sums += f", plus {money(unpriced_billed)} of unpriced lines at billed"
    parts.append(sums)
    if amount > billed:
        amount = billed
        parts.append(f"never above billed: {money(billed)}")
    return Opening(amount=amount, factor_percent=factor, basis="; ".join(parts))
