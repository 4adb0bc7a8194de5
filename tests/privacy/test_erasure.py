"""Staff erase an owner on request (PIPL art. 47): `POST /api/v1/staff/members/{id}/erasure`.
Identity goes (no string that named the person is left anywhere in the database), amounts stay
(the ledger, sales, settlements, payments, signups and dashboards keep their numbers), the
membership ends (codes, sessions, messages), audited, all or nothing, and only once."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import date
from typing import Any, AsyncIterator

import httpx
import pytest

from loyalty import db
from loyalty.app import create_app
from loyalty.audit.tables import AuditEntry
from loyalty.cards import service as cards
from loyalty.cards.service import CardReplaced
from loyalty.cards.codes import CodeNumberUnknown
from loyalty.cards.tables import Card, TierAssignment, TypedCode
from loyalty.care.tables import Case, CaseMessage, CasePhoto, ChannelChoice, DeliveryAttempt, OptOut, OutboxMessage, Survey
from loyalty.dashboards import service as dashboards
from loyalty.events.tables import Payment, Signup
from loyalty.identity import wechat
from loyalty.identity.tables import LoginCode, WechatBinding
from loyalty.members.tables import Member, Ownership
from loyalty.merchants import service as merchants
from loyalty.merchants import settlement
from loyalty.merchants.tables import Sale, SaleReversal
from loyalty.points import service as points
from loyalty.points.tables import LedgerEntry, PointsAdjustmentRequest, PointsLot
from loyalty.privacy import erasure
from loyalty.referrals.tables import Lead, OfficeVisit
from loyalty.rewards.tables import Redemption
from tests.events.builders import NOW, STAFF_PASSWORD, member_client
from tests.privacy.builders import (
    MY_E164, MY_OPENID, MY_PHONE, MY_STRINGS, NEIGHBOUR_PHONE, World, every_text, import_owners, member_of,
)

REASON = "业主书面申请删除个人信息（2026-06-10）"
AMOUNTS = {
    "sale": ("gross_fen", "discount_fen", "points_redeemed", "points_value_fen", "points_earned", "cash_fen", "reversed_fen", "balance_after"),
    "reversal": ("amount_fen", "discount_fen", "points_returned", "points_value_fen", "points_removed", "balance_after"),
    "ledger": ("member", "kind", "available_delta", "pending_delta", "source_kind", "source_id", "available_after", "pending_after"),
}


def erasure_of(member: int) -> str:
    return f"/api/v1/staff/members/{member}/erasure"


@contextlib.asynccontextmanager
async def staff_client(database: Any, settings: Any, role: str) -> AsyncIterator[httpx.AsyncClient]:
    """The world's staff member of `role` (username `<role>1`), logged in."""
    app = create_app(settings, engine=database.engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        response = await http.post("/api/v1/auth/staff-sessions", json={"username": f"{role}1", "password": STAFF_PASSWORD})
        assert response.status_code == 201, response.text
        yield http


async def rows(table: Any, columns: tuple[str, ...] | None = None, **where: Any) -> list[tuple]:
    query = table.select().order_by(table.id)
    for name, value in where.items():
        query = query.where(getattr(table, name) == value)
    return [tuple(row[c] for c in (columns or tuple(row))) for row in await query]


async def every_row() -> dict[str, list[dict[str, Any]]]:
    """The whole database, table by table (for 'nothing changed')."""
    return {t._meta.tablename: await t.select().order_by(t._meta.primary_key) for t in db.all_tables()}


async def test_erasure_leaves_no_trace_of_the_person_and_keeps_every_amount(database, settings, world: World, signer):
    async with member_client(database, settings, MY_PHONE) as me:  # a login code and a session
        assert (await me.get("/api/v1/me")).status_code == 200
    ctx = await merchants.authenticate(merchants.key_digest(world.shop.key))
    ledger_before = await rows(LedgerEntry, AMOUNTS["ledger"])
    entry_ids_before = {row[0] for row in await rows(LedgerEntry, ("id",))}
    sales_before = await rows(Sale, AMOUNTS["sale"])
    reversals_before = await rows(SaleReversal, AMOUNTS["reversal"])
    payments_before = await rows(Payment)
    fees_before = await rows(Signup, ("id", "event", "member", "party_size", "fee_fen", "refund_fen", "checked_in_at"))
    settlement_before = await settlement.settlement(ctx, "2026-06")
    sales_board_before = await dashboards.merchant_sales(date(2026, 6, 1), date(2026, 6, 30))
    events_board_before = await dashboards.event_attendance(date(2026, 6, 1), date(2026, 6, 30))
    funnel_before = await dashboards.referral_funnel(date(2019, 1, 1), date(2026, 12, 31))
    balance_before = await points.balance(world.me)
    # Points held by a reward not yet picked up come back first (the reservation is cancelled), then go with the rest.
    held = sum(r["points"] for r in await Redemption.select().where(Redemption.member == world.me) if r["status"] == "reserved")
    neighbour_balance = await points.balance(world.neighbour)
    assert balance_before.available > 0 and await Case.count() == 2
    texts = [text for *_, text in await every_text()]
    assert [s for s in MY_STRINGS if not any(s in text for text in texts)] == [], "the scan below finds each string"

    async with staff_client(database, settings, "service") as service:
        response = await service.post(erasure_of(world.me), json={"reason": REASON})

    assert response.status_code == 201, response.text
    report = response.json()
    assert report["name"] == erasure.erased_name(world.me) and report["points_forfeited"] == balance_before.available + held
    assert report["cards_revoked"] == 1 and report["photos_deleted"] == 1 and report["login_codes_deleted"] >= 1
    assert report["leads_cancelled"] == 1 and report["leads_anonymised"] == 1 and report["waitlist_places_cancelled"] == 1
    assert report["messages_cancelled"] == 2 and report["delivery_attempts_redacted"] >= 1
    assert (report["wechat_bindings_deleted"], report["channel_choices_deleted"]) == (1, 1) and report["typed_codes_deleted"] >= 1

    # Identity goes: not one string that named me is left, in any column of any table.
    left = [(table, column, text) for table, column, text in await every_text() if any(s in text for s in MY_STRINGS)]
    assert left == [], f"the erased owner is still named in: {left}"
    member = await Member.select().where(Member.id == world.me).output(load_json=True).first()
    assert (member["name"], member["phone"], member["email"], member["birthday"]) == (
        erasure.erased_name(world.me), f"erased:{world.me}", "", None
    )
    assert (member["tags"], member["notes"], member["gender"], member["erased_at"] is not None) == ([], "", "unknown", True)
    assert await LoginCode.count().where(LoginCode.phone == MY_E164) == 0
    assert await CasePhoto.count() == 1, "only the neighbour's photo is left"
    assert await OptOut.count().where(OptOut.member == world.me) == 0
    case = await Case.select().where(Case.id == world.case_id).first()
    # A record cannot know who reads it later: the marks an erasure leaves are in both languages.
    assert erasure.redacted() == "[已删除 / erased]"
    assert erasure.erased_name(world.me) == f"已注销用户 #{world.me} / Erased member #{world.me}"
    assert (case["title"], case["text"], case["result"], case["status"]) == (erasure.redacted(), erasure.redacted(), "", "resolved")
    assert {m["text"] for m in await CaseMessage.select().where(CaseMessage.case == world.case_id)} == {erasure.redacted()}
    assert [s["satisfaction"] for s in await Survey.select().where(Survey.member == world.me)] == [4], "scores stay for the KPIs"
    from loyalty.care.tables import ReturnVisit

    made = await ReturnVisit.select().where((ReturnVisit.member == world.me) & (ReturnVisit.status == "done"))
    assert [(v["outcome"], v["satisfaction"], v["notes"]) for v in made] == [("reached", 5, "")], "outcome and score stay"
    assert not await ReturnVisit.exists().where((ReturnVisit.member == world.me) & (ReturnVisit.status == "open"))
    to_me = await OutboxMessage.select().where(OutboxMessage.recipient == f"erased:{world.me}")
    assert to_me and {(m["body"], m["subject"]) for m in to_me} == {("", "")}
    assert not {m["status"] for m in to_me} & {"queued", "sending"}, "nothing is sent to an erased owner"
    tries = await DeliveryAttempt.select().where(DeliveryAttempt.message.is_in([m["id"] for m in to_me]))
    assert tries and {(t["recipient"], t["detail"], t["receipt_detail"]) for t in tries} == {(f"erased:{world.me}", "", "")}
    assert {t["outcome"] for t in tries} == {"sent"}, "what became of each try stays (delivery statistics)"
    assert await ChannelChoice.count().where(ChannelChoice.member == world.me) == 0
    # My WeChat logs nobody in any more: a login with it is a stranger's, to be bound anew.
    assert await WechatBinding.count().where(WechatBinding.member == world.me) == 0
    assert await wechat.member_for_openid(MY_OPENID) is None
    lead = await Lead.select().where(Lead.id == world.lead_about_me).first()
    assert (lead["name"], lead["phone"], lead["stage"]) == (erasure.erased_name(world.me), f"erased:{world.me}", "signed")
    assert (await Lead.select(Lead.stage).where(Lead.id == world.friend_lead).first())["stage"] == "cancelled"
    assert await OfficeVisit.count().where(OfficeVisit.phone == f"erased:{world.me}") == 1
    # A large adjustment still waiting for approval can never credit the erased owner.
    requests = await PointsAdjustmentRequest.select().where(PointsAdjustmentRequest.member == world.me)
    assert [r["status"] for r in requests] == ["rejected"] and (await points.balance(world.me)).available == 0
    assert held and {r["status"] for r in await Redemption.select().where(Redemption.member == world.me)} == {"cancelled"}

    # The membership ends: no card in force, no owner, no waitlist place, no tier assignment.
    assert await Card.count().where((Card.member == world.me) & (Card.status != "replaced")) == 0
    assert {o["status"] for o in await Ownership.select().where(Ownership.member == world.me)} == {"erased"}
    assert await TierAssignment.count().where((TierAssignment.member == world.me) & TierAssignment.revoked_at.is_null()) == 0
    assert (await Signup.select(Signup.status).where(
        (Signup.member == world.me) & (Signup.event == world.waitlist_event_id)
    ).first())["status"] == "cancelled"
    with pytest.raises(CardReplaced):
        await cards.verify_code(await _old_static_code(world.me, signer), signer, time.time())
    my_cards = [row["id"] for row in await Card.select(Card.id).where(Card.member == world.me)]
    assert await TypedCode.count().where(TypedCode.card.is_in(my_cards)) == 0
    with pytest.raises(CodeNumberUnknown):  # the digits under my last QR code pay nothing
        await cards.expand_typed_code(world.typed_digits, signer)

    # Amounts stay: every earlier entry, sale, return and payment as it was; one forfeit entry more.
    new_entries = await LedgerEntry.select().where(LedgerEntry.id.not_in(list(entry_ids_before))).order_by(LedgerEntry.id)
    assert await rows(LedgerEntry, AMOUNTS["ledger"]) == ledger_before + [
        tuple(e[c] for c in AMOUNTS["ledger"]) for e in new_entries
    ]
    returned, forfeit = new_entries  # the reward's points back (its reservation cancelled), then the forfeit
    assert (returned["kind"], returned["source_kind"], returned["available_delta"]) == ("reverse", "reward", held)
    assert (forfeit["kind"], forfeit["member"], forfeit["available_delta"], forfeit["pending_delta"]) == (
        "adjust", world.me, -balance_before.available - held, -balance_before.pending
    )
    assert (await points.balance(world.me)).available == 0 and await points.balance(world.neighbour) == neighbour_balance
    assert await PointsLot.count().where((PointsLot.member == world.me) & (PointsLot.remaining > 0)) == 0
    assert await points.audit_ledger() == []
    assert await rows(Sale, AMOUNTS["sale"]) == sales_before
    assert await rows(SaleReversal, AMOUNTS["reversal"]) == reversals_before
    assert await rows(Payment) == payments_before
    assert await rows(Signup, ("id", "event", "member", "party_size", "fee_fen", "refund_fen", "checked_in_at")) == fees_before
    assert await settlement.settlement(ctx, "2026-06") == settlement_before
    assert await dashboards.merchant_sales(date(2026, 6, 1), date(2026, 6, 30)) == sales_board_before
    assert await dashboards.event_attendance(date(2026, 6, 1), date(2026, 6, 30)) == events_board_before
    funnel_after = await dashboards.referral_funnel(date(2019, 1, 1), date(2026, 12, 31))
    assert [(r.month, r.registered, r.visited, r.signed, r.new_buyers) for r in funnel_after.rows] == [
        (r.month, r.registered, r.visited, r.signed, r.new_buyers) for r in funnel_before.rows
    ]

    # Audited: who, why, what it changed (by count, nothing personal).
    (entry,) = await AuditEntry.select().where(AuditEntry.action == "member.erase").output(load_json=True)
    assert (entry["subject_kind"], entry["subject_id"], entry["actor_kind"], entry["actor_id"], entry["reason"]) == (
        "member", world.me, "staff", world.staff["service"], REASON
    )
    assert entry["data"]["points_forfeited"] == balance_before.available + held


async def _old_static_code(member: int, signer: Any) -> str:
    """The code printed on the member's last card (before it was revoked)."""
    card = await Card.select(Card.id).where(Card.member == member).order_by(Card.id, ascending=False).first()
    return signer.sign("static", card["id"])


async def test_only_admin_and_service_may_erase_an_owner(database, settings, world: World):
    for role in ("sales", "event_staff"):
        async with staff_client(database, settings, role) as http:
            refused = await http.post(erasure_of(world.me), json={"reason": REASON})
        assert refused.status_code == 403, (role, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings, engine=database.engine)), base_url="http://testserver"
    ) as anonymous:
        assert (await anonymous.post(erasure_of(world.me), json={"reason": REASON})).status_code == 401
    assert (await Member.select(Member.erased_at).where(Member.id == world.me).first())["erased_at"] is None

    async with staff_client(database, settings, "admin") as admin:
        assert (await admin.post(erasure_of(world.neighbour), json={"reason": REASON})).status_code == 201
    async with staff_client(database, settings, "service") as service:
        assert (await service.post(erasure_of(world.me), json={"reason": REASON})).status_code == 201


