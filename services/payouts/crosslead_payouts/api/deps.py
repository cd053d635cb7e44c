"""Payouts' own dependency helpers; the shared ones (``Caller``, ``ReadSession``, …) come from
``crosslead_common.api.deps``."""

from __future__ import annotations

from crosslead_common.auth import Principal
from crosslead_common.domain import NotFound

__all__ = ["own_partner_scope"]


def own_partner_scope(principal: Principal, requested: str | None) -> str | None:
    """The partner whose data the caller may read: a partner only its own (another partner's
    id is a 404, as if it did not exist); the operator whichever it asks for, or None."""
    if principal.is_admin:
        return requested
    if requested is not None and requested != principal.partner_id:
        raise NotFound("partner")
    return principal.partner_id
