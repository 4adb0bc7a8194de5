"""Every table that holds data about members, with how the owner gets it in their export and
what an erasure does to its rows. A new table tied to members (a foreign key to `Member` or to
a table listed here, a `member` id column, a `phone` column) must be added here, or the test
tests/privacy/test_inventory.py fails: nobody can add personal data the owner cannot see.

`exported_as` names the kinds of the export (keys of data.json, names of the CSV files) that
carry the table's rows; a table not exported says why in `not_exported_because`.
"""

from __future__ import annotations

from dataclasses import dataclass

from piccolo.columns import Integer
from piccolo.table import Table

from loyalty.audit.tables import AuditEntry
from loyalty.cards.tables import Card, TierAssignment, TierChange, TypedCode
from loyalty.care.tables import (
    Case, CaseMessage, CasePhoto, ChannelChoice, DeliveryAttempt, OptOut, OutboxMessage, Repair, ReturnVisit, Survey,
)
from loyalty.events.tables import Payment, Scan, Signup
from loyalty.identity.tables import LoginCode, WechatBinding
from loyalty.members.tables import Member, OwnerImport, Ownership, Project, Unit
from loyalty.merchants.tables import Sale, SaleReversal
from loyalty.points.tables import LedgerEntry, LotDraw, PointsAccount, PointsAdjustmentRequest, PointsLot
from loyalty.referrals.tables import Lead, LeadStageChange, OfficeVisit, ReferralAttempt
from loyalty.rewards.tables import Redemption


@dataclass(frozen=True)
class Holding:
    table: type[Table]
    exported_as: tuple[str, ...]
    on_erasure: str
    not_exported_because: str = ""


HOLDINGS: tuple[Holding, ...] = (
    Holding(Member, ("member",), "anonymised: name → 已注销用户 #id / Erased member #id, phone → erased:<id>, e-mail, birthday, gender, "
            "language, tags and notes reset; erased_at set (sessions stop working)"),
    Holding(Ownership, ("ownerships",), "kept with its dates (the month's new buyers stay right); an active one "
            "becomes `erased`, so the member is nobody's owner any more and gets no new card"),
    Holding(Unit, ("units",), "kept: the developer's record of the home, nothing about the person"),
    Holding(Project, ("projects",), "kept: the development, nothing about the person"),
    Holding(Card, ("cards",), "the current card becomes `replaced`: every code printed or shown for it stops verifying"),
    Holding(TypedCode, (), "deleted: the digits stop paying at once (the card they were for is replaced as well)",
            not_exported_because="one-time payment codes: while alive, typing the digits at a till pays with the "
            "owner's points (secrets, as login codes); forgotten a day after they expire; the card is exported"),
    Holding(TierAssignment, ("tier_assignments",), "reason redacted; an assignment still in force is revoked"),
    Holding(TierChange, ("tier_history",), "kept: tiers, dates and causes only"),
    Holding(PointsAccount, ("points_account",), "kept; brought to zero by the forfeit entry (a debt stays visible)"),
    Holding(LedgerEntry, ("points_ledger",), "kept with every amount; the owner's name, phone and e-mail are "
            "scrubbed from reasons; one `adjust` entry (source `erasure`) forfeits what was left"),
    Holding(PointsLot, ("points_lots",), "kept; emptied by the forfeit (available drawn, pending voided)"),
    Holding(PointsAdjustmentRequest, ("points_adjustment_requests",), "kept with amounts and decisions; a pending one "
            "is rejected (nothing may be credited to an erased owner); the owner's name, phone and e-mail scrubbed "
            "from reasons"),
    Holding(LotDraw, (), "kept: ids and amounts only",
            not_exported_because="bookkeeping between ledger entries and lots (ids and amounts), both exported"),
    Holding(Lead, ("referrals_made", "referrals_about_me"), "leads about the owner: name and phone anonymised and, "
            "if still open, cancelled; leads the owner referred: still open ones cancelled (an erased referrer "
            "earns nothing more), the friend's own data stays with the developer's sales"),
    Holding(LeadStageChange, ("referral_stage_changes",), "kept; the owner's name, phone and e-mail scrubbed from notes"),
    Holding(OfficeVisit, ("sales_office_visits",), "the phone is replaced by erased:<id>"),
    Holding(ReferralAttempt, ("referral_attempts",), "attempts to refer the owner: the phone is replaced by "
            "erased:<id>; attempts the owner made: kept (the friends' phones stay with the developer's sales, as "
            "on leads)"),
    Holding(Sale, ("merchant_sales",), "kept as is: amounts, tier and card id (settlements must not change)"),
    Holding(SaleReversal, ("merchant_sale_reversals",), "kept with amounts; identity scrubbed from reasons"),
    Holding(Payment, ("event_payments",), "kept as is: amounts and Stripe ids (refunds and reconciliation)"),
    Holding(Signup, ("event_signups",), "kept with fees and refunds; a waitlist place is cancelled (it would "
            "otherwise be promoted to a seat for nobody)"),
    Holding(Scan, ("event_check_ins",), "kept: gate, time, result and the scanned code's hash (not exported: the "
            "code stops verifying with the replaced card)"),
    Holding(Redemption, ("reward_redemptions",), "kept with points and status; reservations not yet picked up are "
            "cancelled (stock back to the catalogue, points back through the ledger before the forfeit)"),
    Holding(OutboxMessage, ("messages",), "recipient → erased:<id>, subject, body, payload and error cleared; "
            "queued messages cancelled (`skipped`)"),
    Holding(DeliveryAttempt, ("message_deliveries",), "attempts at the owner's messages: recipient → erased:<id>, the "
            "provider's detail and receipt text cleared (they may quote the address); channel, outcome, codes, the "
            "provider's id and times kept (delivery statistics)"),
    Holding(OptOut, ("message_preferences",), "deleted (an erased owner gets no messages at all)"),
    Holding(ChannelChoice, ("message_channels",), "deleted (an erased owner gets no messages at all)"),
    Holding(WechatBinding, ("wechat_binding",), "deleted: the openid no longer logs anyone in nor receives messages; "
            "a later WeChat login with it is unbound, as a stranger's"),
    Holding(Case, ("care_cases",), "title, text, result and follow-up note redacted; clocks and status kept (KPIs)"),
    Holding(CaseMessage, ("care_case_messages",), "text redacted; author kind and time kept (reply-on-time KPI)"),
    Holding(CasePhoto, ("care_case_photos",), "deleted"),
    Holding(Survey, ("surveys",), "comment cleared; scores kept (satisfaction KPI)"),
    Holding(ReturnVisit, ("return_visits",), "visits not made yet deleted (nobody calls an erased owner); notes of the "
            "visits made cleared, outcome, score and times kept (visit-coverage KPI)"),
    Holding(Repair, ("repairs",), "description redacted; unit, item, contractor, states, times and rating kept (repair "
            "KPIs and the contractors' ratings)"),
    Holding(LoginCode, (), "deleted",
            not_exported_because="only keyed hashes of one-time codes: secrets, never exported"),
    Holding(OwnerImport, (), "nothing to erase: the uploaded file (owners' rows) is deleted when its import ends, "
            "and the error report keeps row numbers, columns and reasons that quote no cell",
            not_exported_because="staff's record of an uploaded file (counts and row numbers), about no one member; "
            "what the file brought in is exported as member, units and ownerships"),
    Holding(AuditEntry, ("audit_entries",), "kept (the record of what staff did); the owner's name, phone and "
            "e-mail scrubbed from reasons and data; the erasure itself is audited"),
)


