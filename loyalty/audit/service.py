"""Record what staff changed. Callers pass their open transaction's work; the entry commits
with the change or not at all."""

from __future__ import annotations

from typing import Any

from loyalty import clock
from loyalty.audit.tables import AuditEntry
from loyalty.errors import InvalidField
from loyalty.i18n import _


def required_reason(reason: str | None) -> str:
    """The reason a staff action must give, as it is audited: at least 2 characters, at most
    500 kept. Raises InvalidField naming `reason`."""
    text = (reason or "").strip()
    if len(text) < 2:
        raise InvalidField(_("say why (a reason is required and audited)"), field="reason")
    return text[:500]


async def record(
    *,
    action: str,
    subject_kind: str,
    subject_id: int,
    reason: str = "",
    actor_kind: str = "staff",
    actor_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    await AuditEntry.insert(
        AuditEntry(
            actor_kind=actor_kind,
            actor_id=actor_id,
            action=action,
            subject_kind=subject_kind,
            subject_id=subject_id,
            reason=reason,
            data=data or {},
            at=clock.now(),
        )
    )


async def entries_for(subject_kind: str, subject_id: int) -> list[dict[str, Any]]:
    return (
        await AuditEntry.select()
        .where((AuditEntry.subject_kind == subject_kind) & (AuditEntry.subject_id == subject_id))
        .order_by(AuditEntry.id)
        .output(load_json=True)
    )
