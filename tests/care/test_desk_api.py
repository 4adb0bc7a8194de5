"""The care desk's queue and case page through HTTP (/staff#desk, issue 20): the queue sorted by the
clock that runs out next (an overdue case first, a followed-up one last), filtered by kind, project,
assignee and state, a page at a time; bad parameters refused naming them; the owner shown with a
masked phone; the staff a case can be given to; severity set and audited; the owner's rating.

Time stands still at NOW (tests/events/builders.py) and cases are opened at chosen times."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from loyalty import jobs
from loyalty.care import cases, surveys
from loyalty.care.tables import Case, Survey
from loyalty.members.tables import Member
from tests.care.test_cases import STAFF_CASES, audits
from tests.events.builders import NOW, member_client, owners, phone, project_id, staff, staff_client

HANDLERS = f"{STAFF_CASES}/handlers"


@pytest.fixture(autouse=True)
def job_settings(settings):
    jobs.configure(settings)


def hours_ago(n: float) -> datetime:
    return NOW - timedelta(hours=n)


async def test_the_queue_by_deadline_puts_the_overdue_case_first_and_the_followed_up_one_last(database, settings, frozen, tmp_path):
    (owner,) = await owners(tmp_path, 1)
    carer = await staff("care2", "service")
    fresh = await cases.open_case(owner, "inquiry", "刚提交", "x", now=hours_ago(1))  # reply due in 47 h
    late = await cases.open_case(owner, "complaint", "未回复已超48小时", "x", now=hours_ago(51))  # reply 3 h overdue
    soon = await cases.open_case(owner, "repair", "快到期", "x", now=hours_ago(46))  # reply due in 2 h
    replied = await cases.open_case(owner, "repair", "已回复", "x", now=hours_ago(50))  # result due in ~5 days
    await cases.staff_reply(replied, carer, "收到", now=hours_ago(49))
    resolved = await cases.open_case(owner, "complaint", "已处理待回访", "x", now=hours_ago(30))
    await cases.resolve(resolved, "已处理", carer, now=hours_ago(10))  # follow-up due in 14 h
    done = await cases.open_case(owner, "suggestion", "已回访", "x", now=hours_ago(40))
    await cases.resolve(done, "已处理", carer, now=hours_ago(20))
    await cases.follow_up(done, "回访", carer, now=hours_ago(19))

    async with staff_client(database, settings, "care1", "service") as service:
        response = await service.get(STAFF_CASES, params={"sort": "deadline"})
        newest = (await service.get(STAFF_CASES)).json()

    assert response.status_code == 200, response.text
    queue = response.json()
    assert [c["id"] for c in queue] == [late, soon, resolved, fresh, replied, done]
    first = queue[0]
    assert (first["next_clock"], datetime.fromisoformat(first["next_due"])) == ("reply", hours_ago(51) + timedelta(hours=48))
    assert [c["next_clock"] for c in queue] == ["reply", "reply", "follow_up", "reply", "result", None]
    assert first["owner"]["phone"] == f"+86{phone(0)[:3]}****{phone(0)[-4:]}"
    assert first["owner"]["name"] == (await Member.select(Member.name).where(Member.id == owner).first())["name"]
    assert first["severity"] == "normal" and first["assignee_name"] is None
    assert [c["id"] for c in newest] == [done, resolved, replied, soon, late, fresh]  # the default order is unchanged


async def test_the_queue_filters_by_kind_project_assignee_and_state(database, settings, frozen, tmp_path):
    first, second = await owners(tmp_path, 2)
    colleague = await staff("care2", "service")
    complaint = await cases.open_case(first, "complaint", "噪音", "x", now=hours_ago(60))
    repair = await cases.open_case(second, "repair", "漏水", "x", now=hours_ago(2))
    inquiry = await cases.open_case(first, "inquiry", "咨询", "x", now=hours_ago(3))
    await cases.resolve(inquiry, "已答复", colleague, now=hours_ago(1))
    await cases.assign(repair, colleague, colleague)
    await Case.update({Case.project: None}).where(Case.id == inquiry)

    async with staff_client(database, settings, "care1", "service") as service:
        me = (await service.get("/api/v1/staff/me")).json()["staff_id"]
        await cases.assign(complaint, me, me)

        async def ids(**params) -> list[int]:
            response = await service.get(STAFF_CASES, params={"sort": "deadline", **params})
            assert response.status_code == 200, response.text
            return [c["id"] for c in response.json()]

        assert await ids(kind="repair") == [repair]
        assert await ids(project_id=await project_id()) == [complaint, repair]
        assert await ids(assignee="me") == [complaint]
        assert await ids(assignee="unassigned") == [inquiry]
        assert await ids(assignee="anyone") == [complaint, inquiry, repair]  # the follow-up is due before the reply
        assert await ids(state="overdue") == [complaint]
        assert await ids(state="resolved") == [inquiry]
        assert await ids(state="active", kind="complaint") == [complaint]
        assert await ids(limit=2) == [complaint, inquiry]
        assert await ids(limit=2, offset=2) == [repair]
        named = (await service.get(STAFF_CASES, params={"assignee": "unassigned", "state": "open"})).json()
    assert [c["id"] for c in named] == []
    assigned = await cases.get_case(repair)
    assert assigned["assigned_to"] == colleague


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "leak"}, "kind"),
        ({"assignee": "boss"}, "assignee"),
        ({"state": "closed"}, "state"),
        ({"sort": "oldest"}, "sort"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"project_id": "x"}, "project_id"),
    ],
)
async def test_a_bad_queue_parameter_is_refused_naming_it(database, settings, frozen, tmp_path, params, field):
    async with staff_client(database, settings, "care1", "service") as service:
        response = await service.get(STAFF_CASES, params=params)
    assert 400 <= response.status_code < 500, response.text
    assert response.status_code != 404
    assert field in response.text


async def test_only_service_and_admin_staff_use_the_desk_routes(database, settings, frozen, tmp_path):
    (owner,) = await owners(tmp_path, 1)
    case_id = await cases.open_case(owner, "complaint", "噪音", "夜间施工噪音")
    calls = [
        ("GET", f"{STAFF_CASES}?sort=deadline&assignee=me", None),
        ("GET", HANDLERS, None),
        ("POST", f"{STAFF_CASES}/{case_id}/severity", {"severity": "major"}),
    ]
    for role in ("sales", "event_staff"):
        async with staff_client(database, settings, f"{role}1", role) as other:
            for method, url, body in calls:
                response = await other.request(method, url, json=body)
                assert response.status_code == 403, (role, url, response.text)
    async with member_client(database, settings, phone(0)) as me:
        for method, url, body in calls:
            assert (await me.request(method, url, json=body)).status_code == 401, url
    async with staff_client(database, settings, "boss", "admin") as admin:
        for method, url, body in calls:
            assert (await admin.request(method, url, json=body)).status_code in (200, 204), url
    assert (await cases.get_case(case_id))["severity"] == "major"


async def test_the_handlers_are_the_active_service_and_admin_staff(database, settings, frozen, tmp_path):
    carer = await staff("care2", "service")
    boss = await staff("boss", "admin")
    await staff("sales1", "sales")
    gone = await staff("care3", "service")
    from loyalty.identity.tables import StaffAccount

    await StaffAccount.update({StaffAccount.active: False}).where(StaffAccount.id == gone)
    async with staff_client(database, settings, "care1", "service") as service:
        me = (await service.get("/api/v1/staff/me")).json()["staff_id"]
        response = await service.get(HANDLERS)
    assert response.status_code == 200, response.text
    assert [(h["staff_id"], h["role"]) for h in response.json()] == [(carer, "service"), (boss, "admin"), (me, "service")]


async def test_severity_is_set_audited_with_what_it_was_and_an_unknown_one_is_refused(database, settings, frozen, tmp_path):
    (owner,) = await owners(tmp_path, 1)
    case_id = await cases.open_case(owner, "complaint", "漏水", "天花板漏水")
    async with staff_client(database, settings, "care1", "service") as service:
        made = await service.post(f"{STAFF_CASES}/{case_id}/severity", json={"severity": "major"})
        again = await service.post(f"{STAFF_CASES}/{case_id}/severity", json={"severity": "major"})
        wrong = await service.post(f"{STAFF_CASES}/{case_id}/severity", json={"severity": "urgent"})
        shown = (await service.get(f"{STAFF_CASES}/{case_id}")).json()
        missing = await service.post(f"{STAFF_CASES}/999999/severity", json={"severity": "major"})

    assert (made.status_code, again.status_code) == (204, 204)
    assert wrong.status_code in (400, 422) and "severity" in wrong.text
    assert missing.status_code == 404
    assert shown["severity"] == "major"
    [entry] = await audits("case.severity", case_id)  # the second, unchanged, is no change
    assert entry["data"] == {"from": "normal", "to": "major"}


async def test_a_staff_reply_is_audited_with_its_message(database, settings, frozen, tmp_path):
    (owner,) = await owners(tmp_path, 1)
    carer = await staff("care2", "service")
    case_id = await cases.open_case(owner, "complaint", "漏水", "天花板漏水")
    message_id = await cases.staff_reply(case_id, carer, "收到，明天上门")
    [entry] = await audits("case.reply", case_id)
    assert (entry["actor_id"], entry["data"]) == (carer, {"message": message_id})


async def test_the_case_page_shows_the_owners_rating_and_the_follow_up_note(database, settings, frozen, tmp_path):
    (owner,) = await owners(tmp_path, 1)
    carer = await staff("care2", "service")
    case_id = await cases.open_case(owner, "complaint", "漏水", "天花板漏水", now=hours_ago(30))
    await cases.resolve(case_id, "已修好", carer, now=hours_ago(5))
    survey = await Survey.select(Survey.id).where((Survey.kind == "case") & (Survey.subject_id == case_id)).first()
    await surveys.answer(owner, survey["id"], {"satisfaction": 4, "recommend": 9, "comment": "师傅很专业"})
    await cases.follow_up(case_id, "业主满意", carer, now=hours_ago(1))
    async with staff_client(database, settings, "care1", "service") as service:
        shown = (await service.get(f"{STAFF_CASES}/{case_id}")).json()
    assert shown["rating"]["satisfaction"] == 4 and shown["rating"]["recommend"] == 9
    assert shown["rating"]["comment"] == "师傅很专业"
    assert shown["follow_up_note"] == "业主满意"
    assert shown["next_clock"] is None and shown["status"] == "followed_up"


async def test_a_case_goes_only_to_desk_staff_and_not_once_it_is_followed_up(database, settings, frozen, tmp_path):
    # The outside review gave a closed case to a sales adviser, who then could not open it.
    (owner,) = await owners(tmp_path, 1)
    carer = await staff("care2", "service")
    adviser = await staff("sales1", "sales")
    case_id = await cases.open_case(owner, "complaint", "漏水", "天花板漏水", now=hours_ago(30))
    async with staff_client(database, settings, "care1", "service") as service:
        to_sales = await service.post(f"{STAFF_CASES}/{case_id}/assignment", json={"staff_id": adviser})
        to_carer = await service.post(f"{STAFF_CASES}/{case_id}/assignment", json={"staff_id": carer})
        await cases.resolve(case_id, "已修好", carer, now=hours_ago(5))
        await cases.follow_up(case_id, "业主满意", carer, now=hours_ago(1))
        after_follow_up = await service.post(f"{STAFF_CASES}/{case_id}/assignment", json={"staff_id": carer})

    assert (to_sales.status_code, to_sales.json()["errors"][0]["field"]) == (422, "staff_id"), to_sales.text
    assert to_carer.status_code == 204
    assert (after_follow_up.status_code, after_follow_up.json()["type"]) == (409, "/problems/case-closed"), after_follow_up.text
    assert (await Case.select(Case.assigned_to).first())["assigned_to"] == carer
