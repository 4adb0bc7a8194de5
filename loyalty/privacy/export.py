"""An owner's copy of everything held about them (PIPL art. 45): one zip with data.json (an
object with a key per kind of data), one CSV per kind (UTF-8 with a BOM, as the dashboards'
CSVs, so Excel shows the Chinese), the photos of their care cases as files, and a README.txt in
Chinese and English saying what each file is.

What is in it follows `inventory.HOLDINGS`; what never is: one-time login codes (only their
hashes are kept; secrets), login codes inside old SMS bodies, payment client secrets, merchants'
API keys, and internal idempotency keys and request hashes. Other people's data stays out: a
lead the owner referred shows the friend's name and phone the owner gave, nothing else about
other members; staff appear by id only.
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
from loyalty.care.tables import Case, CaseMessage, CasePhoto, OptOut, OutboxMessage, Survey
from loyalty.errors import NotFound
from loyalty.events.tables import Payment, Scan, Signup
from loyalty.exports import csv_text
from loyalty.members.tables import Member, Ownership, Project, Unit
from loyalty.merchants.tables import Sale, SaleReversal, Store
from loyalty.points.tables import LedgerEntry, PointsAccount, PointsAdjustmentRequest, PointsLot
from loyalty.referrals.tables import Lead, LeadStageChange, OfficeVisit, ReferralAttempt

WITHHELD = "（验证码不导出 / login code withheld）"
# Internal keys of the ledger, the tills and Stripe: not about the owner, and some are secrets.
_KEYS = ("idempotency_key", "request_hash")

# The kinds, in the order of the README: (file, what it is in Chinese, in English).
KINDS: dict[str, tuple[str, str]] = {
    "member": ("会员资料（姓名、手机、邮箱、生日、标签、备注、阶段）", "Your profile: name, phone, e-mail, birthday, tags, notes, stage"),
    "ownerships": ("您名下的房产记录（签约、交付日期）", "The homes you own or owned: contract and delivery dates"),
    "units": ("这些房产的信息（期、幢、室、面积、价格、保修期）", "Those homes: phase, building, room, area, price, warranty"),
    "projects": ("这些房产所在的项目", "The developments those homes are in"),
    "cards": ("您的会员卡（卡号、等级、状态）", "Your membership cards: number, tier, status"),
    "tier_assignments": ("工作人员授予的等级", "Tiers given to you by staff"),
    "tier_history": ("等级变化记录", "Your tier history"),
    "points_account": ("积分账户（可用、待生效）", "Your points account: available and pending"),
    "points_ledger": ("积分流水（每一笔变动）", "Every change of your points"),
    "points_lots": ("积分批次（生效、到期日期）", "Your points by batch: when they vest and expire"),
    "points_adjustment_requests": ("工作人员对您积分的大额调整申请及审批结果", "Large adjustments of your points staff asked for, and their approval"),
    "referrals_made": ("您推荐的客户（老带新）", "The friends you referred"),
    "referrals_about_me": ("他人推荐您的记录", "Referrals of you by other owners"),
    "referral_stage_changes": ("上述推荐的阶段变化", "The stage changes of those referrals"),
    "referral_attempts": ("推荐登记的尝试及结果（您的推荐和他人对您的推荐）", "Tries to register a referral, with their outcome (by you, and of you)"),
    "sales_office_visits": ("您到访售楼处的记录", "Your walk-in visits to sales offices"),
    "merchant_sales": ("您在联盟商家的消费（金额、折扣、积分、商家名称）", "Your purchases at partner merchants: amounts, discounts, points, merchant"),
    "merchant_sale_reversals": ("上述消费的退货", "Returns of those purchases"),
    "event_signups": ("活动报名（人数、费用、状态、签到）", "Your event signups: party, fee, status, check-in"),
    "event_payments": ("活动付款", "Your payments for events"),
    "event_check_ins": ("活动入场扫码记录", "Scans of your tickets or card at event doors"),
    "care_cases": ("您的反馈与投诉", "Your feedback and complaints"),
    "care_case_messages": ("反馈与投诉的往来回复", "The replies on those cases"),
    "care_case_photos": ("反馈附带的照片（文件在 photos/ 文件夹）", "The photos of your cases (the files are in photos/)"),
    "surveys": ("满意度调查及您的回答", "Satisfaction surveys and your answers"),
    "messages": ("发给您的短信和邮件", "The text messages and e-mails sent to you"),
    "message_preferences": ("您拒收的消息类型", "The kinds of messages you refused"),
    "audit_entries": ("工作人员对您的资料、会员卡、推荐和反馈所做操作的记录", "What staff did to your profile, cards, referrals and cases"),
}
_SINGLE = ("member", "points_account")  # one object (or null) in data.json, not a list
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


async def collect(member_id: int) -> MemberData:
    """Everything held about the member, kind by kind (see KINDS and inventory.HOLDINGS)."""
    member = await Member.select(Member.phone, Member.email).where(Member.id == member_id).first()
    if member is None:
        raise NotFound(f"member {member_id} does not exist")
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
    k["event_check_ins"] = await _fetch(Scan, _among(Scan.signup, _ids(k["event_signups"])))
    k["care_cases"] = await _fetch(Case, Case.member == member_id)
    case_ids = _ids(k["care_cases"])
    k["care_case_messages"] = await _fetch(CaseMessage, _among(CaseMessage.case, case_ids))
    k["care_case_photos"], photos = await _photos(case_ids)
    k["surveys"] = await _fetch(Survey, Survey.member == member_id)
    k["messages"] = await _fetch(OutboxMessage, (OutboxMessage.member == member_id) | OutboxMessage.recipient.is_in(contacts))
    for row in k["messages"].rows:
        if row["kind"] == "login_code":  # a code still within its minutes would log anyone in
            row["body"], row["payload"] = WITHHELD, {}
    k["message_preferences"] = await _fetch(OptOut, OptOut.member == member_id)
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


def readme(data: MemberData, exported_at: datetime) -> str:
    when = exported_at.astimezone(clock.LOCAL_ZONE).strftime("%Y-%m-%d %H:%M")
    lines = [
        "业主俱乐部 · 个人信息副本 / Owner Club · a copy of your personal data",
        "",
        f"导出时间 Exported at: {when}（北京时间 Beijing time）  会员编号 Member no.: {data.member_id}",
        "",
        "这是我们保存的与您有关的全部信息（依据《个人信息保护法》）。",
        "This is everything we hold about you (under China's Personal Information Protection Law).",
        "",
        "data.json    全部数据，每类数据一个键 / all of it, one key per kind of data",
        "csv/*.csv    每类数据一个表格（UTF-8，可用 Excel 打开）/ one table per kind (UTF-8, opens in Excel)",
        "photos/      您反馈中附带的照片 / the photos you added to your cases",
        "",
        "各类数据 / The kinds of data:",
    ]
    for name, (zh, en) in KINDS.items():
        lines.append(f"  csv/{name}.csv ({len(data.kinds[name].rows)}): {zh} / {en}")
    lines += [
        "",
        "说明 / Notes:",
        "  金额单位为分（100 分 = 1 元）；积分为整数；时间为北京时间（ISO 8601）。",
        "  Money is in fen (100 fen = 1 CNY); points are whole numbers; times are Beijing time (ISO 8601).",
        "  出于安全原因不导出：登录验证码、支付密钥、商家密钥、系统内部幂等键。",
        "  Not exported, for security: login codes, payment secrets, merchants' keys, internal idempotency keys.",
        "  如需更正或删除您的信息，请联系客服。",
        "  To correct or erase your data, contact customer service.",
        "",
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class Archive:
    filename: str
    content: bytes


def archive(data: MemberData, exported_at: datetime | None = None) -> Archive:
    """The zip an owner downloads (built in memory: one owner's data is small; photos are
    stored as they are, they are compressed already)."""
    exported_at = exported_at or clock.now()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zip_file:
        zip_file.writestr("README.txt", "\ufeff" + readme(data, exported_at))
        zip_file.writestr("data.json", json.dumps(data_json(data), ensure_ascii=False, indent=2))
        for name, rows in data.kinds.items():
            zip_file.writestr(f"csv/{name}.csv", _csv(rows))
        for name, image in data.photos.items():
            zip_file.writestr(name, image, compress_type=zipfile.ZIP_STORED)
    day = exported_at.astimezone(clock.LOCAL_ZONE).date().isoformat()
    return Archive(filename=f"owner-club-data-{data.member_id}-{day}.zip", content=buffer.getvalue())


async def export_member(member_id: int) -> Archive:
    """The member's data as the zip they download."""
    return archive(await collect(member_id))