async def test_an_erased_owners_session_is_refused(database, settings, world: World):
    async with member_client(database, settings, MY_PHONE) as me:
        assert (await me.get("/api/v1/me/card")).status_code == 200
        await erasure.erase_member(world.me, reason=REASON, staff_id=world.staff["service"])

        for path in ("/api/v1/me", "/api/v1/me/card", "/api/v1/me/points", "/api/v1/me/data-export", "/api/v1/me/cases"):
            refused = await me.get(path)
            assert refused.status_code == 401, (path, refused.text)
            assert refused.json()["type"] == "/problems/not-authenticated"
        # Nor can the old phone log in again: it belongs to nobody now.
        await me.post("/api/v1/auth/login-codes", json={"phone": MY_E164})
    assert await LoginCode.count().where(LoginCode.phone == MY_E164) == 1
    assert await OutboxMessage.count().where(OutboxMessage.recipient == MY_E164) == 0


async def test_erasing_twice_is_a_409_that_changes_nothing(database, settings, world: World):
    await erasure.erase_member(world.me, reason=REASON, staff_id=world.staff["service"])

    async with staff_client(database, settings, "admin") as admin:
        before = await every_row()  # after the login, which notes the staff member's last login
        again = await admin.post(erasure_of(world.me), json={"reason": "再次申请"})
        unknown = await admin.post(erasure_of(999_999), json={"reason": REASON})
        no_reason = await admin.post(erasure_of(world.neighbour), json={"reason": " "})

    assert again.status_code == 409 and again.json()["type"] == "/problems/already-erased", again.text
    assert again.json()["erased_at"]
    assert unknown.status_code == 404
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    assert await every_row() == before


