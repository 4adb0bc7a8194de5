"""Feedback and complaints (issue 9, DESIGN.md "Care"): cases through HTTP — opening, replies,
assignment, the result, the follow-up call, photos — and the three SLA clocks at their edges
with frozen time: first reply ≤ 48 h, result ≤ 7 days, follow-up ≤ 24 h after the result;
the escalation job flags each late clock once, audits it and tells the assignee.

Owners come from tests/events/builders.py (`owners`, logged in with `member_client`); staff
log in with `staff_client` (role "service" for the case routes). Time stands still at NOW
(2026-06-15 12:00 Beijing) and moves with `frozen.move_to(...)`.
"""

from __future__ import annotations

import io
import socket
import struct
import zlib
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from PIL import Image

from loyalty import jobs
from loyalty.audit.tables import AuditEntry
from loyalty.care import cases
from loyalty.care.tables import Case, CasePhoto, OutboxMessage, Survey
from loyalty.errors import InvalidField
from loyalty.identity import service as identity
from loyalty.identity.tables import StaffAccount
from loyalty.members.tables import Ownership
from tests.events.builders import (
    NOW,
    member_client,
    owners,
    phone,
    project_id,
    staff,
    staff_client,
)

ME_CASES = "/api/v1/me/cases"
STAFF_CASES = "/api/v1/staff/cases"
REPLY_DUE = NOW + timedelta(hours=48)
RESULT_DUE = NOW + timedelta(days=7)
SECOND = timedelta(seconds=1)


@pytest.fixture(autouse=True)
def job_settings(settings):
    """Jobs called directly (not through an app) run with this test's settings."""
    jobs.configure(settings)


def png(size: tuple[int, int] = (4, 3), colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), (0, 0, 255)).save(buffer, format="GIF")
    return buffer.getvalue()


def bomb() -> bytes:
    """A 67-byte PNG whose header claims 100 000 × 100 000 pixels (a decompression bomb)."""
    data = bytearray(png((1, 1)))
    header = struct.pack(">II", 100_000, 100_000) + bytes(data[24:29])  # IHDR: width, height, the rest
    data[16:29] = header
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + header))
    return bytes(data)


