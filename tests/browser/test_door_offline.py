"""Two doors, no network: each decides from the admission list and the public keys it kept,
checks the ticket signatures itself and keeps its scans (with their nonces) in IndexedDB. Back
online they sync: the server holds each admission once, and the one ticket let in at both doors
is reported to staff as a conflict, not hidden; the points ledger stays whole."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from loyalty.events import door_sync
from loyalty.events.tables import Scan, Signup
from loyalty.points import service as points
from tests.browser.conftest import PHONE, Pages
from tests.browser.door_helpers import door_event, scan
from tests.browser.pages import add_staff, staff_logs_in


async def ready_door(pages: Pages, username: str, event_id: int, gate: str) -> Page:
    page = await pages.new(**PHONE)
    await staff_logs_in(page, username, "/staff#scanner")
    await expect(page.locator("#scan-event")).to_have_value(str(event_id))
    await expect(page.locator("#door-ready")).to_have_text("已保存 50 户名单，可离线签到")  # kept before the doors open
    await page.fill("#scan-gate", gate)
    return page


async def test_two_offline_doors_admit_fifty_and_the_ticket_let_in_twice_is_one_conflict(database, pages: Pages, tmp_path):
    staff_id = await add_staff("door1", "event_staff")
    await add_staff("door2", "event_staff")
    event_id, tickets = await door_event(tmp_path, pages.server.settings, staff_id, 50, attendance_points=20)
    east = await ready_door(pages, "door1", event_id, "东门")
    west = await ready_door(pages, "door2", event_id, "西门")

    sent: list[str] = []
    for page in (east, west):
        page.on("request", lambda r: sent.append(r.url) if "/checkins" in r.url else None)
        await page.context.set_offline(True)
        await expect(page.locator("#door-net")).to_have_text("离线")

    for ticket in tickets:
        assert await scan(east, ticket) == "checked_in"
    await expect(east.locator("#door-count")).to_have_text("50 / 50")
    assert await scan(east, tickets[7]) == "already_checked_in"  # this door remembers its own
    await expect(east.locator("#result-code")).to_have_text(re.compile(r"^已签到（东门 \d\d:\d\d）$"))
    forged = tickets[3][:-4] + ("AAAA" if not tickets[3].endswith("AAAA") else "BBBB")
    assert await scan(east, forged) == "invalid_code"  # the signature checked here, offline
    await expect(east.locator("#result-code")).to_have_text("票码无效")
    assert await scan(west, tickets[0]) == "checked_in"  # the other door cannot know
    await expect(east.locator("#door-queue")).to_have_text("52 条待同步")
    await expect(west.locator("#door-queue")).to_have_text("1 条待同步")
    assert sent == [] and await Signup.count().where(Signup.status == "attended") == 0
    # A scan the server will refuse (the phone's clock was days off): it must not hold the others back.
    await east.evaluate("""async ([id, code]) => { await DoorOffline.addScan({ nonce: 'stale-1', event_id: id, code, gate: '东门',
        scanned_at: new Date(Date.now() - 5 * 86400000).toISOString(), offline_result: 'checked_in', signup_id: null }); }""",
                        [event_id, tickets[20]])
    # A code the server will not take though this door let it in (as a card replaced since the list was kept).
    await east.evaluate("""async ([id, code]) => { await DoorOffline.addScan({ nonce: 'odd-1', event_id: id, code, gate: '东门',
        scanned_at: new Date().toISOString(), offline_result: 'checked_in', signup_id: null }); }""", [event_id, forged])

    await east.context.set_offline(False)
    await expect(east.locator("#door-net")).to_have_text("在线")
    await expect(east.locator("#door-queue")).to_have_text("", timeout=30_000)  # 52 scans applied one by one, one refused
    await expect(east.locator("#door-unsynced-title")).to_have_text("1 条离线扫码未能同步：请告知工作人员")
    await expect(east.locator("#door-unsynced-list li")).to_contain_text("请检查手机时间是否正确")
    await expect(east.locator("#door-conflict-list li")).to_have_text(re.compile(r"^无效票码：离线时于“东门” \d\d:\d\d 放行$"))
    await west.context.set_offline(False)
    await expect(west.locator("#door-queue")).to_have_text("", timeout=30_000)
    await expect(west.locator("#door-conflicts")).to_have_text("2 条离线扫码待核对")
    await expect(west.locator("#door-conflict-list li").filter(has_text="业主0")).to_have_text(
        re.compile(r"^业主0（1 人）：\d\d:\d\d 已在「东门」签到，\d\d:\d\d 又在「西门」放行$"))
    await expect(west.locator("#door-count")).to_have_text("50 / 50")  # the other door's admissions, seen
    assert await scan(west, tickets[9]) == "already_checked_in"  # online again: let in at the east door
    await expect(west.locator("#result-code")).to_have_text(re.compile(r"^已签到（东门 \d\d:\d\d）$"))

    assert await Signup.count().where((Signup.event == event_id) & (Signup.status == "attended")) == 50
    [conflict] = [c for c in await door_sync.conflicts(event_id) if c["result"] != "invalid_code"]
    [unreadable] = [c for c in await door_sync.conflicts(event_id) if c["result"] == "invalid_code"]
    assert unreadable["result"] == "invalid_code" and unreadable["conflict"] == "admitted"
    assert conflict["gate"] == "西门" and conflict["checked_in_gate"] == "东门"
    # Every offline scan once (the forged code too, refused at the door: kept, no conflict; the stale
    # scan refused and not kept; the odd code let in kept as a conflict).
    assert await Scan.count().where(Scan.offline_result != "") == 54
    assert await points.audit_ledger() == []
    assert pages.errors == []
