"""An owner's copy of everything held about them (PIPL art. 45): one zip with data.json (an
object with a key per kind of data), one CSV per kind (UTF-8 with a BOM, as the dashboards'
CSVs, so Excel shows the Chinese; its columns are named as data.json's keys), the photos of their
care cases as files, and a README.txt in the owner's language saying what each file is.

What is in it follows `inventory.HOLDINGS`; what never is: one-time login codes (only their
hashes are kept; secrets), login codes inside old SMS bodies, the typed digits of payment codes
(they pay while alive), payment client secrets, merchants' API keys, the hashes of codes scanned
at event doors, and internal idempotency keys and request hashes. Other people's data stays
out: a lead the owner referred shows the friend's name and phone the owner gave, nothing else
about other members; staff appear by id only.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Sequence

from piccolo.columns import Column
from piccolo.table import Table

from loyalty import clock
from loyalty.audit.tables import AuditEntry
from loyalty.cards.tables import Card, TierAssignment, TierChange
from loyalty.care.tables import (
    Case, CaseMessage, CasePhoto, ChannelChoice, DeliveryAttempt, OptOut, OutboxMessage, Repair, ReturnVisit, Survey,
)
from loyalty.errors import NotFound
from loyalty.events.tables import Payment, Scan, Signup
from loyalty.exports import csv_text
from loyalty.i18n import DEFAULT_LOCALE, Message, _, _n, translate
from loyalty.i18n.format import datetime as local_datetime
from loyalty.identity.tables import WechatBinding
from loyalty.members.tables import Member, Ownership, Project, Unit
from loyalty.merchants.tables import Sale, SaleReversal, Store
from loyalty.points.tables import LedgerEntry, PointsAccount, PointsAdjustmentRequest, PointsLot
from loyalty.referrals.tables import Lead, LeadStageChange, OfficeVisit, ReferralAttempt
from loyalty.rewards.tables import Redemption

WITHHELD = _("(login code withheld)")
# Internal keys of the ledger, the tills and Stripe: not about the owner, and some are secrets.
_KEYS = ("idempotency_key", "request_hash")

# The kinds, in the order of the README: file name → what it holds, in the reader's words.
KINDS: dict[str, Message] = {
    "member": _("Your profile: name, phone, e-mail, birthday, tags, notes, stage"),
    "ownerships": _("The homes you own or owned: contract and delivery dates"),
    "units": _("Those homes: phase, building, room, area, price, warranty"),
    "projects": _("The developments those homes are in"),
    "cards": _("Your membership cards: number, tier, status"),
    "tier_assignments": _("Tiers given to you by staff"),
    "tier_history": _("Your tier history"),
    "points_account": _("Your points account: available and pending"),
    "points_ledger": _("Every change of your points"),
    "points_lots": _("Your points by batch: when they vest and expire"),
    "points_adjustment_requests": _("Large adjustments of your points staff asked for, and their approval"),
    "referrals_made": _("The friends you referred"),
    "referrals_about_me": _("Referrals of you by other owners"),
    "referral_stage_changes": _("The stage changes of those referrals"),
    "referral_attempts": _("Tries to register a referral, with their outcome (by you, and of you)"),
    "sales_office_visits": _("Your walk-in visits to sales offices"),
    "merchant_sales": _("Your purchases at partner merchants: amounts, discounts, points, merchant"),
    "merchant_sale_reversals": _("Returns of those purchases"),
    "event_signups": _("Your event signups: party, fee, status, check-in"),
    "event_payments": _("Your payments for events"),
    "event_check_ins": _("Scans of your tickets or card at event doors"),
    "reward_redemptions": _("Rewards you redeemed and gifts granted to you: points, status, pick-up"),
    "care_cases": _("Your feedback and complaints"),
    "care_case_messages": _("The replies on those cases"),
    "care_case_photos": _("The photos of your cases (the files are in photos/)"),
    "surveys": _("Satisfaction surveys and your answers"),
    "return_visits": _("Our return-visit calls to you: when, what came of them, notes and your score"),
    "repairs": _("Repairs at your home: what, who did them, the acceptance and your rating"),
    "messages": _("The text messages and e-mails sent to you"),
    "message_deliveries": _("Each try at delivering those messages, and what the provider answered"),
    "message_preferences": _("The kinds of messages you refused"),
    "message_channels": _("The channels you chose for your messages, in order of preference"),
    "wechat_binding": _("The WeChat account bound to you (its openid) and when it was bound"),
    "audit_entries": _("What staff did to your profile, cards, referrals and cases"),
}
_SINGLE = ("member", "points_account", "wechat_binding")  # one object (or null) in data.json, not a list
_PHOTO_SUFFIX = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


@dataclass
class Rows:
    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class MemberData:
    member_id: int
    kinds: dict[str, Rows]
    photos: dict[str, bytes]  # file name in the zip → the image


def _plain(value: Any) -> Any:
    """A value as JSON has it: times in Beijing time with their offset, money and points stay integers."""
    if isinstance(value, datetime):
        return value.astimezone(clock.LOCAL_ZONE).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return None  # binary columns leave as files, never inline
    return value


async def _fetch(
    table: type[Table], where: Any, *, omit: Sequence[str] = (), extra: dict[str, Column] | None = None
) -> Rows:
    """The rows of `table` matching `where` (None: no rows), all columns but `omit`, plus
    `extra` joined columns under their names."""
    columns = table.all_columns(exclude=list(omit))
    extra = extra or {}
    names = [column._meta.name for column in columns] + list(extra)
    if where is None:
        return Rows(names)
    found = await (
        table.select(*columns, *[column.as_alias(name) for name, column in extra.items()])
        .where(where)
        .order_by(table._meta.primary_key)
        .output(load_json=True)
    )
    return Rows(names, [{name: _plain(row[name]) for name in names} for row in found])


def _ids(rows: Rows, column: str = "id") -> list[int]:
    return sorted({row[column] for row in rows.rows if row[column] is not None})


def _among(column: Column, ids: Sequence[Any]) -> Any:
    return column.is_in(list(ids)) if ids else None


async def collect(member_id: int, locale: str = DEFAULT_LOCALE) -> MemberData:
    """Everything held about the member, kind by kind (see KINDS and inventory.HOLDINGS); the
    few words the export puts into the data itself (a withheld code) are in `locale`."""
    member = await Member.select(Member.phone, Member.email).where(Member.id == member_id).first()
    if member is None:
        raise NotFound(_("member {member_id} does not exist", member_id=member_id))
    contacts = [member["phone"], *([member["email"]] if member["email"] else [])]
    k: dict[str, Rows] = {}
    k["member"] = await _fetch(Member, Member.id == member_id)
    k["ownerships"] = await _fetch(Ownership, Ownership.member == member_id)
    k["units"] = await _fetch(Unit, _among(Unit.id, _ids(k["ownerships"], "unit")))
    k["projects"] = await _fetch(Project, _among(Project.id, _ids(k["units"], "project")))
    k["cards"] = await _fetch(Card, Card.member == member_id)
    k["tier_assignments"] = await _fetch(TierAssignment, TierAssignment.member == member_id)
    k["tier_history"] = await _fetch(TierChange, TierChange.member == member_id)
    k["points_account"] = await _fetch(PointsAccount, PointsAccount.member == member_id)
    k["points_ledger"] = await _fetch(LedgerEntry, LedgerEntry.member == member_id, omit=_KEYS)
    k["points_lots"] = await _fetch(PointsLot, PointsLot.member == member_id)
    k["points_adjustment_requests"] = await _fetch(
        PointsAdjustmentRequest, PointsAdjustmentRequest.member == member_id, omit=_KEYS
    )
    project_name = {"project_name": Lead.project.name}
    k["referrals_made"] = await _fetch(Lead, Lead.referrer == member_id, extra=project_name)
    k["referrals_about_me"] = await _fetch(
        Lead, (Lead.new_member == member_id) | (Lead.phone == member["phone"]), extra=project_name
    )
    lead_ids = sorted({*_ids(k["referrals_made"]), *_ids(k["referrals_about_me"])})
    k["referral_stage_changes"] = await _fetch(LeadStageChange, _among(LeadStageChange.lead, lead_ids))
    k["referral_attempts"] = await _fetch(
        ReferralAttempt, (ReferralAttempt.referrer == member_id) | (ReferralAttempt.phone == member["phone"])
    )
    k["sales_office_visits"] = await _fetch(OfficeVisit, OfficeVisit.phone == member["phone"])
    k["merchant_sales"] = await _sales(member_id)
    k["merchant_sale_reversals"] = await _fetch(SaleReversal, _among(SaleReversal.sale, _ids(k["merchant_sales"])), omit=_KEYS)
    k["event_signups"] = await _fetch(
        Signup, Signup.member == member_id,
        extra={"event_title_zh": Signup.event.title_zh, "event_title_en": Signup.event.title_en,
               "event_starts_at": Signup.event.starts_at, "event_venue": Signup.event.venue},
    )
    k["event_payments"] = await _fetch(Payment, Payment.member == member_id, omit=("client_secret",))
    k["event_check_ins"] = await _fetch(Scan, _among(Scan.signup, _ids(k["event_signups"])), omit=("code_hash",))
    k["reward_redemptions"] = await _fetch(
        Redemption, Redemption.member == member_id,
        # the nonce and the voucher's hash stand for its code (a secret while the voucher is valid); the till's key is the merchant's
        omit=(*_KEYS, "ledger_key", "code_nonce", "voucher_hash", "voucher_used_key", "voucher_request_hash"),
        extra={"reward_name_zh": Redemption.reward.name_zh, "reward_name_en": Redemption.reward.name_en},
    )
    k["care_cases"] = await _fetch(Case, Case.member == member_id)
    case_ids = _ids(k["care_cases"])
    k["care_case_messages"] = await _fetch(CaseMessage, _among(CaseMessage.case, case_ids))
    k["care_case_photos"], photos = await _photos(case_ids)
    k["surveys"] = await _fetch(Survey, Survey.member == member_id)
    k["return_visits"] = await _fetch(ReturnVisit, (ReturnVisit.member == member_id) | ReturnVisit.lead.is_in(lead_ids or [0]))
    k["repairs"] = await _fetch(Repair, Repair.member == member_id)
    k["messages"] = await _fetch(OutboxMessage, (OutboxMessage.member == member_id) | OutboxMessage.recipient.is_in(contacts))
    for row in k["messages"].rows:
        if row["kind"] == "login_code":  # a code still within its minutes would log anyone in
            row["body"], row["payload"] = translate(WITHHELD, locale), {}
    k["message_deliveries"] = await _fetch(DeliveryAttempt, _among(DeliveryAttempt.message, _ids(k["messages"])))
    k["message_preferences"] = await _fetch(OptOut, OptOut.member == member_id)
    k["message_channels"] = await _fetch(ChannelChoice, ChannelChoice.member == member_id)
    k["wechat_binding"] = await _fetch(WechatBinding, WechatBinding.member == member_id)
    k["audit_entries"] = await _audit_entries(member_id, _ids(k["cards"]), case_ids, lead_ids)
    assert list(k) == list(KINDS), "every kind is collected, in the README's order"
    return MemberData(member_id=member_id, kinds=k, photos=photos)


async def _sales(member_id: int) -> Rows:
    sales = await _fetch(Sale, Sale.member == member_id, omit=_KEYS, extra={"merchant_name": Sale.merchant.name})
    stores = {
        row["id"]: row["name"]
        for row in await Store.select(Store.id, Store.name).where(Store.id.is_in(_ids(sales, "store") or [0]))
    }
    sales.columns.append("store_name")
    for row in sales.rows:
        row["store_name"] = stores.get(row["store"], "")
    return sales


async def _photos(case_ids: list[int]) -> tuple[Rows, dict[str, bytes]]:
    rows = await _fetch(CasePhoto, _among(CasePhoto.case, case_ids), omit=("data",))
    rows.columns.append("file")
    files: dict[str, bytes] = {}
    if case_ids:
        images = await CasePhoto.select(CasePhoto.id, CasePhoto.data).where(CasePhoto.case.is_in(case_ids))
        data = {image["id"]: bytes(image["data"]) for image in images}
        for row in rows.rows:
            name = f"photos/case-{row['case']}-photo-{row['id']}.{_PHOTO_SUFFIX.get(row['content_type'], 'bin')}"
            row["file"], files[name] = name, data[row["id"]]
    return rows, files


async def _audit_entries(member_id: int, card_ids: list[int], case_ids: list[int], lead_ids: list[int]) -> Rows:
    about = (AuditEntry.subject_kind == "member") & (AuditEntry.subject_id == member_id)
    for kind, ids in (("card", card_ids), ("case", case_ids), ("lead", lead_ids)):
        if ids:
            about |= (AuditEntry.subject_kind == kind) & AuditEntry.subject_id.is_in(ids)
    return await _fetch(AuditEntry, about)


# --- the zip ---------------------------------------------------------------------------------


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value


def _csv(rows: Rows) -> bytes:
    return csv_text(rows.columns, ([_csv_cell(row.get(column)) for column in rows.columns] for row in rows.rows)).encode("utf-8")


def data_json(data: MemberData) -> dict[str, Any]:
    """data.json: one object, a key per kind (the profile and the points account are one object each)."""
    return {
        name: (rows.rows[0] if rows.rows else None) if name in _SINGLE else rows.rows
        for name, rows in data.kinds.items()
    }


README_FILES = (  # (what, in the README's first column; what it is)
    ("data.json", _("all of it, one key per kind of data")),
    ("csv/*.csv", _("one table per kind (UTF-8, opens in Excel); the columns are named as in data.json")),
    ("photos/", _("the photos you added to your cases")),
)
README_NOTES = (
    _("Money is in fen (100 fen = 1 CNY); points are whole numbers; times are Beijing time (ISO 8601)."),
    _("Not exported, for security: login codes, payment secrets, merchants' keys, internal idempotency keys."),
    _("To correct or erase your data, contact customer service."),
)


def readme(data: MemberData, exported_at: datetime, locale: str = DEFAULT_LOCALE) -> str:
    """README.txt in the owner's language: what the copy is, each file and kind, and how to read it."""
    def say(message: Message) -> str:
        return translate(message, locale)

    when = local_datetime(exported_at, locale)
    lines = [
        say(_("Owner Club · a copy of your personal data")),
        "",
        say(_("Exported at: {when} (Beijing time)   Member no.: {member_id}", when=when, member_id=data.member_id)),
        "",
        say(_("This is everything we hold about you (under China's Personal Information Protection Law).")),
        "",
        *(f"{name:<12} {say(what)}" for name, what in README_FILES),
        "",
        say(_("The kinds of data:")),
    ]
    for name, what in KINDS.items():
        count, file = len(data.kinds[name].rows), "csv/" + name + ".csv"
        lines.append("  " + say(_n("{file} ({count} row): {what}", "{file} ({count} rows): {what}", count, file=file, what=what)))
    lines += ["", say(_("Notes:")), *(f"  {say(note)}" for note in README_NOTES), ""]
    return "\n".join(lines)


@dataclass(frozen=True)
class Archive:
    filename: str
    content: bytes


def archive(data: MemberData, exported_at: datetime | None = None, locale: str = DEFAULT_LOCALE) -> Archive:
    """The zip an owner downloads (built in memory: one owner's data is small; photos are
    stored as they are, they are compressed already)."""
    exported_at = exported_at or clock.now()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zip_file:
        zip_file.writestr("README.txt", "\ufeff" + readme(data, exported_at, locale))
        zip_file.writestr("data.json", json.dumps(data_json(data), ensure_ascii=False, indent=2))
        for name, rows in data.kinds.items():
            zip_file.writestr(f"csv/{name}.csv", _csv(rows))
        for name, image in data.photos.items():
            zip_file.writestr(name, image, compress_type=zipfile.ZIP_STORED)
    day = exported_at.astimezone(clock.LOCAL_ZONE).date().isoformat()
    return Archive(filename=f"owner-club-data-{data.member_id}-{day}.zip", content=buffer.getvalue())


async def export_member(member_id: int, locale: str = DEFAULT_LOCALE) -> Archive:
    """The member's data as the zip they download, its words in `locale`."""
    return archive(await collect(member_id, locale), locale=locale)