def holding(table: type[Table]) -> Holding | None:
    return next((h for h in HOLDINGS if h.table is table), None)


# Integer columns that hold a member's id without a foreign key (the outbox, a lead's new owner).
_MEMBER_ID_COLUMNS = ("member", "member_id", "new_member", "referrer")
# Integer columns that hold another table's id under a name that is not that table's
# (a delivery attempt's `message` is an outbox message).
_ID_COLUMN_TABLES = {"message": OutboxMessage._meta.tablename}


def tied_tables(tables: list[type[Table]]) -> dict[type[Table], str]:
    """The tables among `tables` that hold data about members, each with why: a foreign key
    to `Member` or to a table already found (followed to any depth), an integer column named
    for a member (`member`, `new_member`, ...) or for a table already found (`signup`, `card`,
    ...: ids kept without a foreign key; `message` for the outbox), or a `phone` column (people
    are found by phone)."""
    found: dict[type[Table], str] = {Member: "the members themselves"}
    while True:
        before = len(found)
        for table in tables:
            if table in found:
                continue
            names = {t._meta.tablename: t for t in found}
            for column in table._meta.columns:
                target = getattr(column, "_foreign_key_meta", None)
                referenced = target.resolved_references if target is not None else None
                if referenced in found:
                    found[table] = f"{column._meta.name} → {referenced.__name__}"
                elif isinstance(column, Integer) and column._meta.name in _MEMBER_ID_COLUMNS:
                    found[table] = f"{column._meta.name} holds a member id"
                elif isinstance(column, Integer) and column._meta.name in names:
                    found[table] = f"{column._meta.name} holds a {names[column._meta.name].__name__} id"
                elif isinstance(column, Integer) and _ID_COLUMN_TABLES.get(column._meta.name) in names:
                    found[table] = f"{column._meta.name} holds a {names[_ID_COLUMN_TABLES[column._meta.name]].__name__} id"
                elif column._meta.name == "phone":
                    found[table] = "phone identifies a person"
                else:
                    continue
                break
        if len(found) == before:
            return found
