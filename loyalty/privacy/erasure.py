"""Erasing an owner on request (PIPL art. 47, 删除权): staff (admin or service) erase a member,
with a reason, audited.

The rules chosen, and why:

- **Identity goes, amounts stay.** Every personal field is overwritten (name → "已注销用户
  Erased member #id", phone → `erased:<id>`, which no normalised phone can equal; e-mail,
  birthday, tags, notes cleared), free texts about the person are redacted (case texts, replies, survey comments,
  message bodies and their delivery attempts' addresses and provider texts) or scrubbed of their
  name, phone, e-mail and WeChat openid (ledger reasons, lead notes, audit entries); photos,
  login codes, the WeChat binding (its openid logs nobody in any more), message preferences
  and channel choices, and the typed digits of payment codes are deleted. The rows of the ledger, the sales, the
  payments and the signups stay with their amounts and their member id, so `audit_ledger`,
  merchants' settlements and the dashboards give the same numbers as before.
  `inventory.HOLDINGS` says, table by table, what happens.
- **Points are forfeited, not kept.** The balance is a liability only while someone can spend
  it; an erased owner never can (no card, no login). Leaving it would overstate the liability
  until it expired a year or two later, with expiry notices to nobody. So one `adjust` entry
  (source `erasure`) books the available and pending points off through the points service:
  the ledger still sums to the account, the lots agree, and the entry says when and why. A
  debt (a negative balance from an `unlimited` clawback) is left for staff to see.
- **Referrals.** A lead about the owner (they were referred) is anonymised and, if still open,
  cancelled: the person it tracks is gone and must not sign into the erased row. Leads the owner
  referred that are still open are cancelled too (an erased referrer can earn nothing); both
  go through the referrals service, so rewards are taken back by its rules. The friends' own
  data stays with the developer's sales.
- **The membership ends.** The current card becomes `replaced` (every code of it stops
  verifying), active ownerships become `erased` (so no new card is issued and no greeting is
  queued), queued messages are cancelled, a waitlist place is given up, and the member's
  session cookies are refused (`identity.service.check_member_session`). A later import of
  the same phone creates a new member: the old row no longer has the phone.
- **Erasing twice is a 409** (`already-erased`, with when): the first erasure is final, and a
  second request is most likely a mistake staff should see, not silently succeed.
- **One transaction.** Everything, the audit entry included, commits together or not at all
  (the member row is locked first, so two erasures of one member run one after the other).

Seat-holding signups (pending payment, confirmed) stay as they are: a confirmed seat is a
purchase (refunds are the events context's business), and an unpaid hold ends by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import phonenumbers
from piccolo.columns import Column
from piccolo.table import Table

from loyalty import clock, db
from loyalty.audit import service as audit
from loyalty.audit.tables import AuditEntry
from loyalty.cards.tables import Card, TierAssignment, TypedCode
from loyalty.care.tables import (
    Case, CaseMessage, CasePhoto, ChannelChoice, DeliveryAttempt, OptOut, OutboxMessage, Repair, ReturnVisit, Survey,
)
from loyalty.errors import DomainError, NotFound
from loyalty.events.tables import Signup
from loyalty.i18n import LOCALES, Message, _, translate
from loyalty.identity.tables import LoginCode, WechatBinding
from loyalty.members.tables import Member, Ownership
from loyalty.merchants.tables import Sale, SaleReversal
from loyalty.points import approvals, service as points
from loyalty.rewards import service as rewards
from loyalty.points.tables import LedgerEntry, PointsAdjustmentRequest
from loyalty.privacy.schemas import ErasureReport
from loyalty.referrals import service as referrals
from loyalty.referrals.tables import Lead, LeadStageChange, OfficeVisit, ReferralAttempt

SCRUBBED = "***"
# Words written into records that stay (a redacted case, a lead's cancellation note, the name
# an erased member goes by): a record cannot know who opens it later, so it keeps every
# language, each rendered from the catalogue.
_ERASED = _("erased")
_CANCEL_NOTE = _("the member's data was erased")
_FORFEIT_REASON = _("forfeited: the member's data was erased")
_ERASED_NAME = _("Erased member #{member_id}")


def in_every_language(message: Message) -> str:
    """`已注销用户 #7 / Erased member #7`: the words in each locale, Chinese first."""
    return " / ".join(translate(message, locale) for locale in LOCALES)


def redacted() -> str:
    """What a removed free text (a case's title and text, a tier assignment's reason) reads."""
    return f"[{in_every_language(_ERASED)}]"


class AlreadyErased(DomainError):
    type = "already-erased"
    status = 409
    title = _("This member's data has already been erased")


def erased_name(member_id: int) -> str:
    """What staff lists, the card board and old leads call the member from now on."""
    return in_every_language(_ERASED_NAME.format(member_id=member_id))


def erased_phone(member_id: int) -> str:
    """Unique per member (the phone column is unique) and never a phone: no '+', so no
    normalised E.164 number from an import, a login or a referral can equal it."""
    return f"erased:{member_id}"


@dataclass(frozen=True)
class Identity:
    """The strings that name the person, to scrub from free texts that must stay."""

    strings: tuple[str, ...]

    @classmethod
    def of(cls, member: dict[str, Any], openid: str | None = None) -> Identity:
        found = [member["phone"], member["email"], openid]
        try:  # "+8613800138001" is also written "13800138001"
            found.append(str(phonenumbers.parse(member["phone"]).national_number))
        except phonenumbers.NumberParseException:
            pass
        name = (member["name"] or "").strip()
        if len(name) >= 2:  # a one-character name would scrub every word it is part of
            found.append(name)
        # Longest first: the national number is inside the E.164 form.
        return cls(tuple(sorted({s for s in found if s}, key=len, reverse=True)))

    def scrub(self, value: Any) -> Any:
        """`value` (text, or JSON made of dicts, lists and texts) without the person's strings."""
        if isinstance(value, str):
            for text in self.strings:
                value = value.replace(text, SCRUBBED)
            return value
        if isinstance(value, list):
            return [self.scrub(item) for item in value]
        if isinstance(value, dict):
            return {key: self.scrub(item) for key, item in value.items()}
        return value


