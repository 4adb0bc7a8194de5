"""The repairs desk through HTTP (/api/v1/staff/repairs, issue 20), on both engines: a repair
recorded, moved to acceptance, sent back once, accepted, closed with a rating; bad input refused
naming the field with nothing written; other roles refused; the contractors' month; the
group-complaint warnings listed and acknowledged once.

Time stands still at NOW (tests/events/builders.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loyalty import jobs
from loyalty.audit.tables import AuditEntry
from loyalty.care import cases, group_warnings
from loyalty.care.tables import Repair, ReturnVisit
from loyalty.members.tables import Ownership
from tests.events.builders import NOW, owners, staff, staff_client

REPAIRS = "/api/v1/staff/repairs"


@pytest.fixture(autouse=True)
def job_settings(settings):
    jobs.configure(settings)


async def unit_of(member: int) -> int:
    return (await Ownership.select(Ownership.unit).where(Ownership.member == member).first())["unit"]


async def test_record_rework_once_accept_close_and_rate(database, settings, frozen, tmp_path):
    (owner,) = await owners(tmp_path, 1)
    amb = await staff("amb1", "service")
    async with staff_client(database, settings, "front1", "service") as http:
        made = await http.post(REPAIRS, json={
            "member_id": owner, "unit_id": await unit_of(owner), "item": "water_leak", "contractor": "顺安维修",
            "supervisor": "王工", "ambassador_id": amb, "contract_sum_fen": 500_000, "major_works": True,
            "reported_at": (NOW - timedelta(minutes=12)).isoformat(),
        })
        assert made.status_code == 201, made.text
        repair = made.json()
        assert (repair["state"], repair["intake_late"], repair["ambassador_name"], repair["next_states"]) == (
            "reported", True, "amb1", ["in_repair"])
        assert "****" in repair["owner_phone"] and repair["unit_name"]
        rid = repair["id"]
        for to in ("in_repair", "awaiting_acceptance", "rework", "awaiting_acceptance"):
            step = await http.post(f"{REPAIRS}/{rid}/steps", json={"to": to, "note": "卫生间仍渗水" if to == "rework" else ""})
            assert step.status_code == 200, step.text
        early = await http.post(f"{REPAIRS}/{rid}/steps", json={"to": "closed"})
        assert early.status_code == 409 and early.json()["type"].endswith("repair-state")
        accepted = await http.post(f"{REPAIRS}/{rid}/steps", json={"to": "accepted", "accepted_by": "staff"})
        assert accepted.json()["rework_count"] == 1 and accepted.json()["accepted_by"] == "staff"
        closed = await http.post(f"{REPAIRS}/{rid}/steps", json={"to": "closed", "satisfaction": 5})
        assert closed.status_code == 200, closed.text
        assert (closed.json()["state"], closed.json()["satisfaction"], closed.json()["contractor_amount_fen"]) == ("closed", 5, 10_000)
        again = await http.post(f"{REPAIRS}/{rid}/rating", json={"satisfaction": 3})
        assert again.status_code == 409 and again.json()["type"].endswith("repair-rated")
        listed = (await http.get(REPAIRS, params={"state": "closed"})).json()
        summary = await http.get(f"{REPAIRS}/contractors/summary", params={"month": "2026-06"})
        names = (await http.get(f"{REPAIRS}/contractors")).json()
    assert [r["id"] for r in listed] == [rid]
    assert summary.status_code == 200 and summary.json()[0]["reward_fen"] == 10_000 and summary.json()[0]["net_fen"] == 10_000
    assert names == ["顺安维修"]
    assert sorted(r["kind"] for r in await ReturnVisit.select()) == ["after_major_repair", "after_repair"]
    actions = [a["action"] for a in await AuditEntry.select().where(AuditEntry.subject_kind == "repair")]
    assert actions.count("repair.rework") == 1 and "repair.closed" in actions


async def test_bad_input_names_the_field_and_writes_nothing(database, settings, frozen, tmp_path):
    (owner,) = await owners(tmp_path, 1)
    unit = await unit_of(owner)
    good = {"member_id": owner, "unit_id": unit, "item": "wall_crack", "contractor": "A"}
    async with staff_client(database, settings, "front1", "service") as http:
        for change, field in [({"item": "roof"}, "item"), ({"contractor": ""}, "contractor"), ({"unit_id": unit + 999}, "unit_id"),
                              ({"contract_sum_fen": -5}, "contract_sum_fen"), ({"reported_at": "2026-06-15T09:00:00"}, "reported_at"),
                              ({"reported_at": (NOW + timedelta(days=1)).isoformat()}, "reported_at"),
                              ({"ambassador_id": 999_999}, "ambassador_id"), ({"colour": "red"}, "colour")]:
            response = await http.post(REPAIRS, json={**good, **change})
            assert 400 <= response.status_code < 500, (change, response.text)
            assert field in response.text, (change, response.text)
        assert await Repair.count() == 0
        rid = (await http.post(REPAIRS, json=good)).json()["id"]
        for body, field in [({"to": "flying"}, "to"), ({"to": "reported"}, "to"), ({"to": "in_repair", "satisfaction": 9}, "satisfaction")]:
            response = await http.post(f"{REPAIRS}/{rid}/steps", json=body)
            assert 400 <= response.status_code < 500 and field in response.text, (body, response.text)
        assert (await http.get(f"{REPAIRS}/{rid + 100}")).status_code == 404
        assert (await http.get(REPAIRS, params={"state": "lost"})).status_code == 422
        assert (await http.get(f"{REPAIRS}/contractors/summary", params={"month": "June"})).status_code == 422
    assert (await Repair.select(Repair.state).first())["state"] == "reported"


async def test_other_roles_are_refused(database, settings, frozen, tmp_path):
    (owner,) = await owners(tmp_path, 1)
    for role in ("sales", "event_staff"):
        async with staff_client(database, settings, f"{role}1", role) as other:
            for method, url in [("get", REPAIRS), ("post", REPAIRS), ("get", f"{REPAIRS}/warnings"),
                                ("post", f"{REPAIRS}/1/steps"), ("get", f"{REPAIRS}/contractors/summary?month=2026-06")]:
                response = await getattr(other, method)(url, **({"json": {}} if method == "post" else {}))
                assert response.status_code == 403, (role, url, response.text)
    async with staff_client(database, settings, "boss1", "admin") as admin:
        assert (await admin.get(REPAIRS)).status_code == 200


async def test_warnings_listed_and_acknowledged_once(database, settings, frozen, tmp_path):
    members = await owners(tmp_path, 3)
    for n, member in enumerate(members):
        await cases.open_case(member, "complaint", "噪音", "夜间施工", unit_id=await unit_of(member), now=NOW - timedelta(hours=n))
    assert await group_warnings.detect(NOW) == 1
    async with staff_client(database, settings, "lead1", "service") as http:
        (warning,) = (await http.get(f"{REPAIRS}/warnings")).json()
        assert warning["kind"] == "complaint" and len(warning["case_ids"]) == 3
        done = await http.post(f"{REPAIRS}/warnings/{warning['id']}/acknowledgement")
        assert done.status_code == 200 and done.json()["acknowledged_at"]
        again = await http.post(f"{REPAIRS}/warnings/{warning['id']}/acknowledgement")
        assert again.status_code == 409 and again.json()["type"].endswith("warning-acknowledged")
        assert (await http.post(f"{REPAIRS}/warnings/999999/acknowledgement")).status_code == 404
        assert (await http.get(f"{REPAIRS}/warnings")).json() == []


async def test_the_owner_accepts_or_sends_back_their_own_repair_and_rates_it_once(database, settings, frozen, tmp_path):
    from loyalty.care import repairs
    from tests.events.builders import member_client, phone

    (owner, neighbour) = await owners(tmp_path, 2)
    desk = await staff("front1", "service")
    rid = await repairs.record(member_id=owner, unit_id=await unit_of(owner), item="plumbing", contractor="恒通水电", staff_id=desk)
    for to in ("in_repair", "awaiting_acceptance"):
        await repairs.advance(rid, to, staff_id=desk)
    async with member_client(database, settings, phone(1)) as other:
        assert (await other.get("/api/v1/me/repairs")).json() == []
        theirs = await other.post(f"/api/v1/me/repairs/{rid}/acceptance", json={"accepted": True})
        assert theirs.status_code == 404, theirs.text
    async with member_client(database, settings, phone(0)) as me:
        (mine,) = (await me.get("/api/v1/me/repairs")).json()
        assert mine["state"] == "awaiting_acceptance"
        back = await me.post(f"/api/v1/me/repairs/{rid}/acceptance", json={"accepted": False, "note": "还在滴水"})
        assert back.status_code == 200 and back.json()["state"] == "rework" and back.json()["rework_count"] == 1
        early = await me.post(f"/api/v1/me/repairs/{rid}/rating", json={"satisfaction": 5})
        assert early.status_code == 409
        await repairs.advance(rid, "awaiting_acceptance", staff_id=desk)
        ok = await me.post(f"/api/v1/me/repairs/{rid}/acceptance", json={"accepted": True})
        assert ok.json()["accepted_by"] == "owner" and ok.json()["state"] == "accepted"
        await repairs.advance(rid, "closed", staff_id=desk)
        rated = await me.post(f"/api/v1/me/repairs/{rid}/rating", json={"satisfaction": 2})
        assert rated.status_code == 200 and rated.json()["contractor_amount_fen"] == 0  # no contract sum given
        assert (await me.post(f"/api/v1/me/repairs/{rid}/rating", json={"satisfaction": 5})).status_code == 409
        assert (await me.post(f"/api/v1/me/repairs/{rid}/rating", json={"satisfaction": 7})).status_code in (400, 422)
    audit = await AuditEntry.select().where(AuditEntry.action == "repair.rework").first()
    assert (audit["actor_kind"], audit["actor_id"]) == ("member", owner)
