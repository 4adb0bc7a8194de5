"""Messages to a group of owners: segments counted on owners whose answer is known by hand,
opt-outs excluded and counted, each owner queued once however the send is repeated, scheduled
ones sent by the periodic job only when due, cancel, roles, and bad input named by its field.
Time is frozen at NOW (noon, Beijing, 15 June 2026).

The owners (through the real owner import; two units make a gold card, one a blue card):
  HZ-YH (云湖里): 0, 1 gold; 2, 3 blue; 4 blue in building 3幢
  SH-JW:          5, 6 gold; 7 blue
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from loyalty import db, jobs
from loyalty.audit.tables import AuditEntry
from loyalty.care import broadcasts, outbox
from loyalty.care.broadcasts import BroadcastClosed, BroadcastDraft, Segment
from loyalty.care.tables import Broadcast, OutboxMessage
from loyalty.errors import InvalidField
from loyalty.events.tables import Signup
from loyalty.members.tables import Member
from tests.events.builders import NOW, TODAY, event, member_client, owners, phone, project_id, staff, staff_client
from tests.members_builders import import_rows


async def world(folder: Path) -> dict[str, Any]:
    gold_a = await owners(folder, 2, units=2, project="HZ-YH", start=0)
    blue_a = await owners(folder, 2, units=1, project="HZ-YH", start=2)
    await import_rows(folder, [{"phone": phone(4), "name": "业主4", "project_code": "HZ-YH", "project_name": "云湖里",
                                "building": "3幢", "room": "3301", "contract_date": "2025-03-01"}])
    b4 = (await Member.select(Member.id).where(Member.phone == f"+86{phone(4)}").first())["id"]
    gold_b = await owners(folder, 2, units=2, project="SH-JW", start=5)
    blue_b = await owners(folder, 1, units=1, project="SH-JW", start=7)
    return {"a": await project_id("HZ-YH"), "b": await project_id("SH-JW"), "gold_a": gold_a, "blue_a": [*blue_a, b4],
            "b4": b4, "gold_b": gold_b, "blue_b": blue_b, "all": [*gold_a, *blue_a, b4, *gold_b, *blue_b]}


async def chosen(segment: Segment) -> set[int]:
    """The owners the segment holds (the SQL the count and the send use)."""
    sql, args = broadcasts.segment_sql(await broadcasts.check_segment(segment), NOW)
    return {row["id"] for row in await db.fetch(sql, *args)}


def draft(segment: Segment = Segment(), **overrides: Any) -> BroadcastDraft:
    fields: dict[str, Any] = dict(kind="bulletin", title_zh="《工程进度通》第 12 期", body_zh="3 幢已顺利封顶。",
                                  title_en="Progress bulletin 12", body_en="Building 3 has topped out.", segment=segment)
    fields.update(overrides)
    return BroadcastDraft(**fields)


async def sent_to(broadcast_id: int) -> list[int]:
    rows = await OutboxMessage.select(OutboxMessage.member).where(OutboxMessage.template == f"broadcast:{broadcast_id}")
    return sorted(row["member"] for row in rows)


# --- segments -----------------------------------------------------------------------------------


async def test_a_project_and_a_tier_choose_exactly_that_projects_owners_of_that_tier(database, frozen, tmp_path):
    w = await world(tmp_path)
    assert await chosen(Segment(project_ids=[w["a"]], tiers=["gold"])) == set(w["gold_a"])
    assert await chosen(Segment(tiers=["gold"])) == {*w["gold_a"], *w["gold_b"]}
    assert await chosen(Segment(project_ids=[w["a"], w["b"]], tiers=["blue"])) == {*w["blue_a"], *w["blue_b"]}
    assert await chosen(Segment(project_ids=[w["a"]], buildings=["3幢"])) == {w["b4"]}
    assert await chosen(Segment()) == set(w["all"])
    reach = await broadcasts.count("bulletin", Segment(project_ids=[w["a"]], tiers=["gold"]))
    assert (reach.members, reach.opted_out) == (2, 0)


async def test_birthday_month_and_tags_choose_the_owners_who_have_them(database, frozen, tmp_path):
    w = await world(tmp_path)
    await Member.update({Member.birthday: date(1980, 7, 31)}).where(Member.id == w["gold_a"][0])
    await Member.update({Member.birthday: date(1990, 7, 1)}).where(Member.id == w["blue_b"][0])
    await Member.update({Member.birthday: date(1985, 8, 1)}).where(Member.id == w["gold_b"][0])
    await Member.update({Member.tags: ["亲子", "摄影"]}).where(Member.id == w["blue_a"][0])
    await Member.update({Member.tags: ["高尔夫"]}).where(Member.id == w["blue_a"][1])
    assert await chosen(Segment(birthday_month=7)) == {w["gold_a"][0], w["blue_b"][0]}
    assert await chosen(Segment(birthday_month=7, tiers=["gold"])) == {w["gold_a"][0]}
    assert await chosen(Segment(tags=["亲子", "钓鱼"])) == {w["blue_a"][0]}


async def test_no_contact_for_n_months_leaves_out_owners_we_reached_in_that_time(database, frozen, tmp_path):
    w = await world(tmp_path)

    async def message(member_id: int, days_ago: int, status: str = "sent", kind: str = "holiday") -> None:
        at = NOW - timedelta(days=days_ago)
        await OutboxMessage.insert(OutboxMessage(
            channel="log", recipient="+8613900000000", member=member_id, kind=kind, template="t", status=status,
            created_at=at, scheduled_at=at, next_attempt_at=at, sent_at=at if status == "sent" else None,
        ))

    await message(w["gold_a"][0], 30)  # reached a month ago
    await message(w["gold_a"][1], 200)  # reached over six months ago
    await message(w["blue_a"][0], 10, status="failed")  # tried, never reached
    await message(w["blue_a"][1], 5, kind="login_code")  # the owner asked for a code: not our contact
    three_months = await chosen(Segment(no_contact_months=3))
    assert three_months == set(w["all"]) - {w["gold_a"][0]}
    assert await chosen(Segment(no_contact_months=12)) == set(w["all"]) - {w["gold_a"][0], w["gold_a"][1]}


async def test_attended_or_not_counts_check_ins_at_events_within_the_dates(database, frozen, tmp_path):
    w = await world(tmp_path)
    maker = await staff("maker-events", "event_staff")
    in_may = NOW - timedelta(days=30)
    may = await event(maker, starts_at=in_may, ends_at=in_may + timedelta(hours=2), signup_opens_at=in_may - timedelta(days=9),
                      signup_closes_at=in_may - timedelta(days=1), cancel_deadline=in_may - timedelta(days=2))
    in_jan = NOW - timedelta(days=160)
    jan = await event(maker, starts_at=in_jan, ends_at=in_jan + timedelta(hours=2), signup_opens_at=in_jan - timedelta(days=9),
                      signup_closes_at=in_jan - timedelta(days=1), cancel_deadline=in_jan - timedelta(days=2))

    async def signup(event_id: int, member_id: int, checked_in: bool) -> None:
        await Signup.insert(Signup(event=event_id, member=member_id, status="attended" if checked_in else "no_show",
                                   checked_in_at=NOW if checked_in else None))

    await signup(may, w["gold_a"][0], True)
    await signup(may, w["gold_a"][1], False)  # signed up, never came
    await signup(jan, w["blue_b"][0], True)
    spring = dict(attended_from=TODAY - timedelta(days=60), attended_to=TODAY)
    assert await chosen(Segment(attended=True, **spring)) == {w["gold_a"][0]}
    assert await chosen(Segment(attended=True)) == {w["gold_a"][0], w["blue_b"][0]}
    assert await chosen(Segment(attended=False, **spring)) == set(w["all"]) - {w["gold_a"][0]}
    assert await chosen(Segment(attended=False, project_ids=[w["b"]])) == {*w["gold_b"]}


async def test_owners_who_refused_the_kind_are_counted_apart_and_get_nothing(database, frozen, tmp_path, settings):
    w = await world(tmp_path)
    jobs.configure(settings)
    await outbox.set_opt_outs(w["gold_a"][0], ["project_bulletin"])
    await outbox.set_opt_outs(w["gold_a"][1], ["activity_news"])
    segment = Segment(project_ids=[w["a"]], tiers=["gold"])
    bulletin = await broadcasts.count("bulletin", segment)
    news = await broadcasts.count("activity_news", segment)
    assert (bulletin.members, bulletin.opted_out) == (2, 1)
    assert (news.members, news.opted_out) == (2, 1)
    assert (await broadcasts.count("greeting", segment)).opted_out == 0

    admin = await staff("boss", "admin")
    broadcast_id = await broadcasts.create(draft(segment), admin)
    await broadcasts.confirm(broadcast_id, admin)
    await jobs.settle()
    rows = {r["member"]: r["status"] for r in await OutboxMessage.select(OutboxMessage.member, OutboxMessage.status).where(
        OutboxMessage.template == f"broadcast:{broadcast_id}")}
    assert rows[w["gold_a"][0]] == "skipped"
    assert rows[w["gold_a"][1]] in ("queued", "sent")
    stats = (await broadcasts.get(broadcast_id))["stats"]
    assert stats["opted_out"] == 1 and stats["queued"] + stats["sent"] == 1


# --- sending ------------------------------------------------------------------------------------


async def test_a_bulletin_reaches_each_owner_once_in_their_language_however_often_it_is_sent(database, frozen, tmp_path, settings):
    w = await world(tmp_path)
    jobs.configure(settings)
    await Member.update({Member.language: "en"}).where(Member.id == w["gold_a"][1])
    admin = await staff("boss", "admin")
    broadcast_id = await broadcasts.create(draft(Segment(project_ids=[w["a"]], tiers=["gold"]), body_en=""), admin)
    assert await sent_to(broadcast_id) == []  # a draft sends nothing
    assert await broadcasts.confirm(broadcast_id, admin) == "sending"
    await jobs.settle()
    # A second run (a re-delivered job, the periodic job resuming it) and two side by side add nobody.
    await Broadcast.update({Broadcast.status: "sending"}).where(Broadcast.id == broadcast_id)
    await broadcasts.send(broadcast_id)
    await asyncio.gather(broadcasts.send(broadcast_id), broadcasts.send(broadcast_id))
    assert await sent_to(broadcast_id) == sorted(w["gold_a"])
    row = await broadcasts.get(broadcast_id)
    assert row["status"] == "sent" and row["audience"] == 2
    by_member = {r["member"]: r for r in await OutboxMessage.select().where(OutboxMessage.template == f"broadcast:{broadcast_id}")}
    assert by_member[w["gold_a"][0]]["subject"] == "《工程进度通》第 12 期"
    english = by_member[w["gold_a"][1]]
    assert (english["language"], english["subject"], english["body"]) == ("en", "Progress bulletin 12", "3 幢已顺利封顶。")
    assert english["kind"] == "project_bulletin"
    actions = [r["action"] for r in await AuditEntry.select(AuditEntry.action).where(AuditEntry.subject_kind == "broadcast")]
    assert actions == ["broadcast.create", "broadcast.confirm"]
    with pytest.raises(BroadcastClosed):
        await broadcasts.confirm(broadcast_id, admin)


async def test_a_broadcast_confirmed_in_quiet_hours_waits_for_the_morning(database, frozen, tmp_path, settings):
    w = await world(tmp_path)
    jobs.configure(settings)
    frozen.move_to(NOW.replace(hour=22))
    admin = await staff("boss", "admin")
    broadcast_id = await broadcasts.create(draft(Segment(project_ids=[w["b"]]), kind="greeting"), admin)
    await broadcasts.confirm(broadcast_id, admin)
    await jobs.settle()
    rows = await OutboxMessage.select(OutboxMessage.scheduled_at, OutboxMessage.status, OutboxMessage.kind).where(
        OutboxMessage.template == f"broadcast:{broadcast_id}")
    assert len(rows) == 3
    morning = settings.quiet_hours.split("-")[1]
    assert all(r["status"] == "queued" and r["kind"] == "holiday" for r in rows)
    assert all(r["scheduled_at"].astimezone(NOW.tzinfo).strftime("%H:%M") == morning for r in rows)


async def test_a_scheduled_broadcast_goes_out_by_the_periodic_job_only_when_due(database, frozen, tmp_path, settings):
    w = await world(tmp_path)
    jobs.configure(settings)
    admin = await staff("boss", "admin")
    at = NOW + timedelta(hours=2)
    broadcast_id = await broadcasts.create(draft(Segment(project_ids=[w["b"]], tiers=["gold"]), send_at=at), admin)
    assert await broadcasts.confirm(broadcast_id, admin) == "scheduled"
    assert await broadcasts.send_due(NOW + timedelta(hours=1)) == 0
    await jobs.settle()
    assert await sent_to(broadcast_id) == []
    frozen.move_to(at)
    assert await broadcasts.send_due() == 1
    await jobs.settle()
    assert await sent_to(broadcast_id) == sorted(w["gold_b"])
    assert (await broadcasts.get(broadcast_id))["status"] == "sent"
    assert await broadcasts.send_due() == 0


async def test_a_send_run_gone_quiet_is_resumed_by_the_periodic_job(database, frozen, tmp_path, settings):
    w = await world(tmp_path)
    jobs.configure(settings)
    admin = await staff("boss", "admin")
    broadcast_id = await broadcasts.create(draft(Segment(project_ids=[w["b"]])), admin)
    # Its worker died before queuing anyone: confirmed, `sending`, nothing in the outbox.
    await Broadcast.update({Broadcast.status: "sending", Broadcast.progressed_at: NOW}).where(Broadcast.id == broadcast_id)
    assert await broadcasts.send_due(NOW + timedelta(minutes=5)) == 0
    frozen.move_to(NOW + timedelta(minutes=11))
    assert await broadcasts.send_due() == 1
    await jobs.settle()
    assert await sent_to(broadcast_id) == sorted([*w["gold_b"], *w["blue_b"]])


async def test_a_scheduled_broadcast_cancelled_never_goes_out_and_a_sent_one_cannot_be_cancelled(database, frozen, tmp_path, settings):
    w = await world(tmp_path)
    jobs.configure(settings)
    admin = await staff("boss", "admin")
    later = await broadcasts.create(draft(Segment(project_ids=[w["a"]]), send_at=NOW + timedelta(days=1)), admin)
    await broadcasts.confirm(later, admin)
    await broadcasts.cancel(later, admin)
    frozen.move_to(NOW + timedelta(days=2))
    assert await broadcasts.send_due() == 0
    await broadcasts.send(later)
    assert await sent_to(later) == []
    assert (await broadcasts.get(later))["status"] == "cancelled"
    now_one = await broadcasts.create(draft(Segment(project_ids=[w["b"]])), admin)
    await broadcasts.confirm(now_one, admin)
    await jobs.settle()
    with pytest.raises(BroadcastClosed) as refused:
        await broadcasts.cancel(now_one, admin)
    assert refused.value.extra["status_now"] == "sent"


@pytest.mark.postgres_only
async def test_two_workers_sending_one_broadcast_at_once_queue_each_owner_once(database, frozen, tmp_path, settings):
    await owners(tmp_path, 60, units=2, project="HZ-YH")
    jobs.configure(settings)
    admin = await staff("boss", "admin")
    broadcast_id = await broadcasts.create(draft(Segment(tiers=["gold"])), admin)
    await Broadcast.update({Broadcast.status: "sending"}).where(Broadcast.id == broadcast_id)
    queued = await asyncio.gather(*(broadcasts.send(broadcast_id) for _ in range(4)))
    assert sum(queued) == 60
    members = await sent_to(broadcast_id)
    assert len(members) == len(set(members)) == 60


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("change, field", [
    (dict(title_zh="  "), "title_zh"),
    (dict(body_zh=""), "body_zh"),
    (dict(kind="advert"), "kind"),
    (dict(send_at=NOW - timedelta(minutes=1)), "send_at"),
    (dict(segment=Segment(project_ids=[999_999])), "project_ids"),
    (dict(segment=Segment(no_contact_months=0)), "no_contact_months"),
    (dict(segment=Segment(birthday_month=13)), "birthday_month"),
    (dict(segment=Segment(buildings=["3幢"])), "buildings"),
    (dict(segment=Segment(attended=True, attended_from=TODAY, attended_to=TODAY - timedelta(days=1))), "attended_to"),
    (dict(segment=Segment(attended=False, attended_to=date.max)), "attended_to"),  # its next day would overflow
    (dict(segment=Segment(attended=True, attended_from=date.min)), "attended_from"),
    (dict(segment=Segment(attended_from=TODAY)), "attended"),
])
async def test_a_broadcast_that_breaks_a_rule_is_refused_naming_the_field(database, frozen, change, field):
    admin = await staff("boss", "admin")
    with pytest.raises(InvalidField) as refused:
        await broadcasts.create(draft(**change), admin)
    assert refused.value.field == field
    assert await Broadcast.count() == 0


# --- the API ------------------------------------------------------------------------------------


async def test_the_api_counts_creates_confirms_and_reports_for_admins(database, frozen, tmp_path, settings):
    w = await world(tmp_path)
    segment = {"project_ids": [w["a"]], "tiers": ["gold"]}
    async with staff_client(database, settings, "boss", "admin") as http:
        counted = await http.post("/api/v1/staff/broadcasts/count", json={"kind": "bulletin", "segment": segment})
        assert counted.status_code == 200, counted.text
        assert counted.json() == {"members": 2, "opted_out": 0, "reachable": 2}
        made = await http.post("/api/v1/staff/broadcasts", json={
            "kind": "bulletin", "title_zh": "封顶喜讯", "body_zh": "3 幢封顶。", "segment": segment,
        })
        assert made.status_code == 201, made.text
        body = made.json()
        assert body["status"] == "draft" and body["preview"]["en"] == {"title": "封顶喜讯", "body": "3 幢封顶。"}
        sending = await http.post(f"/api/v1/staff/broadcasts/{body['id']}/sending")
        assert sending.status_code == 200, sending.text
        await jobs.settle()
        again = await http.post(f"/api/v1/staff/broadcasts/{body['id']}/sending")
        assert again.status_code == 409 and again.json()["type"].endswith("broadcast-closed")
        listed = (await http.get("/api/v1/staff/broadcasts")).json()
        assert listed[0]["id"] == body["id"] and listed[0]["status"] == "sent"
        assert listed[0]["stats"]["queued"] + listed[0]["stats"]["sent"] == 2
        assert (await http.get("/api/v1/staff/broadcasts/999999")).status_code == 404
    assert await sent_to(body["id"]) == sorted(w["gold_a"])


@pytest.mark.parametrize("body, field", [
    ({"kind": "bulletin", "title_zh": "", "body_zh": "x"}, "title_zh"),
    ({"kind": "bulletin", "title_zh": "x", "body_zh": "x", "segment": {"no_contact_months": 0}}, "no_contact_months"),
    ({"kind": "bulletin", "title_zh": "x", "body_zh": "x", "segment": {"project_ids": [424242]}}, "project_ids"),
    ({"kind": "bulletin", "title_zh": "x", "body_zh": "x", "send_at": "2026-06-15T11:00:00+08:00"}, "send_at"),
])
async def test_the_api_answers_bad_input_with_a_problem_naming_the_field(database, frozen, settings, body, field):
    async with staff_client(database, settings, "boss", "admin") as http:
        response = await http.post("/api/v1/staff/broadcasts", json=body)
    assert 400 <= response.status_code < 500, response.text
    assert field in response.text


@pytest.mark.parametrize("role", ["sales", "service", "event_staff"])
async def test_only_admins_may_message_groups(database, frozen, settings, role):
    async with staff_client(database, settings, f"not-admin-{role}", role) as http:
        for method, path in (("get", ""), ("post", "/count"), ("post", "/1/sending"), ("post", "/1/cancellation")):
            response = await http.request(method.upper(), f"/api/v1/staff/broadcasts{path}", json={"kind": "bulletin"})
            assert response.status_code == 403, (path, response.text)


async def test_an_owner_is_not_staff(database, frozen, tmp_path, settings):
    await owners(tmp_path, 1)
    async with member_client(database, settings, phone(0)) as http:
        response = await http.get("/api/v1/staff/broadcasts")
    assert response.status_code == 401