async def _scrub(table: type[Table], columns: list[Column], where: Any, identity: Identity) -> int:
    """Scrub the person's strings from `columns` of the rows matching `where`; returns how
    many rows changed. Row by row: one person's rows are few."""
    if where is None:
        return 0
    key = table._meta.primary_key
    changed = 0
    for row in await table.select(key, *columns).where(where).output(load_json=True):
        values = {column: identity.scrub(row[column._meta.name]) for column in columns}
        values = {column: value for column, value in values.items() if value != row[column._meta.name]}
        if values:
            await table.update(values).where(key == row[key._meta.name])
            changed += 1
    return changed


def _among(column: Column, ids: list[int]) -> Any:
    return column.is_in(ids) if ids else None


async def _locked_member(member_id: int) -> dict[str, Any]:
    query = Member.select(Member.id, Member.name, Member.phone, Member.email, Member.erased_at).where(Member.id == member_id)
    if db.is_postgres():
        query = query.lock_rows()  # SQLite: the write transaction already runs alone
    member = await query.first()
    if member is None:
        raise NotFound(_("member {member_id} does not exist", member_id=member_id))
    if member["erased_at"] is not None:
        raise AlreadyErased(
            _("member {member_id} has already been erased", member_id=member_id),
            erased_at=member["erased_at"].isoformat(),
        )
    return member


