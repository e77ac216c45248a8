"""Per-partner intake settings an operator records (``parley intake partners …``).

One today: the character a partner writes between the components of a composite when it is not the one
its ISA16 declares. Parley never guesses a separator (a guess that is wrong once reads wrong codes without
anyone noticing), but a partner whose software always writes ``HC>98940`` under ``ISA16 = :`` can be
taken as it is once an admin has confirmed that with the partner and recorded it here. Every claim read
that way carries a warning that says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.intake.models import ApiKey, Partner

# Characters that can stand between components; never a letter, digit or space (they occur in values).
SEPARATORS = frozenset(":>^|\\<!~*")


@dataclass(frozen=True)
class PartnerSettings:
    id: str
    name: str
    composite_separator: str | None
    webhook: bool
    active_keys: int


def check_separator(value: str | None) -> str | None:
    """The separator to store, or None to clear it; ValueError naming the choices otherwise."""
    if value is None or value.lower() in ("", "none", "off"):
        return None
    if value not in SEPARATORS:
        raise ValueError(
            f"a composite separator is one of {' '.join(sorted(SEPARATORS))} (or 'none' to clear it)"
        )
    return value


async def set_composite_separator(session: AsyncSession, partner_id: str, separator: str | None) -> bool:
    """Record (or clear, with None) the partner's composite separator; False if there is no such partner."""
    result = await session.execute(
        update(Partner).where(Partner.id == partner_id).values(composite_separator=separator)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def composite_separator(session: AsyncSession, partner_id: str) -> str | None:
    """The partner's recorded composite separator, if an operator set one."""
    stmt = select(Partner.composite_separator).where(Partner.id == partner_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_partners(session: AsyncSession) -> Sequence[PartnerSettings]:
    active = (
        select(func.count())
        .where(ApiKey.partner_id == Partner.id, ApiKey.revoked_at.is_(None))
        .scalar_subquery()
    )
    stmt = select(Partner, active).order_by(Partner.id)
    return [
        PartnerSettings(p.id, p.name, p.composite_separator, p.webhook_url is not None, int(count))
        for p, count in (await session.execute(stmt)).all()
    ]