@pytest.mark.postgres_only
async def test_two_erasures_of_one_owner_at_once_erase_once(database, world: World):
    results = await asyncio.gather(
        *(erasure.erase_member(world.me, reason=REASON, staff_id=world.staff[role]) for role in ("service", "admin")),
        return_exceptions=True,
    )

    assert sorted(type(result).__name__ for result in results) == ["AlreadyErased", "ErasureReport"], results
    assert await LedgerEntry.count().where(LedgerEntry.source_kind == "erasure") == 1
    assert await AuditEntry.count().where(AuditEntry.action == "member.erase") == 1


async def test_a_failure_midway_leaves_nothing_half_erased(database, settings, world: World, monkeypatch):
    before = await every_row()

    async def fails(*_: Any, **__: Any) -> None:
        raise RuntimeError("the database went away midway")

    # The membership ends late in the erasure, after the points, leads, messages and cases.
    monkeypatch.setattr(erasure, "_end_membership", fails)
    with pytest.raises(RuntimeError):
        await erasure.erase_member(world.me, reason=REASON, staff_id=world.staff["service"])

    assert await every_row() == before


async def test_the_old_phone_imports_as_a_new_member_and_the_erased_row_stays_anonymous(database, settings, world: World, tmp_path):
    await erasure.erase_member(world.me, reason=REASON, staff_id=world.staff["service"])

    await import_owners(tmp_path, [{"name": "新业主", "phone": MY_PHONE, "room": "0101", "contract_date": "2026-05-01"}])

    newcomer = await member_of(MY_PHONE)
    assert newcomer != world.me
    old = await Member.select(Member.name, Member.phone).where(Member.id == world.me).first()
    assert old == {"name": erasure.erased_name(world.me), "phone": f"erased:{world.me}"}
    assert await Card.count().where((Card.member == world.me) & (Card.status != "replaced")) == 0
    assert await Card.count().where((Card.member == newcomer) & (Card.status == "active")) == 1
    assert await member_of(NEIGHBOUR_PHONE) == world.neighbour
