"""The “315” plan's improvement actions (issue 20), on both engines: the service adds actions to a
handover batch (a project and the Beijing month it was handed over), counts them against the plan's
five, marks one done once with its result; through HTTP bad input is refused naming the field with
nothing written, other roles are refused, every write is audited.

Time stands still at NOW, 2026-06-15 (tests/events/builders.py)."""

from __future__ import annotations

from datetime import date

import pytest

from loyalty.audit.tables import AuditEntry
from loyalty.care import improvements
from loyalty.care.tables import ImprovementAction, ReturnVisit
from loyalty.errors import InvalidField, MalformedField
from loyalty.members.tables import Project
from tests.events.builders import NOW, owners, staff, staff_client

URL = "/api/v1/staff/improvement-actions"


async def project_id() -> int:
    return (await Project.select(Project.id).first())["id"]


async def test_a_batch_counts_its_actions_against_five_and_one_is_done_once(database, frozen, tmp_path):
    await owners(tmp_path, 2, delivery_date="2026-04-20")
    await owners(tmp_path, 1, start=5, contract_date="2024-06-01", delivery_date="2025-01-10")  # long before the plan's window
    lead = await staff("lead1", "service")
    pid = await project_id()
    (batch,) = await improvements.batches()
    assert (batch["project_id"], batch["batch_month"], batch["owners"], batch["recorded"], batch["target"]) == (pid, "2026-04", 2, 0, 5)
    made = [await improvements.add(project_id=pid, batch_month="2026-04", title=f"整改{n}", owners_said="车库太暗",
                                   owner_staff_id=lead, due_on=date(2026, 7, 1), staff_id=lead) for n in range(6)]
    assert made[0]["owner_staff_name"] == "lead1" and made[0]["done_at"] is None
    done = await improvements.mark_done(made[0]["id"], " 已增设照明 ", lead, now=NOW)
    assert (done["result"], done["done_at"]) == ("已增设照明", NOW)
    with pytest.raises(improvements.ActionDone):
        await improvements.mark_done(made[0]["id"], "again", lead)
    (batch,) = await improvements.batches(project_id=pid, batch_month="2026-04")
    assert (batch["recorded"], batch["done"], batch["target"]) == (6, 1, 5)  # a sixth is allowed; the plan counts five
    assert [a["title"] for a in batch["actions"]] == [f"整改{n}" for n in range(6)]
    # an old batch with an action is listed too, after the newer one
    await improvements.add(project_id=pid, batch_month="2025-01", title="旧批次", owners_said="x", owner_staff_id=lead,
                           due_on=date(2025, 2, 1), staff_id=lead)
    assert [(b["batch_month"], b["recorded"]) for b in await improvements.batches()] == [("2026-04", 6), ("2025-01", 1)]
    assert await improvements.batches(batch_month="2026-05") == []
    with pytest.raises(MalformedField):
        await improvements.batches(batch_month="2026-13")
    actions = [a["action"] for a in await AuditEntry.select().where(AuditEntry.subject_kind == "improvement_action")]
    assert actions.count("improvement_action.add") == 7 and actions.count("improvement_action.done") == 1


async def test_the_service_refuses_what_the_rules_do_not_allow(database, frozen, tmp_path):
    await owners(tmp_path, 1, delivery_date="2026-04-20")
    lead = await staff("lead1", "service")
    sales = await staff("sales1", "sales")
    pid = await project_id()
    good = dict(project_id=pid, batch_month="2026-04", title="整改", owners_said="车库太暗", owner_staff_id=lead,
                due_on=date(2026, 7, 1), staff_id=lead)
    for change, field in [({"title": "  "}, "title"), ({"owner_staff_id": sales}, "owner_staff_id"),
                          ({"project_id": pid + 99}, "project_id"), ({"due_on": date(2026, 3, 31)}, "due_on"),
                          ({"source_kind": "visit", "source_id": 12345}, "source_id"), ({"source_id": 1}, "source_kind"),
                          ({"owners_said": ""}, "owners_said")]:
        with pytest.raises(InvalidField) as refused:
            await improvements.add(**{**good, **change})
        assert refused.value.field == field, change
    with pytest.raises(MalformedField):
        await improvements.add(**{**good, "batch_month": "April"})
    assert await ImprovementAction.count() == 0 and await AuditEntry.count().where(AuditEntry.subject_kind == "improvement_action") == 0


