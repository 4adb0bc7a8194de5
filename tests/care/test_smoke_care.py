"""The care loop once, through HTTP: an owner opens a complaint, service replies and resolves
it, the owner answers the survey, and the KPIs count it."""

from __future__ import annotations

from datetime import timedelta

from tests.events.builders import NOW, TODAY, member_client, owners, phone, staff_client


async def test_a_complaint_is_replied_resolved_surveyed_and_counted(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1)

    async with member_client(database, settings, phone(0)) as me:
        opened = await me.post("/api/v1/me/cases", json={"kind": "complaint", "title": "电梯异响", "text": "3号楼电梯运行时有异响"})
        case_id = opened.json()["id"]
        frozen.move_to(NOW + timedelta(hours=5))
        async with staff_client(database, settings, "care1", "service") as service:
            replied = await service.post(f"/api/v1/staff/cases/{case_id}/messages", json={"text": "已安排维保人员今天下午检查"})
            frozen.move_to(NOW + timedelta(days=2))
            resolved = await service.post(f"/api/v1/staff/cases/{case_id}/resolution", json={"result": "更换了导靴，异响消除"})
            frozen.move_to(NOW + timedelta(days=2, hours=3))
            followed = await service.post(f"/api/v1/staff/cases/{case_id}/follow-up", json={"note": "电话回访，业主满意"})
            mine = (await me.get(f"/api/v1/me/cases/{case_id}")).json()
            open_surveys = (await me.get("/api/v1/me/surveys")).json()
            answered = await me.post(f"/api/v1/me/surveys/{open_surveys[0]['id']}/answers", json={"satisfaction": 5, "recommend": 9})
            kpis = (await service.get("/api/v1/staff/kpis", params={"start": TODAY.isoformat(), "end": (TODAY + timedelta(days=5)).isoformat()})).json()

    assert opened.status_code == 201, opened.text
    assert (replied.status_code, resolved.status_code, followed.status_code) == (201, 204, 204), (replied.text, resolved.text, followed.text)
    assert mine["status"] == "followed_up"
    assert {c["name"]: c["state"] for c in mine["clocks"]} == {"reply": "met", "result": "met", "follow_up": "met"}
    assert [s["kind"] for s in open_surveys] == ["case"]
    assert answered.status_code == 204, answered.text
    total = kpis["rows"][-1]
    assert (total["satisfaction_rate"], total["nps"], total["reply_on_time_rate"], total["follow_up_rate"]) == (1.0, 100.0, 1.0, 1.0)
