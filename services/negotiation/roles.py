"""Who may call which negotiation route: one alias per group of roles (``shared.auth.requires``).

Reading cases, queues, providers, approvals and client settings: negotiator, supervisor, auditor, admin
(of their clients; another client's case is 404). Working cases (offers, responses, confirmations,
taking a case, requesting approvals, clocks, closing, contacts and notes): negotiator, supervisor.
Re-routing, reassigning, deciding approvals, overriding a duplicate block: supervisor. Client settings:
admin. The provider's offer page is public: its link token is the credential.
"""

from __future__ import annotations

from typing import Annotated

from shared.auth import CASE_READERS, Identity, Role, requires

Reader = Annotated[Identity, requires(*CASE_READERS)]
Worker = Annotated[Identity, requires(Role.negotiator, Role.supervisor)]
Supervisor = Annotated[Identity, requires(Role.supervisor)]
Admin = Annotated[Identity, requires(Role.admin)]
