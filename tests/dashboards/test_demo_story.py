"""The demo tells one consistent story: loaded into an empty database with time frozen
(NOW: noon, Beijing, 2026-06-15), every dashboard has real, consistent numbers, the staff pages'
lists have something in every state, the program called "March to May" runs in March to May,
and 张伟, the owner the README logs in as, has points with a history. Loading again changes
nothing."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

import httpx

from loyalty.care.tables import Case, OutboxMessage, Survey
from loyalty.demo import DEMO_OWNER_PHONE, DEMO_STAFF, festival_dates, load_demo_data, local, spring_sessions
from loyalty.events.tables import Event, Program, Signup
from loyalty.members.tables import Member
from loyalty.merchants.tables import Merchant, Sale, SaleReversal
from loyalty.points import service as points
from loyalty.points.tables import LedgerEntry, PointsLot
from loyalty.referrals.tables import Lead, LeadStageChange
from tests.events.builders import NOW, TODAY, staff_client

BASE = "/api/v1/staff/dashboards"
RANGE = {"start": (TODAY - timedelta(days=120)).isoformat(), "end": (TODAY + timedelta(days=60)).isoformat()}


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


async def _counts() -> dict[str, int]:
    tables = (Member, Event, Signup, Sale, SaleReversal, Lead, Case, Survey, OutboxMessage, LedgerEntry, Merchant)
    return {table._meta.tablename: await table.count() for table in tables}


async def test_the_demo_fills_every_dashboard_with_consistent_numbers(database, settings, frozen):
    assert await load_demo_data() is True

    async with staff_client(database, settings, "boss", "admin") as admin:
        tiers = ok(await admin.get(f"{BASE}/tiers"))
        funnel = ok(await admin.get(f"{BASE}/referrals", params=RANGE))
        events = ok(await admin.get(f"{BASE}/events", params=RANGE))
        merchants = ok(await admin.get(f"{BASE}/merchants", params={"start": (TODAY - timedelta(days=30)).isoformat(), "end": TODAY.isoformat()}))
        liability = ok(await admin.get(f"{BASE}/liability"))
        kpis = ok(await admin.get(f"{BASE}/kpis", params=RANGE))

    # Tiers: every tier has members, and the totals add up.
    totals = tiers["totals"]
    assert all(totals[tier] > 0 for tier in ("platinum", "gold", "silver", "blue")), totals
    assert totals["members"] == sum(totals[tier] for tier in ("platinum", "gold", "silver", "blue"))
    # ...and the per-project rows explain them: an owner in both projects is in both rows, once in the totals.
    for column in ("platinum", "gold", "silver", "blue", "members"):
        in_rows = sum(row[column] for row in tiers["rows"])
        assert in_rows - tiers["counted_again"][column] + tiers["without_a_unit"][column] == totals[column], column
    assert tiers["counted_again"]["members"] > 0  # 张伟 owns units in both projects

    # Referrals: a narrowing funnel, new buyers, and a referred-buyer share computed from them.
    f = funnel["totals"]
    assert f["registered"] >= f["visited"] >= f["subscribed"] >= f["signed"] > 0, f
    assert 0 < f["referred_buyers"] <= f["new_buyers"], f
    assert f["referral_share"] == round(f["referred_buyers"] / f["new_buyers"], 4)
    # Conversion is a cohort rate (of a month's registered leads, those signed since): never above 1.
    assert all(row["conversion"] is None or 0 <= row["conversion"] <= 1 for row in [*funnel["rows"], f]), funnel["rows"]
    assert all(row["signed_of_registered"] <= row["registered"] for row in funnel["rows"])

    # Events: past ones with attendance and no-shows, upcoming ones with signups.
    e = events["totals"]
    assert e["attended"] > 0 and e["no_show"] > 0 and e["signups"] >= e["attended"] + e["no_show"], e
    assert 0 < e["no_show_rate"] < 0.5
    past = [row for row in events["rows"] if row["attended"]]
    coming = [row for row in events["rows"] if row["starts_at"] > NOW.isoformat() and row["signups"]]
    assert past and coming

    # Merchants: every one sold in the last 30 days, with discounts, points paid and a few returns.
    m = merchants["totals"]
    assert len(merchants["rows"]) == 4 and all(row["sales"] > 0 for row in merchants["rows"]), merchants["rows"]
    assert m["gross_fen"] > m["discount_fen"] > 0 and m["points_redeemed"] > 0 and 0 < m["reversed_fen"] < m["gross_fen"], m
    assert m["points_value_fen"] == m["points_redeemed"] * 100 // settings.points_per_cny

    # Liability: available and vesting points, valued by the setting.
    assert liability["available"] > 0 and liability["pending"] > 0 and liability["debt"] == 0, liability
    assert liability["total_value_fen"] == (liability["available"] + liability["pending"]) * 100 // settings.points_per_cny

    # Care KPIs: answers around the 85% line, replies on time and late, follow-ups.
    k = kpis["rows"][-1]
    assert k["month"] == "all" and k["satisfaction_scores"] > 20 and 0.8 <= k["satisfaction_rate"] <= 0.9, k
    assert 0 < k["reply_on_time_rate"] < 1 and k["replies_due"] > 0, k
    assert k["follow_ups_due"] > 0 and k["follow_up_rate"] is not None, k
    assert k["overdue_cases"] > 0 and k["nps"] is not None and k["referral_share"] is not None, k


async def test_the_demo_story_is_whole_and_loads_once(database, settings, frozen):
    assert await load_demo_data() is True
    before = await _counts()

    # The spring program ("三月至五月") has its sessions in March to May of next spring.
    program = await Program.select(Program.id, Program.title_zh, Program.body_zh).first()
    assert "三月至五月" in program["body_zh"] and program["title_zh"].startswith("2027")
    sessions = await Event.select(Event.starts_at).where(Event.program == program["id"])
    assert len(sessions) == 3 and all(3 <= s["starts_at"].astimezone(NOW.tzinfo).month <= 5 for s in sessions), sessions

    # 张伟: a balance from referrals, events and merchants; some still vesting; some from last
    # year that expires at the end of this one.
    zhang = await Member.select(Member.id).where(Member.phone == f"+86{DEMO_OWNER_PHONE}").first()
    balance = await points.balance(zhang["id"])
    assert balance.available > 0 and balance.pending > 0, balance
    sources = {row["source_kind"] for row in await LedgerEntry.select(LedgerEntry.source_kind).where(LedgerEntry.member == zhang["id"])}
    assert {"referral", "event"} <= sources and any(source.startswith("merchant") or source == "sale" for source in sources), sources
    expiring = await PointsLot.select(PointsLot.remaining).where(
        (PointsLot.member == zhang["id"]) & (PointsLot.status == "available") & (PointsLot.expires_on == date(TODAY.year, 12, 31))
        & (PointsLot.remaining > 0)
    )
    assert expiring, "points earned last year, expiring at the end of this year"

    # Leads in every stage, handled by both sales staff.
    assert {row["stage"] for row in await Lead.select(Lead.stage)} == {"registered", "visited", "subscribed", "signed", "cancelled"}
    sellers = {row["actor_id"] for row in await LeadStageChange.select(LeadStageChange.actor_id).where(LeadStageChange.actor_kind == "staff")}
    assert len(sellers) == len([u for u, (role, _, _) in DEMO_STAFF.items() if role == "sales"]) == 2

    # Care: cases in every state, some overdue; surveys answered; messages sent and waiting.
    assert {row["status"] for row in await Case.select(Case.status)} == {"open", "in_progress", "resolved", "followed_up"}
    assert await Survey.count().where(Survey.answered_at.is_not_null()) > 20
    outbox = Counter(row["status"] for row in await OutboxMessage.select(OutboxMessage.status))
    assert outbox["sent"] > 0 and outbox["queued"] > 0, outbox

    # The baking class: 11 of 12 seats taken, two families on the waitlist; the seminar charges fees.
    baking = await Event.select(Event.id, Event.seats_taken, Event.capacity).where(Event.title_zh == "亲子烘焙课").first()
    assert (baking["seats_taken"], baking["capacity"]) == (11, 12)
    assert await Signup.count().where((Signup.event == baking["id"]) & (Signup.status == "waitlisted")) == 2
    assert await Event.exists().where((Event.kind == "decoration_seminar") & (Event.fee_blue_fen > 0))

    # The referral board's 已签约 column (every signed lead) is the dashboard's signed count over
    # a range holding every signing; this year's range leaves out those signed before it.
    board_signed = await Lead.count().where(Lead.stage == "signed")
    async with staff_client(database, settings, "boss", "admin") as admin:
        ever = ok(await admin.get(f"{BASE}/referrals", params={"start": "2020-01-01", "end": TODAY.isoformat()}))["totals"]
        this_year = ok(await admin.get(f"{BASE}/referrals", params={"start": f"{TODAY.year}-01-01", "end": TODAY.isoformat()}))["totals"]
    signed_before = await Lead.count().where((Lead.stage == "signed") & (Lead.signed_at < local(date(TODAY.year, 1, 1), 0)))
    assert ever["signed"] == board_signed and this_year["signed"] == board_signed - signed_before and signed_before > 0

    # Vesting happened in the replayed history, on each lot's day, not at load time.
    vests = await LedgerEntry.select(LedgerEntry.created_at, LedgerEntry.lot).where(LedgerEntry.kind == "vest")
    assert vests and all(v["created_at"] < NOW - timedelta(hours=6) for v in vests), vests
    due = {lot["id"]: lot["vests_on"] for lot in await PointsLot.select(PointsLot.id, PointsLot.vests_on)}
    assert all(v["created_at"].astimezone(NOW.tzinfo).date() == due[v["lot"]] for v in vests)

    # The replayed past's messages were delivered in the replay: what is queued is due from now on.
    late = await OutboxMessage.select(OutboxMessage.kind, OutboxMessage.scheduled_at).where(
        (OutboxMessage.status == "queued") & (OutboxMessage.scheduled_at < NOW - timedelta(days=1))
    )
    assert late == [], late
    assert not await OutboxMessage.exists().where((OutboxMessage.status == "sent") & (OutboxMessage.sent_at >= NOW - timedelta(minutes=1)))

    # Owners write in one language: their case titles and texts are Chinese only.
    for case in await Case.select(Case.title, Case.text):
        assert not any(word.isascii() and word.isalpha() and len(word) > 2 for word in " ".join(case.values()).split()), case

    # A second start finds the demo and changes nothing.
    assert await load_demo_data() is False
    assert await _counts() == before


def test_the_spring_program_falls_in_march_to_may_whatever_the_day():
    for today in (date(2026, 1, 10), date(2026, 4, 20), date(2026, 5, 31), date(2026, 6, 1), date(2026, 12, 31)):
        days = spring_sessions(today)
        year = today.year if today.month < 6 else today.year + 1
        assert [d.month for d in days] == [3, 4, 5] and {d.year for d in days} == {year}
        assert all(d.weekday() == 5 for d in days)


def test_festival_gatherings_are_on_the_lunar_dates():
    found = dict((f"{key}{day.year}", day) for key, day in festival_dates(TODAY))
    assert found["mid_autumn2025"] == date(2025, 10, 6)  # 中秋 2025
    assert found["mid_autumn2026"] == date(2026, 9, 25)  # 中秋 2026
    assert found["lantern2026"] == date(2026, 3, 3)  # 元宵 2026
