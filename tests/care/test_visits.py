"""Return visits (回访, issue 20): the journey's clocks, created once by the hourly job (also with
two copies of it at once on PostgreSQL), the monthly plan reaching 85% of active owners, the
outcome recorded once and audited, who may do what, the coverage KPI and the contact log.

Time stands still at NOW (2026-06-15 12:00 Beijing) unless a test says otherwise; the jobs take
`now` as the beat would pass the moment it runs."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from loyalty import jobs
from loyalty.audit.tables import AuditEntry
from loyalty.care import cases, visits
from loyalty.care.tables import Case, CaseMessage, OutboxMessage, ReturnVisit
from loyalty.clock import LOCAL_ZONE
from loyalty.identity.tables import StaffAccount
from loyalty.members.tables import Ownership
from tests.events.builders import NOW, member_client, owners, phone, staff, staff_client
from tests.referrals.builders import build_world, move, register

VISITS = "/api/v1/staff/visits"


@pytest.fixture(autouse=True)
def job_settings(settings):
    jobs.configure(settings)


def bj(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=LOCAL_ZONE)


async def made() -> dict[tuple[str, str], datetime]:
    rows = await ReturnVisit.select().order_by(ReturnVisit.id)
    return {(r["kind"], r["source"]): r["due_at"] for r in rows}


async def closed_case(member: int, kind: str, at: datetime, staff_id: int, **values: Any) -> int:
    case_id = await cases.open_case(member, kind, "厨房水管漏水", "请尽快上门", now=at - timedelta(days=1))
    if values:
        await Case.update({getattr(Case, k): v for k, v in values.items()}).where(Case.id == case_id)
    await cases.resolve(case_id, "已更换水管", staff_id, now=at)
    return case_id


# --- the clocks -------------------------------------------------------------------------------


async def test_a_week_after_signing_and_a_week_after_subscribing(database, frozen, tmp_path):
    (signed,) = await owners(tmp_path, 1, contract_date="2026-06-10")
    (tmp_path / "w").mkdir()
    world = await build_world(tmp_path / "w")
    lead = await register(world)
    await move(world, lead, "subscribed")  # at NOW

    await visits.create_due_visits(NOW)

    ownership = (await Ownership.select(Ownership.id).where(Ownership.member == signed).first())["id"]
    found = await made()
    assert found[("after_signing", f"ownership:{ownership}")] == bj(2026, 6, 17, 18, 0)
    assert found[("after_subscription", f"lead:{lead['id']}")] == NOW + timedelta(days=7)
    row = await ReturnVisit.select().where(ReturnVisit.kind == "after_subscription").first()
    assert (row["member"], row["lead"]) == (None, lead["id"])  # a lead is not a member yet


async def test_seven_days_before_handover_and_a_month_after_moving_in(database, frozen, tmp_path):
    (coming,) = await owners(tmp_path, 1, contract_date="2025-03-01", delivery_date="2026-07-01")
    (moved,) = await owners(tmp_path, 1, start=1, contract_date="2025-03-01", delivery_date="2026-06-01")
    (no_date,) = await owners(tmp_path, 1, start=2, contract_date="2025-03-01")
    (far,) = await owners(tmp_path, 1, start=3, contract_date="2025-03-01", delivery_date="2027-06-01")

    await visits.create_due_visits(NOW)

    by_member = {r["member"]: (r["kind"], r["due_at"]) for r in await ReturnVisit.select()}
    assert by_member == {
        coming: ("before_handover", bj(2026, 6, 24, 18, 0)),
        moved: ("after_move_in", bj(2026, 7, 1, 18, 0)),
    }  # no visit for the owner without a delivery date; none for signings long past (catch-up window)
    assert no_date not in by_member and far not in by_member  # a handover a year away: not yet
    await visits.create_due_visits(bj(2027, 5, 10, 9, 0))
    assert (await ReturnVisit.select().where(ReturnVisit.member == far).first())["due_at"] == bj(2027, 5, 25, 18, 0)


async def test_24_hours_after_a_repair_closes_and_two_months_after_a_major_one(database, frozen, tmp_path):
    a, b = await owners(tmp_path, 2, contract_date="2025-03-01")
    desk = await staff("desk1", "service")
    plain = await closed_case(a, "repair", bj(2026, 6, 14, 9, 30), desk)
    major_values = {"severity": "major"} if hasattr(Case, "severity") else {}
    major = await closed_case(b, "repair", bj(2026, 6, 14, 9, 30), desk, **major_values)

    await visits.create_due_visits(NOW)

    found = await made()
    assert found[("after_repair", f"case:{plain}")] == bj(2026, 6, 15, 9, 30)
    assert found[("after_repair", f"case:{major}")] == bj(2026, 6, 15, 9, 30)
    assert ("after_major_repair", f"case:{major}") not in found  # due in two months: created a month ahead
    if major_values:
        await visits.create_due_visits(bj(2026, 7, 20, 9, 0))
        found = await made()
        assert found[("after_major_repair", f"case:{major}")] == bj(2026, 8, 14, 9, 30)
        assert ("after_major_repair", f"case:{plain}") not in found


def test_the_major_repair_clock_is_two_months_after_closing():
    # The rule itself, whether or not cases carry a severity yet in this build.
    case = {"kind": "repair", "resolved_at": bj(2026, 12, 31, 17, 0), "severity": "major"}
    assert visits.case_visits(case) == [("after_repair", bj(2027, 1, 1, 17, 0)), ("after_major_repair", bj(2027, 2, 28, 17, 0))]
    assert visits.case_visits({**case, "severity": "normal"}) == [("after_repair", bj(2027, 1, 1, 17, 0))]
    assert visits.case_visits({"kind": "suggestion", "resolved_at": NOW}) == []


async def test_three_working_days_after_a_complaint_closes_across_golden_week_2026(database, frozen, tmp_path):
    (member,) = await owners(tmp_path, 1, contract_date="2025-03-01")
    desk = await staff("desk1", "service")
    closes = bj(2026, 9, 30, 15, 0)  # Wednesday, the last working day before National Day
    frozen.move_to(closes)
    case_id = await closed_case(member, "complaint", closes, desk)

    await visits.create_due_visits(closes + timedelta(hours=1))

    # Oct 1–7 off; Thu 10-08 (1), Fri 10-09 (2), Saturday 10-10 worked (调休) (3).
    assert (await made())[("after_complaint", f"case:{case_id}")] == bj(2026, 10, 10, 15, 0)


async def test_three_working_days_after_a_complaint_closes_on_a_friday(database, frozen, tmp_path):
    (member,) = await owners(tmp_path, 1, contract_date="2025-03-01")
    desk = await staff("desk1", "service")
    closes = bj(2026, 11, 13, 16, 0)  # an ordinary Friday
    frozen.move_to(closes)
    case_id = await closed_case(member, "complaint", closes, desk)

    await visits.create_due_visits(closes)

    assert (await made())[("after_complaint", f"case:{case_id}")] == bj(2026, 11, 18, 16, 0)  # Mon, Tue, Wed


async def test_a_case_visit_goes_to_the_staff_member_who_had_the_case(database, frozen, tmp_path):
    (member,) = await owners(tmp_path, 1, contract_date="2025-03-01")
    desk = await staff("desk1", "service")
    case_id = await cases.open_case(member, "complaint", "噪音", "楼上装修太吵", now=NOW - timedelta(days=2))
    await cases.assign(case_id, desk, desk)
    await cases.resolve(case_id, "已协调", desk, now=NOW - timedelta(days=1))

    await visits.create_due_visits(NOW)

    assert (await ReturnVisit.select(ReturnVisit.assigned_to).first())["assigned_to"] == desk


# --- once ---------------------------------------------------------------------------------------


async def journey_fixture(tmp_path) -> None:
    await owners(tmp_path, 3, contract_date="2026-06-10", delivery_date="2026-07-01")
    await owners(tmp_path, 2, start=3, contract_date="2026-05-20", delivery_date="2026-06-01")
    desk = await staff("desk1", "service")
    for n, kind in enumerate(("repair", "complaint")):
        (member,) = await owners(tmp_path, 1, start=10 + n, contract_date="2025-03-01")
        await closed_case(member, kind, NOW - timedelta(hours=3), desk)


async def test_the_job_run_twice_creates_each_visit_once(database, frozen, tmp_path):
    await journey_fixture(tmp_path)

    first = await visits.create_due_visits(NOW)
    second = await visits.create_due_visits(NOW + timedelta(hours=1))

    # 3 × (signing, handover) + 2 × (signing, moving in) + a repair + a complaint
    assert (first, second) == (12, 0)
    assert await ReturnVisit.count() == 12


@pytest.mark.postgres_only
async def test_two_jobs_at_once_on_postgresql_create_each_visit_once(database, frozen, tmp_path):
    await journey_fixture(tmp_path)

    results = await asyncio.gather(*(visits.create_due_visits(NOW) for _ in range(4)))

    assert sum(results) == 12
    assert await ReturnVisit.count() == 12


@pytest.mark.postgres_only
async def test_two_monthly_plans_at_once_on_postgresql_plan_each_owner_once(database, frozen, tmp_path):
    await owners(tmp_path, 20, contract_date="2025-03-01")
    await staff("desk1", "service")

    results = await asyncio.gather(*(visits.plan_month(bj(2026, 7, 1, 1, 0)) for _ in range(3)))

    assert sum(results) == 17 == await ReturnVisit.count()


# --- the monthly plan ---------------------------------------------------------------------------


_sources = iter(range(1, 10_000))


async def reached_visit(member: int, at: datetime, desk: int, outcome: str = "reached") -> None:
    """A return visit (after a repair) called at `at` with this outcome."""
    rows = await ReturnVisit.insert(
        ReturnVisit(member=member, kind="after_repair", source=f"case:{next(_sources)}", due_at=at, created_at=at)
    ).returning(ReturnVisit.id)
    await visits.record_outcome(rows[0]["id"], desk, outcome, now=at)


async def test_the_monthly_plan_brings_coverage_to_85_percent_contacting_the_longest_unheard_first(database, frozen, tmp_path):
    members = await owners(tmp_path, 20, contract_date="2025-03-01")
    desk_a, desk_b = await staff("desk1", "service"), await staff("desk2", "service")
    await staff("sales1", "sales")
    # Not an active owner any more: sold the home.
    await Ownership.update({Ownership.status: "transferred"}).where(Ownership.member == members[19])
    # Reached already this month (before the plan runs): 3 owners.
    for member in members[:3]:
        await reached_visit(member, bj(2026, 7, 1, 0, 30), desk_a)
    # Called this month but not reached: still to cover.
    await reached_visit(members[3], bj(2026, 7, 1, 0, 40), desk_a, outcome="not_reached")
    # Reached in June: contacted most recently of the rest, so planned last (left out).
    for member in members[17:19]:
        await reached_visit(member, bj(2026, 6, 20, 10, 0), desk_a)

    created = await visits.plan_month(bj(2026, 7, 1, 1, 0))

    # 19 active owners × 85% = 16.15 → 17 to reach; 3 reached → 14 planned, for members[3..16].
    assert created == 14
    planned = await ReturnVisit.select().where((ReturnVisit.source == "plan:2026-07") & (ReturnVisit.status == "open"))
    assert sorted(r["member"] for r in planned) == members[3:17]
    assert {r["due_at"] for r in planned} == {bj(2026, 7, 31, 18, 0)}
    per_staff = {s: sum(r["assigned_to"] == s for r in planned) for s in (desk_a, desk_b)}
    assert per_staff == {desk_a: 7, desk_b: 7}  # spread over the service staff, not sales
    assert await visits.plan_month(bj(2026, 7, 1, 2, 0)) == 0  # a second run adds nothing

    for row in planned:
        await visits.record_outcome(row["id"], row["assigned_to"], "reached", satisfaction=5, now=bj(2026, 7, 20, 10, 0))
    found = await visits.coverage("2026-07")
    assert (found.reached_owners, found.active_owners, found.rate, found.target) == (17, 19, round(17 / 19, 4), 0.85)
    assert found.rate >= 0.85


# --- the API ------------------------------------------------------------------------------------


async def visit_for(member: int, kind: str = "after_signing", due: datetime = NOW, assigned_to: int | None = None) -> int:
    rows = await ReturnVisit.insert(
        ReturnVisit(member=member, kind=kind, source=f"ownership:{member}", due_at=due, assigned_to=assigned_to)
    ).returning(ReturnVisit.id)
    return rows[0]["id"]


def fields(response: httpx.Response) -> list[str]:
    return [e.get("field") for e in response.json().get("errors", [])] or [response.json().get("field")]


async def test_the_desk_lists_its_visits_overdue_first_and_records_an_outcome_once(database, settings, frozen, tmp_path):
    a, b, c = await owners(tmp_path, 3, contract_date="2025-03-01")
    async with staff_client(database, settings, "desk1", "service") as desk:
        me = (await StaffAccount.select(StaffAccount.id).first())["id"]
        later = await visit_for(a, due=NOW + timedelta(days=2), assigned_to=me)
        late = await visit_for(b, kind="after_complaint", due=NOW - timedelta(hours=5), assigned_to=me)
        nobody = await visit_for(c)

        mine = (await desk.get(VISITS)).json()
        unassigned = (await desk.get(VISITS, params={"scope": "unassigned"})).json()
        response = await desk.post(f"{VISITS}/{late}/outcome", json={"outcome": "reached", "notes": "业主满意", "satisfaction": 4})
        again = await desk.post(f"{VISITS}/{late}/outcome", json={"outcome": "refused"})

    assert isinstance(mine, list), mine
    assert [(v["id"], v["overdue"]) for v in mine] == [(late, True), (later, False)]
    assert mine[0]["name"] == "业主1" and mine[0]["phone"] == f"+86{phone(1)}"
    assert (mine[0]["kind_label_zh"], mine[0]["kind_label_en"]) == ("投诉后", "After a complaint")
    assert [v["id"] for v in unassigned] == [nobody]
    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["outcome"], response.json()["satisfaction"]) == ("done", "reached", 4)
    assert again.status_code == 409 and again.json()["type"].endswith("visit-recorded")
    row = await ReturnVisit.select().where(ReturnVisit.id == late).first()
    assert (row["outcome"], row["notes"], row["done_by"]) == ("reached", "业主满意", me)
    audits = await AuditEntry.select().where(AuditEntry.action == "visit.record")
    assert [(e["subject_id"], e["actor_id"]) for e in audits] == [(late, me)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"outcome": "maybe"}, "outcome"),
        ({"outcome": "reached", "satisfaction": 9}, "satisfaction"),
        ({"outcome": "not_reached", "satisfaction": 3}, "satisfaction"),
        ({"outcome": "reached", "notes": "x" * 2001}, "notes"),
        ({"notes": "no outcome"}, "outcome"),
    ],
)
async def test_a_bad_outcome_is_refused_naming_the_field(database, settings, frozen, tmp_path, body, field):
    (member,) = await owners(tmp_path, 1, contract_date="2025-03-01")
    visit = await visit_for(member)
    async with staff_client(database, settings, "desk1", "service") as desk:
        response = await desk.post(f"{VISITS}/{visit}/outcome", json=body)

    assert 400 <= response.status_code < 500 and response.status_code != 404, response.text
    assert field in response.text
    assert (await ReturnVisit.select(ReturnVisit.status).first())["status"] == "open"


@pytest.mark.parametrize("role", ["sales", "event_staff"])
async def test_sales_and_door_staff_may_not_use_the_visit_desk(database, settings, frozen, tmp_path, role):
    (member,) = await owners(tmp_path, 1, contract_date="2025-03-01")
    visit = await visit_for(member)
    async with staff_client(database, settings, "other1", role) as other:
        answers = [
            await other.get(VISITS),
            await other.post(f"{VISITS}/{visit}/outcome", json={"outcome": "reached"}),
            await other.get(f"{VISITS}/coverage"),
            await other.get(f"/api/v1/staff/members/{member}/contacts"),
        ]
    assert [r.status_code for r in answers] == [403] * 4


async def test_an_owner_is_not_staff(database, settings, frozen, tmp_path):
    (member,) = await owners(tmp_path, 1, contract_date="2025-03-01")
    visit = await visit_for(member)
    async with member_client(database, settings, phone(0)) as me:
        answers = [await me.get(VISITS), await me.post(f"{VISITS}/{visit}/outcome", json={"outcome": "reached"})]
    assert [r.status_code for r in answers] == [401, 401]


async def test_an_admin_assigns_a_visit_to_service_staff_only_and_it_is_audited(database, settings, frozen, tmp_path):
    (member,) = await owners(tmp_path, 1, contract_date="2025-03-01")
    visit = await visit_for(member)
    desk = await staff("desk1", "service")
    seller = await staff("sales1", "sales")
    async with staff_client(database, settings, "boss", "admin") as admin:
        refused = await admin.post(f"{VISITS}/{visit}/assignment", json={"staff_id": seller})
        given = await admin.post(f"{VISITS}/{visit}/assignment", json={"staff_id": desk})
    assert refused.status_code == 422 and "staff_id" in refused.text
    assert given.status_code == 204
    assert (await ReturnVisit.select(ReturnVisit.assigned_to).first())["assigned_to"] == desk
    assert await AuditEntry.count().where(AuditEntry.action == "visit.assign") == 1


async def test_the_coverage_kpi_of_a_month(database, settings, frozen, tmp_path):
    members = await owners(tmp_path, 4, contract_date="2025-03-01")
    desk = await staff("desk1", "service")
    await reached_visit(members[0], NOW, desk)
    await reached_visit(members[1], NOW, desk, outcome="refused")
    async with staff_client(database, settings, "desk2", "service") as http:
        june = (await http.get(f"{VISITS}/coverage", params={"month": "2026-06"})).json()
        this_month = (await http.get(f"{VISITS}/coverage")).json()
        bad = await http.get(f"{VISITS}/coverage", params={"month": "June"})
    assert june == {"month": "2026-06", "active_owners": 4, "reached_owners": 1, "rate": 0.25, "target": 0.85}
    assert this_month == june
    assert bad.status_code == 422 and "month" in bad.text


async def test_the_contact_log_is_one_timeline_newest_first_in_pages(database, settings, frozen, tmp_path):
    member, other = await owners(tmp_path, 2, contract_date="2025-03-01")
    desk = await staff("desk1", "service")
    case_id = await cases.open_case(member, "inquiry", "车位", "车位何时交付？", now=NOW - timedelta(days=3))
    await cases.staff_reply(case_id, desk, "预计下月交付", now=NOW - timedelta(days=2))
    await CaseMessage.insert(CaseMessage(case=case_id, author_kind="member", author_id=member, text="谢谢",
                                         created_at=NOW - timedelta(days=1)))  # the owner's own words: not a contact
    await reached_visit(member, NOW - timedelta(hours=1), desk)
    await OutboxMessage.insert(
        OutboxMessage(channel="sms", recipient="+8613900000000", member=member, kind="holiday", template="holiday",
                      subject="端午安康", status="sent", sent_at=NOW - timedelta(days=1)),
        OutboxMessage(channel="sms", recipient="+8613900000000", member=member, kind="holiday", template="holiday",
                      subject="未发送", status="queued"),
        OutboxMessage(channel="sms", recipient="+8613900000001", member=other, kind="holiday", template="holiday",
                      subject="别人的", status="sent", sent_at=NOW),
    )
    async with staff_client(database, settings, "desk2", "service") as http:
        first = (await http.get(f"/api/v1/staff/members/{member}/contacts", params={"limit": 2})).json()
        second = (await http.get(f"/api/v1/staff/members/{member}/contacts", params={"limit": 2, "offset": 2})).json()
        missing = await http.get("/api/v1/staff/members/999999/contacts")

    # The reply itself also went to the owner as a message (the care desk's notice), sent now.
    assert [(e["kind"], e.get("message_kind")) for e in first["items"]] == [("message", "case_update"), ("visit", None)]
    assert first["items"][1]["outcome"] == "reached" and first["next_offset"] == 2
    assert [(e["kind"], e.get("subject") or e.get("text")) for e in second["items"]] == [
        ("message", "端午安康"), ("case_message", "预计下月交付"),
    ]
    assert second["next_offset"] is None
    assert missing.status_code == 404


async def test_an_erased_owner_is_not_called_and_the_notes_of_past_calls_go(database, frozen, tmp_path):
    from loyalty.privacy import erasure

    (member,) = await owners(tmp_path, 1, contract_date="2026-06-10")
    desk = await staff("desk1", "service")
    await reached_visit(member, NOW - timedelta(days=1), desk)
    await ReturnVisit.update({ReturnVisit.notes: "业主说邻居王五很吵"}).where(ReturnVisit.member == member)
    await visits.create_due_visits(NOW)
    assert await ReturnVisit.count().where(ReturnVisit.status == "open") == 1

    await erasure.erase_member(member, staff_id=desk, reason="owner asked")
    await visits.create_due_visits(NOW + timedelta(hours=1))

    rows = await ReturnVisit.select()
    assert [(r["status"], r["notes"], r["outcome"]) for r in rows] == [("done", "", "reached")]