async def erase_member(
    member_id: int, *, reason: str, staff_id: int, clawback_policy: str = "within_balance", now: datetime | None = None
) -> ErasureReport:
    """Erase the member's personal data, keep their amounts (module docstring). One
    transaction, audited; a second erasure of the same member raises AlreadyErased."""
    text = audit.required_reason(reason)
    now = now or clock.now()
    today = now.astimezone(clock.LOCAL_ZONE).date()
    async with db.transaction():
        member = await _locked_member(member_id)
        binding = await WechatBinding.select(WechatBinding.openid).where(WechatBinding.member == member_id).first()
        identity = Identity.of(member, binding["openid"] if binding else None)
        placeholder = erased_phone(member_id)
        counts: dict[str, int] = {}

        # Referrals first: cancelling takes rewards back through the ledger, before the forfeit.
        made = [row["id"] for row in await Lead.select(Lead.id).where(Lead.referrer == member_id)]
        about = [
            row["id"]
            for row in await Lead.select(Lead.id).where((Lead.new_member == member_id) | (Lead.phone == member["phone"]))
        ]
        still_open = await Lead.select(Lead.id).where(
            Lead.id.is_in([*made, *about] or [0]) & Lead.stage.not_in(["signed", "cancelled"])
        ).order_by(Lead.id)
        policy = referrals.Policy(clawback=clawback_policy)
        for lead in still_open:
            await referrals.move_lead(lead["id"], "cancelled", staff_id=staff_id, note=in_every_language(_CANCEL_NOTE), policy=policy, today=today)
        counts["leads_cancelled"] = len(still_open)

        # A large adjustment still waiting for approval would credit someone who can never spend it.
        await approvals.reject_pending_of(member_id, staff_id=staff_id, reason=in_every_language(_FORFEIT_REASON))
        # Reservations not yet picked up: stock back, points back through the ledger, before the forfeit.
        await rewards.erase_member(member_id, now)
        before = await points.balance(member_id, today)
        forfeited = await points.forfeit(
            member_id, key=f"erasure:member:{member_id}", reason=in_every_language(_FORFEIT_REASON), actor=points.Actor("staff", staff_id),
            today=today,
        )
        counts["points_forfeited"] = max(before.available, 0) if forfeited else 0
        counts["pending_points_forfeited"] = before.pending if forfeited else 0

        counts["leads_anonymised"] = len(about)
        if about:
            await Lead.update({Lead.name: erased_name(member_id), Lead.phone: placeholder}).where(Lead.id.is_in(about))
        leads = [*made, *about]
        scrubbed = await _scrub(Lead, [Lead.cancel_reason], _among(Lead.id, leads), identity)
        scrubbed += await _scrub(LeadStageChange, [LeadStageChange.note], _among(LeadStageChange.lead, leads), identity)
        visits = await OfficeVisit.update({OfficeVisit.phone: placeholder}).where(
            OfficeVisit.phone == member["phone"]
        ).returning(OfficeVisit.id)
        counts["office_visits_anonymised"] = len(visits)
        await ReferralAttempt.update({ReferralAttempt.phone: placeholder}).where(ReferralAttempt.phone == member["phone"])

        counts.update(await _end_messages(member_id, member, placeholder))
        counts.update(await _redact_care(member_id))
        counts.update(await _end_return_visits(member_id, about))
        counts["login_codes_deleted"] = len(
            await LoginCode.delete().where(LoginCode.phone == member["phone"]).returning(LoginCode.id)
        )
        counts["wechat_bindings_deleted"] = len(
            await WechatBinding.delete().where(WechatBinding.member == member_id).returning(WechatBinding.id)
        )
        counts.update(await _end_membership(member_id, now))

        scrubbed += await _scrub(LedgerEntry, [LedgerEntry.reason], LedgerEntry.member == member_id, identity)
        scrubbed += await _scrub(
            PointsAdjustmentRequest, [PointsAdjustmentRequest.reason, PointsAdjustmentRequest.decision_reason],
            PointsAdjustmentRequest.member == member_id, identity,
        )
        sales = [row["id"] for row in await Sale.select(Sale.id).where(Sale.member == member_id)]
        scrubbed += await _scrub(SaleReversal, [SaleReversal.reason], _among(SaleReversal.sale, sales), identity)
        scrubbed += await _scrub(AuditEntry, [AuditEntry.reason, AuditEntry.data], await _audit_about(member_id, leads), identity)
        counts["texts_scrubbed"] = scrubbed

        await Member.update(
            {
                Member.name: erased_name(member_id), Member.phone: placeholder, Member.email: "", Member.birthday: None,
                Member.gender: "unknown", Member.language: "zh-CN", Member.tags: [], Member.notes: "",
                Member.erased_at: now, Member.updated_at: now,
            }
        ).where(Member.id == member_id)
        report = ErasureReport(member_id=member_id, erased_at=now, name=erased_name(member_id), **counts)
        await audit.record(
            action="member.erase", subject_kind="member", subject_id=member_id, reason=identity.scrub(text),
            actor_id=staff_id, data=_counts(report),
        )
    return report


def _counts(report: ErasureReport) -> dict[str, int]:
    """The report's counts, for the audit entry (nothing personal)."""
    return {
        name: getattr(report, name)
        for name in report.__struct_fields__
        if name != "member_id" and isinstance(getattr(report, name), int)
    }


async def _end_messages(member_id: int, member: dict[str, Any], placeholder: str) -> dict[str, int]:
    """Every message to the person loses its text and address; those not yet sent never will be."""
    contacts = [member["phone"], *([member["email"]] if member["email"] else [])]
    to_them = (OutboxMessage.member == member_id) | OutboxMessage.recipient.is_in(contacts)
    cancelled = await OutboxMessage.update(
        {OutboxMessage.status: "skipped"}
    ).where(to_them & OutboxMessage.status.is_in(["queued", "sending"])).returning(OutboxMessage.id)
    redacted = await OutboxMessage.update(
        {
            OutboxMessage.recipient: placeholder, OutboxMessage.subject: "", OutboxMessage.body: "",
            OutboxMessage.payload: {}, OutboxMessage.error: "",
        }
    ).where(to_them).returning(OutboxMessage.id)
    # Each try at those messages named the address, and a provider's answer may quote it.
    attempts = []
    if redacted:
        attempts = await DeliveryAttempt.update(
            {DeliveryAttempt.recipient: placeholder, DeliveryAttempt.detail: "", DeliveryAttempt.receipt_detail: ""}
        ).where(DeliveryAttempt.message.is_in([row["id"] for row in redacted])).returning(DeliveryAttempt.id)
    choices = await ChannelChoice.delete().where(ChannelChoice.member == member_id).returning(ChannelChoice.id)
    return {
        "messages_redacted": len(redacted), "messages_cancelled": len(cancelled), "delivery_attempts_redacted": len(attempts),
        "channel_choices_deleted": len(choices),
    }


