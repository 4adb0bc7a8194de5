"""Staff adjustments with a second person (finding 14): one staff member alone may move a
member's points only up to a threshold (LOYALTY_POINTS_ADJUSTMENT_APPROVAL_THRESHOLD, default
10,000 either way). A larger adjustment becomes a pending request, which another staff member
approves or rejects with a reason; no adjustment, approved or not, may exceed the hard ceiling
of MAX_SINGLE_ADJUSTMENT points.

Who approves: staff with a role in APPROVER_ROLES (admins), and never the staff member who
asked. Approval writes the ledger entry through `service.adjust` with the key
`adjust-request:<id>`, under a lock on the request row: two approvers at once, or one clicking
twice, apply it once. Every step (requested, approved, rejected) is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from loyalty.i18n import Message, _
from loyalty.i18n.enums import enum_list
from loyalty.i18n.format import identifiers, Later
from loyalty.identity.tables import role_words
from loyalty import clock, db
from loyalty.audit import service as audit
from loyalty.errors import DomainError, Forbidden, InvalidField, NotFound
from loyalty.points import service
from loyalty.points.tables import LedgerEntry, PointsAdjustmentRequest

# No single adjustment is larger, whoever asks and whoever approves: a typo of three zeros
# must not become a billion points.
MAX_SINGLE_ADJUSTMENT = 10_000_000
DEFAULT_THRESHOLD = 10_000
APPROVER_ROLES = ("admin",)
STATUSES = ("pending", "approved", "rejected")


class AdjustmentTooLarge(DomainError):
    type = "adjustment-too-large"
    status = 422
    title = _("One adjustment may move at most 10,000,000 points")


class AdjustmentAlreadyDecided(DomainError):
    type = "adjustment-already-decided"
    status = 409
    title = _("This adjustment request has already been decided")


class OwnAdjustmentRequest(DomainError):
    type = "adjustment-own-request"
    status = 403
    title = _("Another staff member must decide on an adjustment you asked for")


@dataclass(frozen=True)
class AdjustmentOutcome:
    """Either the entry of an adjustment applied at once, or the request waiting for approval."""

    entry: service.EntryResult | None = None
    request: dict[str, Any] | None = None
    replayed: bool = False


def _check(points: int, reason: str) -> str:
    if not isinstance(points, int) or isinstance(points, bool) or points == 0:
        raise InvalidField(_("points must be a non-zero whole number"), field="points")
    if abs(points) > MAX_SINGLE_ADJUSTMENT:
        raise AdjustmentTooLarge(
            _("{points:,} points: one adjustment may move at most ±{most:,}", points=points, most=MAX_SINGLE_ADJUSTMENT),
            field="points", limit=MAX_SINGLE_ADJUSTMENT,
        )
    return audit.required_reason(reason)


def _already_decided(request_id: int, status: str) -> Message:
    if status == "approved":
        return _("Request {id} has already been approved.", id=request_id)
    return _("Request {id} has already been rejected.", id=request_id)


def _ledger_key(key: str) -> str:
    return f"adjust:{key}"


async def adjust_or_request(
    member_id: int, points: int, *, key: str, reason: str, staff_id: int, threshold: int = DEFAULT_THRESHOLD,
    today: date | None = None,
) -> AdjustmentOutcome:
    """A staff adjustment: applied at once up to `threshold` points (either sign), otherwise
    recorded as a pending request for an approver. Idempotent by `key` on both paths; the same
    key with another body is an IdempotencyConflict."""
    text = _check(points, reason)
    if abs(points) <= threshold and abs(await _recent_net(member_id, staff_id, key) + points) <= threshold:
        if await PointsAdjustmentRequest.exists().where(PointsAdjustmentRequest.idempotency_key == _ledger_key(key)):
            raise service.IdempotencyConflict(service.KEY_USED_FOR_ANOTHER.format(key=key), field="idempotency_key")
        return AdjustmentOutcome(entry=await service.adjust(member_id, points, key=_ledger_key(key), reason=text, staff_id=staff_id, today=today))
    request, replayed = await _request(member_id, points, key=_ledger_key(key), reason=text, staff_id=staff_id)
    return AdjustmentOutcome(request=request, replayed=replayed)


SPLIT_WINDOW = timedelta(hours=24)


async def _recent_net(member_id: int, staff_id: int, key: str) -> int:
    """What this staff member moved on this member's points by direct adjustments in the last
    24 hours, so that 3 × 9,000 is judged as the 27,000 it is (a retry of an applied
    adjustment is judged as itself: it replays). Corrections cancel out: +500 then -500 is 0."""
    if await LedgerEntry.exists().where(LedgerEntry.idempotency_key == _ledger_key(key)):
        return 0
    rows = await LedgerEntry.select(LedgerEntry.available_delta).where(
        (LedgerEntry.member == member_id) & (LedgerEntry.kind == "adjust") & (LedgerEntry.actor_kind == "staff")
        & (LedgerEntry.actor_id == staff_id) & (LedgerEntry.created_at > clock.now() - SPLIT_WINDOW)
        & LedgerEntry.idempotency_key.like("adjust:%")
    )
    return sum(row["available_delta"] for row in rows)


async def _request(member_id: int, points: int, *, key: str, reason: str, staff_id: int) -> tuple[dict[str, Any], bool]:
    from loyalty.members.tables import Member

    fingerprint = service.request_hash(op="adjust", member=member_id, points=points, reason=reason)
    async with db.transaction():
        if not await Member.exists().where(Member.id == member_id):
            raise NotFound(_("Member {id} does not exist.", id=member_id), field="member")
        if await LedgerEntry.exists().where(LedgerEntry.idempotency_key == key):
            raise service.IdempotencyConflict(service.KEY_USED_FOR_ANOTHER.format(key=key), field="idempotency_key")
        # A retry (or a double click) finds the first request: the key is unique.
        inserted = await PointsAdjustmentRequest.insert(
            PointsAdjustmentRequest(
                member=member_id, points=points, reason=reason, idempotency_key=key, request_hash=fingerprint,
                requested_by=staff_id, requested_at=clock.now(),
            )
        ).on_conflict(target=PointsAdjustmentRequest.idempotency_key, action="DO NOTHING").returning(
            PointsAdjustmentRequest.id
        )
        row = await PointsAdjustmentRequest.select().where(PointsAdjustmentRequest.idempotency_key == key).first()
        if row["request_hash"] != fingerprint or row["member"] != member_id:
            raise service.IdempotencyConflict(service.KEY_USED_FOR_ANOTHER.format(key=key), field="idempotency_key")
        if inserted:
            await audit.record(
                action="points.adjust_requested", subject_kind="member", subject_id=member_id, reason=reason,
                actor_id=staff_id, data={"request": row["id"], "points": points},
            )
    return row, not inserted


async def _locked(request_id: int) -> dict[str, Any]:
    query = PointsAdjustmentRequest.select().where(PointsAdjustmentRequest.id == request_id)
    if db.is_postgres():
        query = query.lock_rows()  # SQLite: the write transaction already runs alone
    row = await query.first()
    if row is None:
        raise NotFound(_("Adjustment request {id} does not exist.", id=request_id))
    return row


def _may_decide(row: dict[str, Any], staff_id: int, staff_role: str) -> None:
    if staff_role not in APPROVER_ROLES:
        raise Forbidden(
            _(
                "Approving adjustments needs the role {needed}; you are {role}.",
                needed=Later(enum_list, "staff_role", APPROVER_ROLES, style="or"), role=role_words(staff_role),
            ),
            role=staff_role,
        )
    if row["requested_by"] == staff_id:
        raise OwnAdjustmentRequest(
            _(
                "Request {id} is yours: another {approver} decides on it.",
                id=row["id"], approver=Later(enum_list, "staff_role", APPROVER_ROLES, style="or"),
            )
        )


async def approve(request_id: int, *, staff_id: int, staff_role: str, note: str = "", today: date | None = None) -> dict[str, Any]:
    """An approver (never the requester) applies a pending request through the ledger, once:
    the request row is locked, and its ledger key is unique. The approver's own repeat click
    returns the approved request; any other decision on a decided request is a 409."""
    async with db.transaction():
        row = await _locked(request_id)
        _may_decide(row, staff_id, staff_role)
        if row["status"] != "pending":
            if row["status"] == "approved" and row["decided_by"] == staff_id:
                return row
            raise AdjustmentAlreadyDecided(_already_decided(request_id, row["status"]), status_now=row["status"])
        # The requester stays the entry's actor (their reason, their request); the approval is audited.
        entry = await service.adjust(
            row["member"], int(row["points"]), key=f"adjust-request:{request_id}", reason=row["reason"],
            staff_id=row["requested_by"], today=today,
        )
        now = clock.now()
        await PointsAdjustmentRequest.update(
            {
                PointsAdjustmentRequest.status: "approved", PointsAdjustmentRequest.decided_by: staff_id,
                PointsAdjustmentRequest.decided_at: now, PointsAdjustmentRequest.decision_reason: (note or "").strip()[:500],
                PointsAdjustmentRequest.entry: entry.entry_id,
            }
        ).where(PointsAdjustmentRequest.id == request_id)
        await audit.record(
            action="points.adjust_approved", subject_kind="member", subject_id=row["member"], reason=(note or "").strip()[:500],
            actor_id=staff_id, data={"request": request_id, "points": row["points"], "entry": entry.entry_id, "requested_by": row["requested_by"]},
        )
    return await get(request_id)


async def reject(request_id: int, *, staff_id: int, staff_role: str, reason: str) -> dict[str, Any]:
    """An approver (never the requester) refuses a pending request, saying why (audited)."""
    text = audit.required_reason(reason)
    async with db.transaction():
        row = await _locked(request_id)
        _may_decide(row, staff_id, staff_role)
        if row["status"] != "pending":
            raise AdjustmentAlreadyDecided(_already_decided(request_id, row["status"]), status_now=row["status"])
        await _reject(row, staff_id, text)
    return await get(request_id)


async def _reject(row: dict[str, Any], staff_id: int, reason: str) -> None:
    await PointsAdjustmentRequest.update(
        {
            PointsAdjustmentRequest.status: "rejected", PointsAdjustmentRequest.decided_by: staff_id,
            PointsAdjustmentRequest.decided_at: clock.now(), PointsAdjustmentRequest.decision_reason: reason,
        }
    ).where(PointsAdjustmentRequest.id == row["id"])
    await audit.record(
        action="points.adjust_rejected", subject_kind="member", subject_id=row["member"], reason=reason,
        actor_id=staff_id, data={"request": row["id"], "points": row["points"], "requested_by": row["requested_by"]},
    )


async def reject_pending_of(member_id: int, *, staff_id: int, reason: str) -> int:
    """Inside the caller's transaction (an erasure): reject every pending request of the
    member, so nothing is credited to someone who can never spend it. Returns how many."""
    rows = await PointsAdjustmentRequest.select().where(
        (PointsAdjustmentRequest.member == member_id) & (PointsAdjustmentRequest.status == "pending")
    )
    for row in rows:
        await _reject(row, staff_id, reason)
    return len(rows)


async def get(request_id: int) -> dict[str, Any]:
    row = await PointsAdjustmentRequest.select().where(PointsAdjustmentRequest.id == request_id).first()
    if row is None:
        raise NotFound(_("Adjustment request {id} does not exist.", id=request_id))
    return row


async def requests(
    *, status: str | None = "pending", member_id: int | None = None, after_id: int | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Adjustment requests, oldest first (the pending ones by default: the approvers' queue)."""
    query = PointsAdjustmentRequest.select().order_by(PointsAdjustmentRequest.id).limit(limit)
    if status is not None:
        if status not in STATUSES:
            raise InvalidField(_("status must be one of {choices}", choices=Later(identifiers, STATUSES)), field="status")
        query = query.where(PointsAdjustmentRequest.status == status)
    if member_id is not None:
        query = query.where(PointsAdjustmentRequest.member == member_id)
    if after_id is not None:
        query = query.where(PointsAdjustmentRequest.id > after_id)
    return await query
