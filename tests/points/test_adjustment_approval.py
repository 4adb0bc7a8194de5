"""Large staff adjustments need a second person (finding 14): above the approval threshold
(default 10,000 points either way) an adjustment is a pending request, not points; another
staff member, an admin and never the requester, approves it (applied through the ledger
exactly once, even with two approvers at once) or rejects it with a reason. No adjustment
moves more than 10,000,000 points. Every step is audited."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest
import time_machine

from loyalty.audit.tables import AuditEntry
from loyalty.points import approvals, service as points
from loyalty.points.tables import PointsAdjustmentRequest
from tests.identity.builders import add_staff, log_in_staff
from tests.points.builders import PHONE, entries_of, import_owners

NOW = datetime(2026, 6, 15, 4, 0, tzinfo=timezone.utc)  # noon in Beijing


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
async def member(database, tmp_path) -> int:
    (member,) = await import_owners(tmp_path, PHONE)
    return member


async def _staff(new_client, username: str, role: str):
    await add_staff(username, role)
    http = await new_client()
    await log_in_staff(http, username)
    return http


def _url(member: int) -> str:
    return f"/api/v1/staff/members/{member}/points/adjustments"


async def _actions() -> list[str]:
    return [row["action"] for row in await AuditEntry.select(AuditEntry.action).order_by(AuditEntry.id)]


async def test_service_staff_alone_cannot_add_a_billion_points(member, new_client):
    service = await _staff(new_client, "kefu", "service")

    billion = await service.post(_url(member), json={"points": 1_000_000_000, "reason": "补偿", "idempotency_key": "big-0001"})
    minus = await service.post(_url(member), json={"points": -1_000_000_000, "reason": "扣回", "idempotency_key": "big-0002"})
    just_over = await service.post(_url(member), json={"points": 10_000_001, "reason": "补偿", "idempotency_key": "big-0003"})

    assert [r.status_code for r in (billion, minus, just_over)] == [422, 422, 422]
    assert {r.json()["type"] for r in (billion, minus, just_over)} == {"/problems/adjustment-too-large"}
    assert await entries_of(member) == [] and await PointsAdjustmentRequest.count() == 0


async def test_an_adjustment_above_the_threshold_waits_for_approval_and_moves_no_points(member, new_client):
    service = await _staff(new_client, "kefu", "service")

    response = await service.post(_url(member), json={"points": 10_001, "reason": "团购补差", "idempotency_key": "req-0001"})

    assert response.status_code == 202, response.text
    request = response.json()
    assert (request["status"], request["points"], request["member_id"], request["entry_id"]) == ("pending", 10_001, member, None)
    assert (await points.balance(member)).available == 0 and await entries_of(member) == []
    queue = await service.get("/api/v1/staff/points/adjustment-requests")
    assert [r["id"] for r in queue.json()] == [request["id"]]
    assert await _actions() == ["points.adjust_requested"]


async def test_an_adjustment_up_to_the_threshold_is_applied_at_once(member, new_client):
    service = await _staff(new_client, "kefu", "service")

    credit = await service.post(_url(member), json={"points": 10_000, "reason": "补偿", "idempotency_key": "small-0001"})
    debit = await service.post(_url(member), json={"points": -10_000, "reason": "扣回", "idempotency_key": "small-0002"})

    assert (credit.status_code, debit.status_code) == (201, 201), debit.text
    assert (await points.balance(member)).available == 0 and len(await entries_of(member, "adjust")) == 2


async def test_an_admin_approves_and_the_points_arrive_once(member, new_client):
    service = await _staff(new_client, "kefu", "service")
    admin = await _staff(new_client, "boss", "admin")
    other_admin = await _staff(new_client, "boss2", "admin")
    request = (await service.post(_url(member), json={"points": 50_000, "reason": "团购补差", "idempotency_key": "req-0002"})).json()
    approval = f"/api/v1/staff/points/adjustment-requests/{request['id']}/approval"

    approved = await admin.post(approval, json={"note": "已核对合同"})
    again = await admin.post(approval, json={})
    late = await other_admin.post(approval, json={})

    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert (body["status"], body["decision_reason"]) == ("approved", "已核对合同") and body["entry_id"]
    assert again.status_code == 200 and again.json()["entry_id"] == body["entry_id"]
    assert late.status_code == 409 and late.json()["type"] == "/problems/adjustment-already-decided"
    (entry,) = await entries_of(member, "adjust")
    assert (entry["id"], entry["available_delta"], entry["reason"]) == (body["entry_id"], 50_000, "团购补差")
    assert (await points.balance(member)).available == 50_000
    assert await _actions() == ["points.adjust_requested", "points.adjust", "points.adjust_approved"]
    assert (await service.get("/api/v1/staff/points/adjustment-requests")).json() == []


async def test_the_requester_never_approves_their_own_adjustment(member, new_client):
    admin = await _staff(new_client, "boss", "admin")
    request = (await admin.post(_url(member), json={"points": 20_000, "reason": "补偿", "idempotency_key": "req-0003"})).json()

    own = await admin.post(f"/api/v1/staff/points/adjustment-requests/{request['id']}/approval", json={})
    own_reject = await admin.post(f"/api/v1/staff/points/adjustment-requests/{request['id']}/rejection", json={"reason": "撤回"})

    assert own.status_code == 403 and own.json()["type"] == "/problems/adjustment-own-request"
    assert own_reject.status_code == 403
    assert (await points.balance(member)).available == 0


@pytest.mark.parametrize("role", ["service", "sales", "event_staff"])
async def test_only_admins_approve_or_reject_adjustments(member, new_client, role):
    requester = await _staff(new_client, "kefu", "service")
    request = (await requester.post(_url(member), json={"points": 20_000, "reason": "补偿", "idempotency_key": "req-0004"})).json()
    other = await _staff(new_client, "someone", role)

    approve = await other.post(f"/api/v1/staff/points/adjustment-requests/{request['id']}/approval", json={})
    reject = await other.post(f"/api/v1/staff/points/adjustment-requests/{request['id']}/rejection", json={"reason": "不同意"})

    assert (approve.status_code, reject.status_code) == (403, 403)
    assert (await points.balance(member)).available == 0
    assert (await approvals.get(request["id"]))["status"] == "pending"


async def test_only_an_approver_role_decides_even_when_called_from_a_service(member):
    request, _ = await approvals._request(member, 20_000, key="adjust:svc-1", reason="补偿", staff_id=1)

    with pytest.raises(approvals.Forbidden):
        await approvals.approve(request["id"], staff_id=2, staff_role="service")


async def test_a_rejection_says_why_and_the_request_can_no_longer_be_approved(member, new_client):
    service = await _staff(new_client, "kefu", "service")
    admin = await _staff(new_client, "boss", "admin")
    request = (await service.post(_url(member), json={"points": -20_000, "reason": "误发", "idempotency_key": "req-0005"})).json()
    base = f"/api/v1/staff/points/adjustment-requests/{request['id']}"

    without_reason = await admin.post(f"{base}/rejection", json={"reason": " "})
    rejected = await admin.post(f"{base}/rejection", json={"reason": "与工单金额不符"})
    approve_after = await admin.post(f"{base}/approval", json={})

    assert without_reason.status_code in (400, 422)
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert rejected.json()["decision_reason"] == "与工单金额不符"
    assert approve_after.status_code == 409
    listed = await service.get("/api/v1/staff/points/adjustment-requests", params={"status": "rejected"})
    assert [r["decision_reason"] for r in listed.json()] == ["与工单金额不符"]
    assert await _actions() == ["points.adjust_requested", "points.adjust_rejected"]
    assert await entries_of(member) == []


async def test_an_approved_debit_still_never_takes_the_balance_below_zero(member, new_client):
    await points.earn(member, 15_000, key="e", source_kind="test")
    service = await _staff(new_client, "kefu", "service")
    admin = await _staff(new_client, "boss", "admin")
    request = (await service.post(_url(member), json={"points": -20_000, "reason": "误发", "idempotency_key": "req-0006"})).json()

    approved = await admin.post(f"/api/v1/staff/points/adjustment-requests/{request['id']}/approval", json={})

    assert approved.status_code == 422 and approved.json()["type"] == "/problems/insufficient-points"
    assert (await approvals.get(request["id"]))["status"] == "pending"
    assert (await points.balance(member)).available == 15_000


async def test_a_retried_request_returns_the_first_and_a_different_body_is_409(member, new_client):
    service = await _staff(new_client, "kefu", "service")
    body = {"points": 30_000, "reason": "补偿", "idempotency_key": "req-0007"}

    first = await service.post(_url(member), json=body)
    again = await service.post(_url(member), json=body)
    different = await service.post(_url(member), json={**body, "points": 40_000})
    small_with_the_key = await service.post(_url(member), json={**body, "points": 300})

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == {**first.json(), "replayed": True}
    assert different.status_code == 409 and small_with_the_key.status_code == 409
    assert await PointsAdjustmentRequest.count() == 1 and await entries_of(member) == []


async def test_a_threshold_of_zero_sends_every_adjustment_for_approval(member):
    outcome = await approvals.adjust_or_request(member, 1, key="one", reason="补偿", staff_id=1, threshold=0)

    assert outcome.entry is None and outcome.request["status"] == "pending"


@pytest.mark.postgres_only
async def test_two_admins_approving_at_once_apply_the_adjustment_once(member):
    request, _ = await approvals._request(member, 50_000, key="adjust:race-1", reason="团购补差", staff_id=1)

    results = await asyncio.gather(
        *(approvals.approve(request["id"], staff_id=2 + n % 2, staff_role="admin") for n in range(20)),
        return_exceptions=True,
    )

    approved = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(r, approvals.AdjustmentAlreadyDecided) for r in refused), refused
    assert approved and len({r["entry"] for r in approved}) == 1
    assert len(await entries_of(member, "adjust")) == 1
    assert (await points.balance(member)).available == 50_000
    assert await AuditEntry.count().where(AuditEntry.action == "points.adjust_approved") == 1


async def test_an_adjustment_split_into_small_ones_still_waits_for_approval(member, new_client):
    """The review moved 27,000 points alone as 3 × 9,000 under a 10,000 threshold."""
    service = await _staff(new_client, "kefu", "service")
    answers = [
        await service.post(_url(member), json={"points": 9_000, "reason": "补偿", "idempotency_key": f"split-000{n}"})
        for n in range(3)
    ]
    assert [a.status_code for a in answers] == [201, 202, 202], [a.text for a in answers]
    assert (await points.balance(member)).available == 9_000
    retry = await service.post(_url(member), json={"points": 9_000, "reason": "补偿", "idempotency_key": "split-0000"})
    assert retry.status_code == 201  # a retry of the applied one replays it