async def _redact_care(member_id: int) -> dict[str, int]:
    cases = [row["id"] for row in await Case.select(Case.id).where(Case.member == member_id)]
    counts = {"cases_redacted": len(cases), "case_messages_redacted": 0, "photos_deleted": 0}
    if cases:
        await Case.update(
            {Case.title: redacted(), Case.text: redacted(), Case.result: "", Case.follow_up_note: ""}
        ).where(Case.id.is_in(cases))
        messages = await CaseMessage.update({CaseMessage.text: redacted()}).where(CaseMessage.case.is_in(cases)).returning(
            CaseMessage.id
        )
        photos = await CasePhoto.delete().where(CasePhoto.case.is_in(cases)).returning(CasePhoto.id)
        counts.update(case_messages_redacted=len(messages), photos_deleted=len(photos))
    surveys = await Survey.update({Survey.comment: ""}).where((Survey.member == member_id) & (Survey.comment != "")).returning(
        Survey.id
    )
    opt_outs = await OptOut.delete().where(OptOut.member == member_id).returning(OptOut.id)
    # A repair's description may say anything about the home; the item, states, times and rating stay (repair KPIs,
    # contractors' ratings).
    repairs = await Repair.update({Repair.description: redacted()}).where(Repair.member == member_id).returning(Repair.id)
    return {**counts, "surveys_cleared": len(surveys), "opt_outs_deleted": len(opt_outs), "repairs_redacted": len(repairs)}


async def _end_return_visits(member_id: int, leads_about: list[int]) -> dict[str, int]:
    # Calls not made yet are dropped (nobody may call an erased owner); the notes of calls made
    # are cleared, their outcome, score and time kept (the visit-coverage KPI).
    theirs = (ReturnVisit.member == member_id) | ReturnVisit.lead.is_in(leads_about or [0])
    dropped = await ReturnVisit.delete().where(theirs & (ReturnVisit.status == "open")).returning(ReturnVisit.id)
    cleared = await ReturnVisit.update({ReturnVisit.notes: ""}).where(theirs).returning(ReturnVisit.id)
    return {"return_visits_dropped": len(dropped), "return_visits_cleared": len(cleared)}


async def _end_membership(member_id: int, now: datetime) -> dict[str, int]:
    cards = await Card.update(
        {Card.status: "replaced", Card.replaced_at: now, Card.status_reason: "会员已注销 member erased"}
    ).where((Card.member == member_id) & (Card.status != "replaced")).returning(Card.id)
    every_card = [row["id"] for row in await Card.select(Card.id).where(Card.member == member_id)]
    typed = []  # the digits shown under the card's QR codes: they would pay until they expire
    if every_card:
        typed = await TypedCode.delete().where(TypedCode.card.is_in(every_card)).returning(TypedCode.id)
    await TierAssignment.update({TierAssignment.reason: redacted()}).where(TierAssignment.member == member_id)
    await TierAssignment.update({TierAssignment.revoked_at: now}).where(
        (TierAssignment.member == member_id) & TierAssignment.revoked_at.is_null()
    )
    ownerships = await Ownership.update({Ownership.status: "erased"}).where(
        (Ownership.member == member_id) & (Ownership.status == "active")
    ).returning(Ownership.id)
    waitlist = await Signup.update(
        {Signup.status: "cancelled", Signup.cancelled_at: now, Signup.cancel_reason: "erased"}
    ).where((Signup.member == member_id) & (Signup.status == "waitlisted")).returning(Signup.id)
    return {
        "cards_revoked": len(cards), "typed_codes_deleted": len(typed), "ownerships_closed": len(ownerships),
        "waitlist_places_cancelled": len(waitlist),
    }


async def _audit_about(member_id: int, lead_ids: list[int]) -> Any:
    """The audit entries about the person: their profile, cards, cases and leads."""
    about = (AuditEntry.subject_kind == "member") & (AuditEntry.subject_id == member_id)
    cards = [row["id"] for row in await Card.select(Card.id).where(Card.member == member_id)]
    cases = [row["id"] for row in await Case.select(Case.id).where(Case.member == member_id)]
    for kind, ids in (("card", cards), ("case", cases), ("lead", lead_ids)):
        if ids:
            about |= (AuditEntry.subject_kind == kind) & AuditEntry.subject_id.is_in(ids)
    return about
