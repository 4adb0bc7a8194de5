"""One owner with data in every table that can hold data about them, and a neighbour with data
of their own, built through the services (owners through the real owner import, referrals,
points, sales, events, cases, surveys, message settings and the WeChat binding through their
services). Only what no service writes
without an outside system is a Piccolo insert: a Stripe payment (localstripe is not needed to
read one back), and the owner's e-mail (no route sets it yet; care tests do the same). Login
codes come from logging in (`member_client`): two codes in one frozen second are ambiguous.

Time stands still at NOW (2026-06-15 12:00 Beijing) by the `frozen` fixture.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from PIL import Image

from loyalty import db
from loyalty.cards import service as cards
from loyalty.care import cases, outbox, surveys
from loyalty.care.tables import Survey
from loyalty.events import checkin, signups
from loyalty.events.tables import Payment
from loyalty.identity import service as identity
from loyalty.identity import wechat
from loyalty.members import importer
from loyalty.members.tables import Member, Project
from loyalty.merchants import reversals, sales
from loyalty.merchants import service as merchants
from loyalty.points import approvals
from loyalty.points import service as points
from loyalty.referrals import service as referrals
from loyalty.settings import Settings
from tests.events.builders import NOW, STAFF_PASSWORD, event
from tests.partner_api.builders import Shop, shop

MY_NAME = "司马青云"
MY_PHONE = "13912345678"
MY_E164 = "+8613912345678"
MY_EMAIL = "sima.qingyun@example.com"
MY_OPENID = "oPrivacy_SimaQingyun_0123456789"  # the Official Account's id for my WeChat
NEIGHBOUR_NAME = "欧阳明月"
NEIGHBOUR_PHONE = "13987654321"
FRIEND_NAME = "诸葛小花"
FRIEND_PHONE = "13711112222"
PROJECT = "HZ-YH"
# Every string that names me: none may be left anywhere in the database after my erasure.
MY_STRINGS = (MY_NAME, MY_E164, MY_PHONE, MY_EMAIL, MY_OPENID)
ROLES = ("admin", "service", "sales", "event_staff")

_COLUMNS = [
    "project_code", "project_name", "phase", "building", "room", "name", "phone", "contract_date", "delivery_date",
    "contract_price", "birthday", "gender", "tags", "notes",
]


def png(colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), colour).save(buffer, format="PNG")
    return buffer.getvalue()


async def import_owners(folder: Path, rows: list[dict[str, str]]) -> None:
    """An owner file with the profile columns too (birthday, gender, tags, notes), imported."""
    path = folder / "owners-privacy.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({"project_code": PROJECT, "project_name": "云湖里", "phase": "1期", "building": "1幢", **row})
    report = await importer.import_owners(path)
    assert not report.errors, report.errors


async def member_of(phone: str) -> int:
    row = await Member.select(Member.id).where(Member.phone == f"+86{phone}").first()
    assert row is not None, f"no member with phone {phone}"
    return row["id"]


@dataclass
class World:
    me: int
    neighbour: int
    project: int
    staff: dict[str, int]  # role → staff id
    shop: Shop
    sale_id: int
    event_id: int
    waitlist_event_id: int
    case_id: int
    photo: bytes
    lead_about_me: int
    friend_lead: int
    payment_id: int
    typed_digits: str  # the 18 digits shown under my paying QR code


async def build_world(folder: Path, settings: Settings) -> World:
    staff = {role: (await identity.create_staff(f"{role}1", STAFF_PASSWORD, role)).id for role in ROLES}
    # The neighbour owns a home and refers me; I sign through the referral, then the owner
    # file brings my contract (as the sales office's export would).
    await import_owners(folder, [
        {"name": NEIGHBOUR_NAME, "phone": NEIGHBOUR_PHONE, "room": "0201", "contract_date": "2019-03-01",
         "delivery_date": "2020-03-01"},
    ])
    neighbour = await member_of(NEIGHBOUR_PHONE)
    project = (await Project.select(Project.id).where(Project.code == PROJECT).first())["id"]
    lead = await referrals.register_lead(neighbour, name=MY_NAME, phone=MY_PHONE, project_id=project, today=NOW.date())
    for stage in ("visited", "signed"):
        await referrals.move_lead(lead["id"], stage, staff_id=staff["sales"], note=f"{MY_NAME} 到访", today=NOW.date())
    await import_owners(folder, [
        {"name": MY_NAME, "phone": MY_PHONE, "room": "0101", "contract_date": "2020-01-01", "delivery_date": "2021-01-01",
         "contract_price": "3200000.00", "birthday": "1980-07-08", "gender": "男", "tags": "钓鱼;书法",
         "notes": f"{MY_NAME} 偏好电话联系"},
    ])
    me = await member_of(MY_PHONE)
    await Member.update({Member.email: MY_EMAIL}).where(Member.id == me)
    # I logged in through WeChat once (so it is bound) and want texts first, then e-mail.
    await wechat.bind(me, MY_OPENID)
    await outbox.set_channel_choice(me, ["sms", "email"])

    await cards.assign_tier(me, "platinum", f"{MY_NAME} 是项目代言人", date(2026, 12, 31), staff["admin"], today=NOW.date())
    await points.adjust(me, 300, key="privacy-adjust", reason=f"补偿 {MY_NAME} {MY_PHONE}", staff_id=staff["service"])
    # A large adjustment still waiting for an admin (erasure rejects it).
    await approvals.adjust_or_request(me, 20_000, key="privacy-request", reason=f"团购补差 {MY_NAME}", staff_id=staff["service"])
    # From the owner's page, so the attempt is on record too.
    friend = await referrals.refer_friend(me, name=FRIEND_NAME, phone=FRIEND_PHONE, project_id=project, today=NOW.date())
    await referrals.move_lead(friend["id"], "visited", staff_id=staff["sales"], note="到访", today=NOW.date())
    await referrals.record_office_visit(MY_PHONE, project, staff["sales"])

    signer = cards.signer_for(settings)
    till = await shop()
    ctx = await merchants.authenticate(merchants.key_digest(till.key))
    # Paying with points takes the rotating code from the owner's phone.
    paying = await cards.dynamic_code(me, signer, time.time())
    code = paying.code
    sale, _ = await sales.create_sale(
        ctx, key="privacy-sale", code=code, store_code="S1", gross_fen=100_000, discount_fen=0, points_to_redeem=100,
        signer=signer, unix_time=time.time(), today=NOW.date(),
    )
    await reversals.reverse_sale(ctx, sale["id"], key="privacy-return", amount_fen=20_000, reason=f"{MY_NAME} 退货",
                                 today=NOW.date())
    neighbour_code = await cards.static_code(neighbour, signer)
    await sales.create_sale(
        ctx, key="neighbour-sale", code=neighbour_code, store_code="S2", gross_fen=50_000, discount_fen=0,
        points_to_redeem=0, signer=signer, unix_time=time.time(), today=NOW.date(),
    )

    soon = await event(
        staff["event_staff"], title_zh="业主茶话会", starts_at=NOW + timedelta(hours=1), ends_at=NOW + timedelta(hours=3),
        signup_closes_at=NOW + timedelta(minutes=30), cancel_deadline=NOW + timedelta(minutes=10),
    )
    for member in (me, neighbour):
        await signups.sign_up(member, soon, settings=settings)
    await checkin.check_in(soon, code, gate="东门", signer=signer, staff_id=staff["event_staff"], now=NOW)
    full = await event(staff["event_staff"], title_zh="书法课", capacity=1)
    await signups.sign_up(neighbour, full, settings=settings)
    await signups.sign_up(me, full, settings=settings, join_waitlist=True)
    payment = await Payment.insert(
        Payment(member=me, amount_fen=8_800, stripe_intent_id="pi_privacy_1", client_secret="pi_privacy_1_secret_xyz",
                status="succeeded", succeeded_at=NOW)
    ).returning(Payment.id)

    # A reward redeemed and not yet picked up (erasure cancels it: points back before the forfeit).
    from loyalty.rewards import service as rewards

    gift = await rewards.create_reward(rewards.RewardDraft(
        kind="gift", name_zh="中秋月饼礼盒", starts_on=NOW.date(), ends_on=NOW.date() + timedelta(days=30), stock=5,
        prices={"platinum": 50}, status="published"), staff["admin"])
    await rewards.redeem(me, gift, "privacy-reward")

    case_id = await cases.open_case(me, "complaint", f"{MY_NAME}家厨房漏水", f"请打 {MY_PHONE} 或写信 {MY_EMAIL}", settings=settings)
    await cases.owner_reply(case_id, me, f"我是{MY_NAME}，今天在家")
    await cases.staff_reply(case_id, staff["service"], f"{MY_NAME}您好，师傅下午上门")
    photo = png()
    await cases.add_photo(case_id, me, photo)
    await cases.resolve(case_id, f"已为{MY_NAME}更换水管", staff["service"], settings=settings)
    survey = await Survey.select(Survey.id).where(Survey.member == me).first()
    await surveys.answer(me, survey["id"], {"satisfaction": 4, "recommend": 9, "comment": f"{MY_NAME}：师傅很专业"})
    # The return visit after the complaint (the visits job finds it), made, with notes naming me.
    from loyalty.care import visits
    from loyalty.care.tables import ReturnVisit

    await visits.create_due_visits(settings=settings)
    visit = await ReturnVisit.select(ReturnVisit.id).where((ReturnVisit.member == me) & (ReturnVisit.kind == "after_complaint")).first()
    await visits.record_outcome(visit["id"], staff["service"], "reached", f"{MY_NAME}对维修满意", 5)
    # A repair at my home, its description naming me (erasure redacts it).
    from loyalty.care import repairs
    from loyalty.members.tables import Ownership

    my_unit = (await Ownership.select(Ownership.unit).where(Ownership.member == me).first())["unit"]
    await repairs.record(member_id=me, unit_id=my_unit, item="water_leak", contractor="顺安维修", staff_id=staff["service"],
                         description=f"{MY_NAME}家卫生间渗水，联系 {MY_PHONE}", settings=settings)
    neighbour_case = await cases.open_case(neighbour, "suggestion", f"{NEIGHBOUR_NAME}的建议", "多种树", settings=settings)
    await cases.add_photo(neighbour_case, neighbour, png((0, 90, 200)))

    await outbox.set_opt_outs(me, ["holiday"])
    async with db.transaction():  # one message still queued (for tomorrow), one to my e-mail address
        await outbox.message_member(
            me, kind="birthday", template="birthday", texts={"zh-CN": ("生日快乐", f"{MY_NAME}，生日快乐")},
            not_before=NOW + timedelta(days=1), settings=settings,
        )
        await outbox.queue_message(
            kind="event_update", channel_name="email", recipient=MY_EMAIL, template="event_update", language="zh-CN",
            subject="活动通知", body=f"{MY_NAME}，您报名的活动即将开始", settings=settings,
        )
    return World(
        me=me, neighbour=neighbour, project=project, staff=staff, shop=till, sale_id=sale["id"], event_id=soon,
        waitlist_event_id=full, case_id=case_id, photo=photo, lead_about_me=lead["id"], friend_lead=friend["id"],
        payment_id=payment[0]["id"], typed_digits=paying.digits,
    )


async def every_text(exclude_tables: tuple[str, ...] = ("migration",)) -> list[tuple[str, str, Any]]:
    """(table, column, text) for every text value in the database, JSON columns as text with
    their non-ASCII characters as they are."""
    import json

    from piccolo.columns import JSON, Bytea

    found: list[tuple[str, str, Any]] = []
    for table in db.all_tables():
        name = table._meta.tablename
        if name in exclude_tables:
            continue
        for row in await table.select().output(load_json=True):
            for column in table._meta.columns:
                value = row[column._meta.name]
                if isinstance(column, JSON):
                    value = json.dumps(value, ensure_ascii=False)
                elif isinstance(column, Bytea) and value is not None:
                    value = bytes(value).decode("utf-8", "replace")
                if isinstance(value, str):
                    found.append((name, column._meta.name, value))
    return found