async def test_through_http_add_list_complete_and_bad_input_names_the_field(database, settings, frozen, tmp_path):
    (owner,) = await owners(tmp_path, 1, delivery_date="2026-04-20")
    pid = await project_id()
    visit = (await ReturnVisit.insert(ReturnVisit(kind="care_315_interview", source="ownership:1", member=owner, due_at=NOW))
             .returning(ReturnVisit.id))[0]["id"]
    async with staff_client(database, settings, "lead1", "service") as http:
        me = (await http.get("/api/v1/staff/cases/handlers")).json()[0]["staff_id"]
        good = {"project_id": pid, "batch_month": "2026-04", "title": "地下车库增设照明", "owners_said": "访谈中业主反映车库太暗",
                "owner_staff_id": me, "due_on": "2026-07-01", "source_kind": "visit", "source_id": visit}
        for change, field in [({"title": ""}, "title"), ({"title": "长" * 201}, "title"), ({"batch_month": "2026-4"}, "batch_month"),
                              ({"source_kind": "email"}, "source_kind"), ({"owner_staff_id": 999_999}, "owner_staff_id"),
                              ({"due_on": "soon"}, "due_on"), ({"project_id": 0}, "project_id"), ({"colour": "red"}, "colour")]:
            response = await http.post(URL, json={**good, **change})
            assert 400 <= response.status_code < 500, (change, response.text)
            assert field in response.text, (change, response.text)
        assert await ImprovementAction.count() == 0
        made = await http.post(URL, json=good)
        assert made.status_code == 201, made.text
        action = made.json()
        assert (action["source_kind"], action["source_id"], action["owner_staff_name"], action["done_at"]) == ("visit", visit, "lead1", None)
        (batch,) = (await http.get(URL)).json()
        assert (batch["batch_month"], batch["owners"], batch["recorded"], batch["done"], batch["target"]) == ("2026-04", 1, 1, 0, 5)
        empty = await http.post(f"{URL}/{action['id']}/completion", json={"result": " "})
        assert empty.status_code == 422 and "result" in empty.text
        done = await http.post(f"{URL}/{action['id']}/completion", json={"result": "已增设 40 盏灯"})
        assert done.status_code == 200 and done.json()["done_at"] and done.json()["result"] == "已增设 40 盏灯"
        again = await http.post(f"{URL}/{action['id']}/completion", json={"result": "x"})
        assert again.status_code == 409 and again.json()["type"].endswith("improvement-action-done")
        assert (await http.post(f"{URL}/999999/completion", json={"result": "x"})).status_code == 404
        assert (await http.get(URL, params={"batch_month": "April"})).status_code == 400
        assert (await http.get(URL)).json()[0]["done"] == 1
    entries = await AuditEntry.select(AuditEntry.action, AuditEntry.actor_id).where(AuditEntry.subject_kind == "improvement_action")
    assert sorted(e["action"] for e in entries) == ["improvement_action.add", "improvement_action.done"]
    assert {e["actor_id"] for e in entries} == {me}


async def test_other_roles_are_refused(database, settings, frozen, tmp_path):
    for role in ("sales", "event_staff"):
        async with staff_client(database, settings, f"{role}1", role) as other:
            for method, url in [("get", URL), ("post", URL), ("post", f"{URL}/1/completion")]:
                response = await getattr(other, method)(url, **({"json": {}} if method == "post" else {}))
                assert response.status_code == 403, (role, url, response.text)
    async with staff_client(database, settings, "boss1", "admin") as admin:
        assert (await admin.get(URL)).status_code == 200
