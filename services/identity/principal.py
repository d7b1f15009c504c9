"""Who a session's account is now. Both gateways ask on every request that carries a session,
so a revoked role, a disabled account or a changed password takes effect on the next request of
every open session, not at its next sign-in."""

from __future__ import annotations

from typing import Any

from services.identity.accounts import load_account
from services.identity.deps import Deps


def current(deps: Deps, account_id: str) -> dict[str, Any] | None:
    """The account's principal (kind, roles with their province or unit, name, assurance level,
    security stamp) and whether it is disabled; None for an unknown account.

    Folded from the account's stream, never read from a read model: a projection's lag would
    keep a revoked role alive."""
    if not isinstance(account_id, str) or not 0 < len(account_id) <= 64:
        return None
    account = load_account(deps.store, account_id)
    if account is None:
        return None
    return {**account.principal(), "disabled": account.disabled}