def pixel_flood(width: int = 15_000, height: int = 10_000) -> bytes:
    """A valid PNG of `width` × `height` black pixels at 1 bit each: the rows of zeros
    compress to about 18 KB, 150 megapixels once decoded (a pixel flood)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte, then the packed pixels
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def at(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def clocks_of(view: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["state"] for c in view["clocks"]}


def clock_of(view: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [c for c in view["clocks"] if c["name"] == name]
    return found


def field_of(response: httpx.Response) -> list[str]:
    return [e["field"] for e in response.json().get("errors", [])]


async def staff_id(username: str) -> int:
    row = await StaffAccount.select(StaffAccount.id).where(StaffAccount.user.username == username).first()
    assert row is not None
    return row["id"]


async def units_of(member: int) -> list[int]:
    return [r["unit"] for r in await Ownership.select(Ownership.unit).where(Ownership.member == member).order_by(Ownership.id)]


async def open_via(me: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    body = {"kind": "complaint", "title": "电梯异响", "text": "3号楼电梯运行时有异响", **body}
    response = await me.post(ME_CASES, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def outbox(template: str) -> list[dict[str, Any]]:
    return await OutboxMessage.select().where(OutboxMessage.template == template).order_by(OutboxMessage.id).output(load_json=True)


async def audits(action: str, case_id: int | None = None) -> list[dict[str, Any]]:
    query = AuditEntry.select().where(AuditEntry.action == action).order_by(AuditEntry.id)
    if case_id is not None:
        query = query.where((AuditEntry.subject_kind == "case") & (AuditEntry.subject_id == case_id))
    return await query.output(load_json=True)


# --- opening ---------------------------------------------------------------------------------


async def test_an_owner_opens_a_case_on_one_of_their_units_and_its_clocks_start_running(database, settings, frozen, tmp_path):
    (owner,) = await owners(tmp_path, 1, units=2)
    first_unit, second_unit = await units_of(owner)

    async with member_client(database, settings, phone(0)) as me:
        opened = await open_via(me, kind="repair", unit_id=second_unit)
        listed = (await me.get(ME_CASES)).json()

    assert (opened["member_id"], opened["kind"], opened["status"], opened["opened_by"]) == (owner, "repair", "open", "member")
    assert (opened["kind_label_zh"], opened["kind_label_en"]) == ("报修", "Repair request")
    assert (opened["unit_id"], opened["project_id"]) == (second_unit, await project_id())
    assert at(opened["opened_at"]) == NOW
    assert clocks_of(opened) == {"reply": "running", "result": "running", "follow_up": "not_started"}
    assert at(clock_of(opened, "reply")["due"]) == REPLY_DUE
    assert at(clock_of(opened, "result")["due"]) == RESULT_DUE
    assert clock_of(opened, "follow_up")["due"] is None
    assert [c["id"] for c in listed] == [opened["id"]]
    assert first_unit != second_unit


async def test_a_case_without_a_unit_belongs_to_the_project_of_the_owners_first_unit(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1)
    async with member_client(database, settings, phone(0)) as me:
        opened = await open_via(me, kind="inquiry")
    assert (opened["unit_id"], opened["project_id"]) == (None, await project_id())


async def test_opening_refuses_an_unknown_kind_an_empty_title_and_a_unit_that_is_not_the_owners(database, settings, frozen, tmp_path):
    await owners(tmp_path, 2)
    other_unit = (await units_of((await owners(tmp_path, 1, start=5))[0]))[0]

    async with member_client(database, settings, phone(0)) as me:
        bad_kind = await me.post(ME_CASES, json={"kind": "praise", "title": "t", "text": "x"})
        blank_title = await me.post(ME_CASES, json={"kind": "complaint", "title": "   ", "text": "x"})
        not_mine = await me.post(ME_CASES, json={"kind": "complaint", "title": "t", "text": "x", "unit_id": other_unit})
        no_unit = await me.post(ME_CASES, json={"kind": "complaint", "title": "t", "text": "x", "unit_id": 999_999})

    # The kind is an enum of the request schema: refused by validation (400), naming `kind`.
    assert bad_kind.status_code == 400 and field_of(bad_kind) == ["kind"], bad_kind.text
    assert blank_title.status_code == 422 and field_of(blank_title) == ["title"], blank_title.text
    assert not_mine.status_code == 422 and field_of(not_mine) == ["unit_id"], not_mine.text
    assert no_unit.status_code == 422 and field_of(no_unit) == ["unit_id"], no_unit.text
    assert await Case.count() == 0


async def test_the_service_refuses_an_unknown_kind_naming_the_field(database, frozen, tmp_path):
    (owner,) = await owners(tmp_path, 1)
    with pytest.raises(InvalidField) as refused:
        await cases.open_case(owner, "praise", "t", "x")
    assert (refused.value.status, refused.value.field) == (422, "kind")
    assert await Case.count() == 0


async def test_service_staff_open_a_case_for_an_owner_and_it_is_audited(database, settings, frozen, tmp_path):
    (owner,) = await owners(tmp_path, 1)
    async with staff_client(database, settings, "care1", "service") as service:
        opened = await service.post(STAFF_CASES, json={"member_id": owner, "kind": "suggestion", "title": "来电建议", "text": "希望增加儿童游乐设施"})
        async with member_client(database, settings, phone(0)) as me:
            mine = (await me.get(ME_CASES)).json()

    assert opened.status_code == 201, opened.text
    case = opened.json()
    assert (case["member_id"], case["opened_by"], case["status"]) == (owner, "staff", "open")
    assert [c["id"] for c in mine] == [case["id"]]
    [entry] = await audits("case.open", case["id"])
    assert (entry["actor_kind"], entry["actor_id"]) == ("staff", await staff_id("care1"))


# --- who may see what ------------------------------------------------------------------------


async def test_an_owner_cannot_see_or_touch_another_owners_case(database, settings, frozen, tmp_path):
    await owners(tmp_path, 2)
    async with member_client(database, settings, phone(0)) as alice:
        case = await open_via(alice)
        added = await alice.post(f"{ME_CASES}/{case['id']}/photos", content=png(), headers={"Content-Type": "image/png"})
        assert added.status_code == 201, added.text
        photo_id = added.json()["id"]
        async with member_client(database, settings, phone(1)) as bob:
            seen = await bob.get(f"{ME_CASES}/{case['id']}")
            replied = await bob.post(f"{ME_CASES}/{case['id']}/messages", json={"text": "我也来说两句"})
            photo_added = await bob.post(f"{ME_CASES}/{case['id']}/photos", content=png(), headers={"Content-Type": "image/png"})
            photo_seen = await bob.get(f"{ME_CASES}/{case['id']}/photos/{photo_id}")
            listed = (await bob.get(ME_CASES)).json()

    for response in (seen, replied, photo_added, photo_seen):
        assert response.status_code == 404, response.text
        assert response.json()["type"] == "/problems/not-found"
    assert listed == []
    assert await CasePhoto.count() == 1
    assert await cases.messages(case["id"]) == []


async def test_sales_staff_and_owners_are_refused_the_staff_case_routes(database, settings, frozen, tmp_path):
    (owner,) = await owners(tmp_path, 1)
    case_id = await cases.open_case(owner, "complaint", "噪音", "夜间施工噪音")
    calls = [
        ("GET", STAFF_CASES, None),
        ("POST", STAFF_CASES, {"member_id": owner, "kind": "inquiry", "title": "t", "text": "x"}),
        ("GET", f"{STAFF_CASES}/{case_id}", None),
        ("POST", f"{STAFF_CASES}/{case_id}/messages", {"text": "回复"}),
        ("POST", f"{STAFF_CASES}/{case_id}/assignment", {"staff_id": 1}),
        ("POST", f"{STAFF_CASES}/{case_id}/resolution", {"result": "已处理"}),
        ("POST", f"{STAFF_CASES}/{case_id}/follow-up", {"note": "已回访"}),
    ]
    async with staff_client(database, settings, "sales1", "sales") as sales:
        refused = [await sales.request(method, url, json=body) for method, url, body in calls]
    async with member_client(database, settings, phone(0)) as me:
        anonymous = [await me.request(method, url, json=body) for method, url, body in calls]

    for response in refused:
        assert response.status_code == 403, response.text
        assert response.json()["type"] == "/problems/forbidden"
    for response in anonymous:
        assert response.status_code == 401, response.text
    case = await cases.get_case(case_id)
    assert (case["status"], case["assigned_to"], case["first_reply_at"]) == ("open", None, None)
    assert await Case.count() == 1


# --- replies, assignment, the result, the follow-up ------------------------------------------


async def test_owner_and_staff_reply_and_the_first_staff_reply_stops_the_reply_clock(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1)
    async with member_client(database, settings, phone(0)) as me, staff_client(database, settings, "care1", "service") as service:
        case = await open_via(me)
        frozen.move_to(NOW + timedelta(hours=1))
        owner_said = await me.post(f"{ME_CASES}/{case['id']}/messages", json={"text": "今天早上又响了"})
        after_owner = (await me.get(f"{ME_CASES}/{case['id']}")).json()
        frozen.move_to(NOW + timedelta(hours=10))
        first = await service.post(f"{STAFF_CASES}/{case['id']}/messages", json={"text": "已安排维保人员检查"})
        frozen.move_to(NOW + timedelta(hours=60))
        second = await service.post(f"{STAFF_CASES}/{case['id']}/messages", json={"text": "检查完成，更换零件中"})
        mine = (await me.get(f"{ME_CASES}/{case['id']}")).json()

    assert (owner_said.status_code, first.status_code, second.status_code) == (201, 201, 201)
    # An owner's own message does not stop the clock.
    assert after_owner["status"] == "open" and clocks_of(after_owner)["reply"] == "running"
    assert mine["status"] == "in_progress"
    reply = clock_of(mine, "reply")
    assert (reply["state"], at(reply["done"])) == ("met", NOW + timedelta(hours=10))
    assert [(m["author_kind"], m["text"], at(m["created_at"])) for m in mine["messages"]] == [
        ("member", "今天早上又响了", NOW + timedelta(hours=1)),
        ("staff", "已安排维保人员检查", NOW + timedelta(hours=10)),
        ("staff", "检查完成，更换零件中", NOW + timedelta(hours=60)),
    ]
    assert [m["id"] for m in mine["messages"]] == [owner_said.json()["id"], first.json()["id"], second.json()["id"]]
    # Each staff reply tells the owner (a case update, in the outbox).
    told = await outbox("care_case_reply")
    assert [(m["member"], m["kind"], m["payload"]["case_id"]) for m in told] == [(case["member_id"], "case_update", case["id"])] * 2


async def test_assignment_is_audited_and_unknown_or_inactive_staff_are_refused(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1)
    colleague = await staff("care2", "service")
    retired = await staff("care3", "service")
    await StaffAccount.update({StaffAccount.active: False}).where(StaffAccount.id == retired)

    async with member_client(database, settings, phone(0)) as me, staff_client(database, settings, "care1", "service") as service:
        case = await open_via(me)
        assigned = await service.post(f"{STAFF_CASES}/{case['id']}/assignment", json={"staff_id": colleague})
        unknown = await service.post(f"{STAFF_CASES}/{case['id']}/assignment", json={"staff_id": 999_999})
        inactive = await service.post(f"{STAFF_CASES}/{case['id']}/assignment", json={"staff_id": retired})
        no_case = await service.post(f"{STAFF_CASES}/999999/assignment", json={"staff_id": colleague})
        viewed = (await service.get(f"{STAFF_CASES}/{case['id']}")).json()
        theirs = (await service.get(STAFF_CASES, params={"assigned_to": colleague})).json()
        nobodys = (await service.get(STAFF_CASES, params={"assigned_to": retired})).json()

    assert assigned.status_code == 204, assigned.text
    assert unknown.status_code == 422 and field_of(unknown) == ["staff_id"], unknown.text
    assert inactive.status_code == 422 and field_of(inactive) == ["staff_id"], inactive.text
    assert no_case.status_code == 404, no_case.text
    assert viewed["assigned_to"] == colleague
    assert [c["id"] for c in theirs] == [case["id"]] and nobodys == []
    [entry] = await audits("case.assign", case["id"])
    assert (entry["actor_kind"], entry["actor_id"], entry["data"]) == ("staff", await staff_id("care1"), {"assignee": colleague})


async def test_the_result_stops_its_clock_and_sends_the_owner_a_case_survey(database, settings, frozen, tmp_path):
    (owner,) = await owners(tmp_path, 1)
    async with member_client(database, settings, phone(0)) as me, staff_client(database, settings, "care1", "service") as service:
        case = await open_via(me)
        frozen.move_to(NOW + timedelta(hours=2))
        await service.post(f"{STAFF_CASES}/{case['id']}/messages", json={"text": "收到"})
        frozen.move_to(NOW + timedelta(days=3))
        resolved = await service.post(f"{STAFF_CASES}/{case['id']}/resolution", json={"result": "更换了导靴，异响消除"})
        again = await service.post(f"{STAFF_CASES}/{case['id']}/resolution", json={"result": "再来一次"})
        viewed = (await service.get(f"{STAFF_CASES}/{case['id']}")).json()
        waiting = (await me.get("/api/v1/me/surveys")).json()

    assert resolved.status_code == 204, resolved.text
    assert again.status_code == 409 and again.json()["type"] == "/problems/case-closed", again.text
    assert (viewed["status"], viewed["result"]) == ("resolved", "更换了导靴，异响消除")
    result, follow = clock_of(viewed, "result"), clock_of(viewed, "follow_up")
    assert (result["state"], at(result["done"])) == ("met", NOW + timedelta(days=3))
    assert (follow["state"], at(follow["due"]), follow["done"]) == ("running", NOW + timedelta(days=3, hours=24), None)
    [survey] = await Survey.select().where(Survey.member == owner)
    assert (survey["kind"], survey["subject_id"], survey["project"], survey["answered_at"]) == ("case", case["id"], case["project_id"], None)
    [invitation] = await outbox("survey_case")
    assert (invitation["member"], invitation["kind"], invitation["payload"]) == (owner, "survey", {"survey_id": survey["id"]})
    assert [(s["id"], s["kind"], s["subject_id"]) for s in waiting] == [(survey["id"], "case", case["id"])]
    assert len(await audits("case.resolve", case["id"])) == 1
    assert len(await outbox("care_case_resolved")) == 1


async def test_the_follow_up_comes_only_after_the_result_and_then_the_case_is_closed_to_replies(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1)
    async with member_client(database, settings, phone(0)) as me, staff_client(database, settings, "care1", "service") as service:
        case = await open_via(me)
        url = f"{STAFF_CASES}/{case['id']}"
        too_early = await service.post(f"{url}/follow-up", json={"note": "电话回访"})
        await service.post(f"{url}/resolution", json={"result": "已修复"})
        frozen.move_to(NOW + timedelta(hours=5))
        followed = await service.post(f"{url}/follow-up", json={"note": "电话回访，业主满意"})
        twice = await service.post(f"{url}/follow-up", json={"note": "再回访"})
        owner_reply = await me.post(f"{ME_CASES}/{case['id']}/messages", json={"text": "谢谢"})
        staff_reply = await service.post(f"{url}/messages", json={"text": "不客气"})
        unknown = await service.post(f"{STAFF_CASES}/999999/follow-up", json={"note": "?"})
        mine = (await me.get(f"{ME_CASES}/{case['id']}")).json()

    assert too_early.status_code == 422 and field_of(too_early) == ["status"], too_early.text
    assert followed.status_code == 204, followed.text
    assert twice.status_code == 422 and field_of(twice) == ["status"], twice.text
    for response in (owner_reply, staff_reply):
        assert response.status_code == 409 and response.json()["type"] == "/problems/case-closed", response.text
    assert unknown.status_code == 404
    assert mine["status"] == "followed_up" and mine["messages"] == []
    follow = clock_of(mine, "follow_up")
    assert (follow["state"], at(follow["done"])) == ("met", NOW + timedelta(hours=5))
    assert len(await audits("case.follow_up", case["id"])) == 1


async def test_resolving_an_unreplied_case_also_ends_the_reply_clock_late_if_past_48_hours(database, frozen, tmp_path):
    (owner,) = await owners(tmp_path, 1)
    quick = await cases.open_case(owner, "inquiry", "快", "x")
    slow = await cases.open_case(owner, "inquiry", "慢", "x")
    carer = await staff("care1", "service")

    await cases.resolve(quick, "已答复", carer, now=NOW + timedelta(hours=3))
    await cases.resolve(slow, "已答复", carer, now=REPLY_DUE + SECOND)

    later = NOW + timedelta(hours=26)  # both follow-up clocks still running
    assert [c.state(later) for c in cases.clocks(await cases.get_case(quick))] == ["met", "met", "running"]
    assert [c.state(later) for c in cases.clocks(await cases.get_case(slow))] == ["missed", "met", "running"]


# --- photos ----------------------------------------------------------------------------------


async def test_a_png_photo_sent_as_the_body_is_stored_and_served_back_as_png(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1)
    picture = png((16, 9))
    async with member_client(database, settings, phone(0)) as me, staff_client(database, settings, "care1", "service") as service:
        case = await open_via(me)
        added = await me.post(f"{ME_CASES}/{case['id']}/photos", content=picture, headers={"Content-Type": "image/png"})
        photo_id = added.json()["id"]
        mine = await me.get(f"{ME_CASES}/{case['id']}/photos/{photo_id}")
        theirs = await service.get(f"{STAFF_CASES}/{case['id']}/photos/{photo_id}")
        wrong_case = await me.get(f"{ME_CASES}/{case['id'] + 1}/photos/{photo_id}")
        viewed = (await me.get(f"{ME_CASES}/{case['id']}")).json()

    assert added.status_code == 201, added.text
    for served in (mine, theirs):
        assert served.status_code == 200, served.text
        assert served.headers["content-type"] == "image/png"
        assert served.content == picture
        with Image.open(io.BytesIO(served.content)) as image:
            assert (image.format, image.size) == ("PNG", (16, 9))
    assert wrong_case.status_code == 404
    assert viewed["photo_ids"] == [photo_id]
    [row] = await CasePhoto.select(CasePhoto.content_type, CasePhoto.size)
    assert row == {"content_type": "image/png", "size": len(picture)}


@pytest.mark.parametrize(
    "body",
    [b"this is not a picture at all", b"", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "gif", "bomb"],
    ids=["text", "empty", "broken-png", "gif", "decompression-bomb"],
)
async def test_a_body_that_is_not_a_jpeg_png_or_webp_picture_is_refused_naming_photo(database, settings, frozen, tmp_path, body):
    await owners(tmp_path, 1)
    content = {"gif": gif, "bomb": bomb}[body]() if isinstance(body, str) else body
    async with member_client(database, settings, phone(0)) as me:
        case = await open_via(me)
        refused = await me.post(f"{ME_CASES}/{case['id']}/photos", content=content, headers={"Content-Type": "application/octet-stream"})

    assert refused.status_code == 422, refused.text
    assert field_of(refused) == ["photo"]
    assert await CasePhoto.count() == 0


async def test_a_pixel_flood_png_of_18_kb_and_150_megapixels_is_refused_naming_photo_and_never_stored(
    database, settings, frozen, tmp_path
):
    await owners(tmp_path, 1)
    flood = pixel_flood()
    assert len(flood) < 64 * 1024
    with pytest.warns(Image.DecompressionBombWarning), Image.open(io.BytesIO(flood)) as image:
        assert image.size == (15_000, 10_000)  # a real PNG, not a broken header
    async with member_client(database, settings, phone(0)) as me, staff_client(database, settings, "care1", "service") as service:
        case = await open_via(me)
        refused = await me.post(f"{ME_CASES}/{case['id']}/photos", content=flood, headers={"Content-Type": "image/png"})
        # The owner's saved language (zh-CN) comes before Accept-Language: they switch to English.
        assert (await me.put("/api/v1/language", json={"language": "en"})).status_code == 200
        refused_en = await me.post(f"{ME_CASES}/{case['id']}/photos", content=flood, headers={"Content-Type": "image/png"})
        staff_view = (await service.get(f"{STAFF_CASES}/{case['id']}")).json()

    assert refused.status_code == 422, refused.text
    assert refused.json()["type"] == "/problems/image-too-large"
    assert refused.json()["title"] == "图片过大" and refused_en.json()["title"] == "The picture is too large"
    assert field_of(refused) == ["photo"]
    assert "最多 4000万像素" in refused.json()["detail"] and "40 million pixels" in refused_en.json()["detail"]
    assert staff_view["photo_ids"] == [] and await CasePhoto.count() == 0


def jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise(size, 60).convert("RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


async def test_a_jpeg_cut_in_half_is_refused_as_not_a_whole_picture(database, settings, frozen, tmp_path):
    # An upload that broke off half-way: its header and structure are fine, half its pixels are missing.
    await owners(tmp_path, 1)
    whole = jpeg()
    half = whole[: len(whole) // 2]
    async with member_client(database, settings, phone(0)) as me:
        case = await open_via(me)
        url = f"{ME_CASES}/{case['id']}/photos"
        refused = await me.post(url, content=half, headers={"Content-Type": "image/jpeg"})
        taken = await me.post(url, content=whole, headers={"Content-Type": "image/jpeg"})

    assert refused.status_code == 422 and field_of(refused) == ["photo"], refused.text
    assert refused.json()["detail"] == "不是完整有效的图片（支持 JPEG、PNG或WebP）"
    assert taken.status_code == 201, taken.text
    assert await CasePhoto.count() == 1


async def test_the_problem_for_a_bad_photo_names_the_formats_in_words_in_both_languages(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1)
    async with member_client(database, settings, phone(0)) as me:
        case = await open_via(me)
        url = f"{ME_CASES}/{case['id']}/photos"
        zh = await me.post(url, content=gif(), headers={"Content-Type": "image/gif"})
        assert (await me.put("/api/v1/language", json={"language": "en"})).status_code == 200
        en = await me.post(url, content=gif(), headers={"Content-Type": "image/gif"})

    for refused in (zh, en):
        assert refused.status_code == 422 and "`" not in refused.text, refused.text
    assert "JPEG、PNG或WebP" in zh.json()["detail"] and "JPEG, PNG, or WebP" in en.json()["detail"]


@pytest.mark.parametrize("status", ["resolved", "followed_up"])
async def test_a_resolved_case_takes_no_more_photos_or_messages(database, settings, frozen, tmp_path, status):
    await owners(tmp_path, 1)
    async with member_client(database, settings, phone(0)) as me, staff_client(database, settings, "care1", "service") as service:
        case = await open_via(me)
        url = f"{STAFF_CASES}/{case['id']}"
        assert (await service.post(f"{url}/resolution", json={"result": "已修复"})).status_code == 204
        if status == "followed_up":
            assert (await service.post(f"{url}/follow-up", json={"note": "电话回访"})).status_code == 204
        photo = await me.post(f"{ME_CASES}/{case['id']}/photos", content=png(), headers={"Content-Type": "image/png"})
        owner_says = await me.post(f"{ME_CASES}/{case['id']}/messages", json={"text": "还是有异响"})
        staff_says = await service.post(f"{url}/messages", json={"text": "好的"})
        mine = (await me.get(f"{ME_CASES}/{case['id']}")).json()

    assert mine["status"] == status
    for refused, field in ((photo, "photo"), (owner_says, "text"), (staff_says, "text")):
        assert (refused.status_code, refused.json()["type"]) == (409, "/problems/case-closed"), refused.text
        assert field_of(refused) == [field]
    assert "已办结" in photo.json()["detail"] and "重新提交" in photo.json()["detail"]
    assert mine["photo_ids"] == [] and mine["messages"] == []
    assert await CasePhoto.count() == 0


@pytest.mark.parametrize("character", ["\x00", "\x1b", "\x1f"])
async def test_a_control_character_in_a_case_title_is_refused_naming_the_title(database, settings, frozen, tmp_path, character):
    # PostgreSQL's text cannot hold NUL: without this the insert fails there (a 500) and SQLite stores it.
    await owners(tmp_path, 1)
    async with member_client(database, settings, phone(0)) as me:
        refused = await me.post(ME_CASES, json={"kind": "complaint", "title": f"电梯{character}异响", "text": "有异响"})
        with_tabs = await me.post(ME_CASES, json={"kind": "complaint", "title": "电梯异响", "text": "第一行\n\t第二行\r\n"})

    assert (refused.status_code, refused.json()["type"]) == (422, "/problems/invalid-field"), refused.text
    assert field_of(refused) == ["title"]
    assert refused.json()["detail"].startswith("「标题」中含有不可见的控制字符（U+00"), refused.text
    assert with_tabs.status_code == 201, with_tabs.text
    assert await Case.count() == 1


async def test_a_case_in_progress_still_takes_photos_and_messages(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1)
    async with member_client(database, settings, phone(0)) as me, staff_client(database, settings, "care1", "service") as service:
        case = await open_via(me)
        assert (await service.post(f"{STAFF_CASES}/{case['id']}/messages", json={"text": "收到"})).status_code == 201
        photo = await me.post(f"{ME_CASES}/{case['id']}/photos", content=png(), headers={"Content-Type": "image/png"})
        said = await me.post(f"{ME_CASES}/{case['id']}/messages", json={"text": "补充一张照片"})
        mine = (await me.get(f"{ME_CASES}/{case['id']}")).json()

    assert (mine["status"], photo.status_code, said.status_code) == ("in_progress", 201, 201)


async def test_the_pixel_ceiling_is_a_setting(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1)
    strict = settings.with_overrides(upload_max_pixels=100)
    async with member_client(database, strict, phone(0)) as me:
        case = await open_via(me)
        url = f"{ME_CASES}/{case['id']}/photos"
        at_the_ceiling = await me.post(url, content=png((10, 10)), headers={"Content-Type": "image/png"})
        above = await me.post(url, content=png((11, 10)), headers={"Content-Type": "image/png"})

    assert at_the_ceiling.status_code == 201, at_the_ceiling.text
    assert above.status_code == 422 and above.json()["type"] == "/problems/image-too-large", above.text


async def test_a_photo_over_5_mb_is_refused_naming_photo(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1)
    async with member_client(database, settings, phone(0)) as me:
        case = await open_via(me)
        refused = await me.post(
            f"{ME_CASES}/{case['id']}/photos", content=png() + b"\x00" * (5 * 1024 * 1024), headers={"Content-Type": "image/png"}
        )

    assert refused.status_code == 422, refused.text
    assert refused.json()["type"] == "/problems/image-too-large" and field_of(refused) == ["photo"]
    assert await CasePhoto.count() == 0


async def test_a_case_takes_at_most_five_photos(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1)
    async with member_client(database, settings, phone(0)) as me:
        case = await open_via(me)
        url = f"{ME_CASES}/{case['id']}/photos"
        taken = [await me.post(url, content=png(colour=(n * 40, 0, 0)), headers={"Content-Type": "image/png"}) for n in range(5)]
        sixth = await me.post(url, content=png(), headers={"Content-Type": "image/png"})
        viewed = (await me.get(f"{ME_CASES}/{case['id']}")).json()

    assert [r.status_code for r in taken] == [201] * 5
    assert sixth.status_code == 422 and field_of(sixth) == ["photo"], sixth.text
    assert viewed["photo_ids"] == [r.json()["id"] for r in taken]
    assert await CasePhoto.count() == 5


async def test_a_photo_of_exactly_5_mb_is_taken_and_one_byte_more_is_refused(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1)
    picture = png()
    # A real PNG followed by padding (ignored by decoders): its size is exactly what we choose.
    exactly = picture + b"\x00" * (cases.MAX_PHOTO_BYTES - len(picture))
    too_big = exactly + b"\x00"
    assert (len(exactly), len(too_big)) == (5 * 1024 * 1024, 5 * 1024 * 1024 + 1)
    async with member_client(database, settings, phone(0)) as me:
        case = await open_via(me)
        url = f"{ME_CASES}/{case['id']}/photos"
        refused = await me.post(url, content=too_big, headers={"Content-Type": "image/png"})
        taken = await me.post(url, content=exactly, headers={"Content-Type": "image/png"})

    assert refused.status_code == 422 and field_of(refused) == ["photo"], refused.text
    assert "5 MB" in refused.json()["detail"]
    assert taken.status_code == 201, taken.text
    assert [r["size"] for r in await CasePhoto.select(CasePhoto.size)] == [5 * 1024 * 1024]


# --- the clocks at their edges ---------------------------------------------------------------


async def test_a_reply_at_exactly_48_hours_meets_the_clock_and_one_second_later_misses_it(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1)
    async with member_client(database, settings, phone(0)) as me, staff_client(database, settings, "care1", "service") as service:
        on_time, late = await open_via(me, title="准时"), await open_via(me, title="迟到")
        frozen.move_to(REPLY_DUE)
        at_deadline = (await me.get(f"{ME_CASES}/{late['id']}")).json()
        await service.post(f"{STAFF_CASES}/{on_time['id']}/messages", json={"text": "正好48小时"})
        frozen.move_to(REPLY_DUE + SECOND)
        past_deadline = (await me.get(f"{ME_CASES}/{late['id']}")).json()
        await service.post(f"{STAFF_CASES}/{late['id']}/messages", json={"text": "晚了一秒"})
        met = (await me.get(f"{ME_CASES}/{on_time['id']}")).json()
        missed = (await me.get(f"{ME_CASES}/{late['id']}")).json()

    assert clocks_of(at_deadline)["reply"] == "running"  # due, not yet past due
    assert clocks_of(past_deadline)["reply"] == "overdue"
    assert (clock_of(met, "reply")["state"], at(clock_of(met, "reply")["done"])) == ("met", REPLY_DUE)
    assert (clock_of(missed, "reply")["state"], at(clock_of(missed, "reply")["done"])) == ("missed", REPLY_DUE + SECOND)


async def test_the_result_clock_is_met_at_exactly_7_days_and_missed_one_second_later(database, settings, frozen, tmp_path):
    await owners(tmp_path, 1)
    async with member_client(database, settings, phone(0)) as me, staff_client(database, settings, "care1", "service") as service:
        on_time, late = await open_via(me), await open_via(me)
        frozen.move_to(NOW + timedelta(hours=1))
        for case in (on_time, late):
            await service.post(f"{STAFF_CASES}/{case['id']}/messages", json={"text": "收到"})
        frozen.move_to(RESULT_DUE)
        await service.post(f"{STAFF_CASES}/{on_time['id']}/resolution", json={"result": "正好7天"})
        running = (await me.get(f"{ME_CASES}/{late['id']}")).json()
        frozen.move_to(RESULT_DUE + SECOND)
        overdue = (await me.get(f"{ME_CASES}/{late['id']}")).json()
        await service.post(f"{STAFF_CASES}/{late['id']}/resolution", json={"result": "晚了一秒"})
        frozen.move_to(RESULT_DUE + timedelta(hours=24))
        follow_due = (await me.get(f"{ME_CASES}/{on_time['id']}")).json()
        frozen.move_to(RESULT_DUE + timedelta(hours=24) + SECOND)
        met = follow_late = (await me.get(f"{ME_CASES}/{on_time['id']}")).json()
        missed = (await me.get(f"{ME_CASES}/{late['id']}")).json()

    assert (clocks_of(running)["result"], clocks_of(overdue)["result"]) == ("running", "overdue")
    assert clocks_of(met) == {"reply": "met", "result": "met", "follow_up": "overdue"}
    assert clocks_of(missed) == {"reply": "met", "result": "missed", "follow_up": "running"}
    assert (clocks_of(follow_due)["follow_up"], clocks_of(follow_late)["follow_up"]) == ("running", "overdue")
    assert at(clock_of(met, "follow_up")["due"]) == RESULT_DUE + timedelta(hours=24)


async def test_the_follow_up_clock_is_met_at_exactly_24_hours_and_missed_one_second_later(database, frozen, tmp_path):
    (owner,) = await owners(tmp_path, 1)
    carer = await staff("care1", "service")
    on_time = await cases.open_case(owner, "repair", "报修1", "x")
    late = await cases.open_case(owner, "repair", "报修2", "x")
    resolved_at = NOW + timedelta(days=1)
    for case_id in (on_time, late):
        await cases.resolve(case_id, "已修复", carer, now=resolved_at)

    await cases.follow_up(on_time, "回访", carer, now=resolved_at + timedelta(hours=24))
    await cases.follow_up(late, "回访", carer, now=resolved_at + timedelta(hours=24) + SECOND)

    later = NOW + timedelta(days=30)
    assert [c.state(later) for c in cases.clocks(await cases.get_case(on_time))] == ["met", "met", "met"]
    assert [c.state(later) for c in cases.clocks(await cases.get_case(late))] == ["met", "met", "missed"]


async def test_a_special_need_is_answered_within_72_hours_and_escalates_only_past_them(database, frozen, tmp_path):
    (owner,) = await owners(tmp_path, 1)
    need = await cases.open_case(owner, "special_need", "独居老人需要上门协助", "家中老人行动不便，想请人帮忙换灯泡")
    complaint = await cases.open_case(owner, "complaint", "漏水", "卫生间漏水")
    assert (await cases.get_case(need))["first_reply_due"] == NOW + timedelta(hours=72)
    assert (await cases.get_case(complaint))["first_reply_due"] == NOW + timedelta(hours=48)

    frozen.move_to(NOW + timedelta(hours=48) + SECOND)
    assert await cases.escalate_overdue() == 1  # the complaint only
    frozen.move_to(NOW + timedelta(hours=72))
    assert await cases.escalate_overdue() == 0  # due, not yet past due
    frozen.move_to(NOW + timedelta(hours=72) + SECOND)
    assert await cases.escalate_overdue() == 1
    assert (await cases.get_case(need))["reply_escalated_at"] == NOW + timedelta(hours=72) + SECOND


# --- escalation ------------------------------------------------------------------------------


async def test_the_reply_clock_escalates_one_second_after_its_deadline_once_and_tells_the_assignee(database, frozen, tmp_path):
    (owner,) = await owners(tmp_path, 1)
    carer = await staff("care1", "service")
    assignee = await staff("care2", "service")
    case_id = await cases.open_case(owner, "complaint", "漏水", "卫生间漏水")
    await cases.assign(case_id, assignee, carer)

    frozen.move_to(REPLY_DUE)
    at_deadline = await cases.escalate_overdue()
    flag_at_deadline = (await cases.get_case(case_id))["reply_escalated_at"]
    frozen.move_to(REPLY_DUE + SECOND)
    escalated = await cases.escalate_overdue()
    frozen.move_to(REPLY_DUE + timedelta(hours=1))
    again = await cases.escalate_overdue()

    assert (at_deadline, flag_at_deadline) == (0, None)
    assert (escalated, again) == (1, 0)
    case = await cases.get_case(case_id)
    assert case["reply_escalated_at"] == REPLY_DUE + SECOND
    assert (case["result_escalated_at"], case["follow_up_escalated_at"]) == (None, None)
    [entry] = await audits("case.escalate.reply")
    assert (entry["subject_kind"], entry["subject_id"], entry["actor_kind"]) == ("case", case_id, "system")
    # Only the assignee is told; a staff login without a real address is told in the log.
    [told] = await outbox("case_overdue_reply")
    assert (told["kind"], told["payload"], told["member"]) == ("case_update", {"case_id": case_id, "clock": "reply"}, None)
    assert (told["channel"], told["recipient"]) == ("log", "staff:care2")
    assert told["status"] == "sent", told["error"]
    assert f"#{case_id}" in told["body"]


async def test_the_result_and_follow_up_clocks_escalate_at_their_edges_once_each(database, frozen, tmp_path):
    (owner,) = await owners(tmp_path, 1)
    carer = await staff("care1", "service")
    case_id = await cases.open_case(owner, "repair", "门锁坏了", "入户门锁无法反锁")
    await cases.assign(case_id, carer, carer)
    await cases.staff_reply(case_id, carer, "已安排师傅", now=NOW + timedelta(hours=1))

    frozen.move_to(RESULT_DUE)
    assert await cases.escalate_overdue() == 0
    frozen.move_to(RESULT_DUE + SECOND)
    assert await cases.escalate_overdue() == 1
    assert await cases.escalate_overdue() == 0
    resolved_at = RESULT_DUE + timedelta(hours=2)
    frozen.move_to(resolved_at)
    await cases.resolve(case_id, "更换了门锁", carer)
    assert await cases.escalate_overdue() == 0
    frozen.move_to(resolved_at + timedelta(hours=24))
    assert await cases.escalate_overdue() == 0
    frozen.move_to(resolved_at + timedelta(hours=24) + SECOND)
    assert await cases.escalate_overdue() == 1
    frozen.move_to(resolved_at + timedelta(days=3))
    assert await cases.escalate_overdue() == 0

    case = await cases.get_case(case_id)
    assert case["reply_escalated_at"] is None  # the reply came in time
    assert case["result_escalated_at"] == RESULT_DUE + SECOND
    assert case["follow_up_escalated_at"] == resolved_at + timedelta(hours=24) + SECOND
    assert [e["action"] for e in await AuditEntry.select(AuditEntry.action).where(AuditEntry.action.like("case.escalate.%")).order_by(AuditEntry.id)] == [
        "case.escalate.result", "case.escalate.follow_up",
    ]
    assert [(m["template"], m["recipient"]) for m in await OutboxMessage.select().where(OutboxMessage.template.like("case_overdue_%")).order_by(OutboxMessage.id)] == [
        ("case_overdue_result", "staff:care1"), ("case_overdue_follow_up", "staff:care1"),
    ]
    # Once followed up (late), nothing more is escalated.
    await cases.follow_up(case_id, "回访", carer)
    frozen.move_to(resolved_at + timedelta(days=30))
    assert await cases.escalate_overdue() == 0


async def test_an_unassigned_late_case_is_told_to_the_active_service_team_and_admins_not_to_sales(database, frozen, tmp_path):
    (owner,) = await owners(tmp_path, 1)
    await staff("care1", "service")
    await staff("care2", "service")
    await staff("boss", "admin")
    await staff("sales1", "sales")
    await staff("door1", "event_staff")
    gone = await staff("care9", "service")
    await StaffAccount.update({StaffAccount.active: False}).where(StaffAccount.id == gone)
    case_id = await cases.open_case(owner, "complaint", "物业费", "物业费收费不透明")

    frozen.move_to(REPLY_DUE + SECOND)
    assert await cases.escalate_overdue() == 1

    told = await outbox("case_overdue_reply")
    assert sorted(m["recipient"] for m in told) == ["staff:boss", "staff:care1", "staff:care2"]
    assert {m["payload"]["case_id"] for m in told} == {case_id}
    assert len(await audits("case.escalate.reply", case_id)) == 1
    assert {m["status"] for m in told} == {"sent"}


async def test_with_smtp_configured_an_assignee_with_a_real_address_is_told_by_email(database, frozen, tmp_path):
    received: list[Any] = []

    class Inbox:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(Inbox(), hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        jobs.configure(database.settings(smtp_host="127.0.0.1", smtp_port=port))
        (owner,) = await owners(tmp_path, 1)
        lead = (await identity.create_staff("lead1", "care-lead-password-1", "service", email="lead1@example.com")).id
        case_id = await cases.open_case(owner, "complaint", "漏水", "x")
        await cases.assign(case_id, lead, lead)
        frozen.move_to(REPLY_DUE + SECOND)
        assert await cases.escalate_overdue() == 1
    finally:
        smtp.stop()
        jobs.configure(database.settings())

    [told] = await outbox("case_overdue_reply")
    assert (told["channel"], told["recipient"], told["status"]) == ("email", "lead1@example.com", "sent"), told["error"]
    assert [e.rcpt_tos for e in received] == [["lead1@example.com"]]


async def test_the_overdue_filter_lists_exactly_the_cases_past_a_clock(database, settings, frozen, tmp_path):
    (owner,) = await owners(tmp_path, 1)
    carer = await staff("care2", "service")
    days = lambda n: NOW - timedelta(days=n)

    async def opened(title: str, when: datetime) -> int:
        return await cases.open_case(owner, "complaint", title, "x", now=when)

    reply_late = await opened("未回复已超48小时", days(3))
    replied_running = await opened("已回复，处理中", days(3))
    await cases.staff_reply(replied_running, carer, "收到", now=days(3) + timedelta(hours=1))
    result_late = await opened("已回复，超7天未处理完", days(8))
    await cases.staff_reply(result_late, carer, "收到", now=days(8) + timedelta(hours=1))
    follow_late = await opened("已处理，超24小时未回访", days(4))
    await cases.resolve(follow_late, "已处理", carer, now=days(2))
    follow_running = await opened("已处理，回访时钟未到", days(4))
    await cases.resolve(follow_running, "已处理", carer, now=NOW - timedelta(hours=2))
    done = await opened("已回访", days(5))
    await cases.resolve(done, "已处理", carer, now=days(4))
    await cases.follow_up(done, "回访", carer, now=days(4) + timedelta(hours=30))  # late, but done
    fresh = await opened("刚提交", NOW - timedelta(hours=47))
    at_the_edge = await opened("正好48小时", NOW - timedelta(hours=48))

    async with staff_client(database, settings, "care1", "service") as service:
        overdue = await service.get(STAFF_CASES, params={"overdue": "true"})
        everything = (await service.get(STAFF_CASES)).json()
        resolved = (await service.get(STAFF_CASES, params={"status": "resolved"})).json()

    assert overdue.status_code == 200, overdue.text
    assert sorted(c["id"] for c in overdue.json()) == sorted([reply_late, result_late, follow_late])
    assert [c["id"] for c in everything] == sorted(
        [reply_late, replied_running, result_late, follow_late, follow_running, done, fresh, at_the_edge], reverse=True
    )
    assert sorted(c["id"] for c in resolved) == sorted([follow_late, follow_running])
    states = {c["id"]: clocks_of(c) for c in everything}
    assert states[reply_late]["reply"] == "overdue"
    assert states[result_late] == {"reply": "met", "result": "overdue", "follow_up": "not_started"}
    assert states[follow_late]["follow_up"] == "overdue"
    assert states[done]["follow_up"] == "missed"
    assert states[at_the_edge]["reply"] == "running"
