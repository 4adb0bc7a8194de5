"""Demo data: two projects, about 200 owners in every lifecycle stage, staff of every role.

It goes in through the same owner import staff use, so the demo exercises the real path.
Deterministic (seeded), and dated relative to today so every stage stays populated.
"""

from __future__ import annotations

import csv
import random
import tempfile
from datetime import date, timedelta
from pathlib import Path

from loyalty import clock
from loyalty.identity import service as identity
from loyalty.identity.tables import StaffAccount
from loyalty.members import importer
from loyalty.members.tables import Member, Project
from loyalty.phones import normalise_phone

DEMO_OWNER_PHONE = "13800138000"
DEMO_OWNER_NAME = "张伟"
DEMO_STAFF = {  # username: (role, password, display name)
    "admin": ("admin", "demo-admin-pass", "管理员 Admin"),
    "sales": ("sales", "demo-sales-pass", "置业顾问 李娜"),
    "events": ("event_staff", "demo-events-pass", "活动专员 王强"),
    "service": ("service", "demo-service-pass", "客服 刘洋"),
}

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢"
_GIVEN = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英",
    "霞", "平", "刚", "桂英", "建华", "志强", "海燕", "子涵", "浩然", "欣怡", "梓萱", "宇轩", "雨桐", "晨曦", "思远",
    "嘉怡", "俊杰", "晓明", "文博", "佳琪", "一鸣", "若曦",
]
_PREFIXES = ["135", "136", "137", "139", "150", "151", "152", "158", "159", "186", "187", "188", "189", "177", "180"]
_HOBBIES = ["羽毛球", "摄影", "亲子", "书法", "烘焙", "跑步", "茶艺", "钓鱼", "瑜伽", "围棋", "广场舞", "骑行"]
PROJECTS = [
    ("HZ-YH", "杭州·云湖里", "Yunhu Garden, Hangzhou", "杭州"),
    ("SZ-HX", "苏州·湖西壹号", "Lakeside No.1, Suzhou", "苏州"),
]
HEADER = [
    "项目编码", "项目名称", "期", "幢", "室", "面积", "合同总价", "姓名", "手机", "生日", "性别",
    "签约日期", "交付日期", "爱好", "备注",
]


def _owner_rows(today: date, rng: random.Random) -> list[list[str]]:
    """~200 owners: veterans, established, settling-in and pre-owners; some own 2-3 units,
    some units have two co-owners."""
    rows: list[list[str]] = []
    used_phones = {DEMO_OWNER_PHONE}
    used_units: set[tuple[str, str, str, str]] = set()
    plan = [("veteran", 55), ("stable", 50), ("settling", 45), ("pre_owner", 50)]

    def unit(project: str) -> tuple[str, str, str]:
        while True:
            key = (project, f"{rng.randint(1, 3)}期", f"{rng.randint(1, 18)}幢", f"{rng.randint(1, 30)}0{rng.randint(1, 4)}")
            if key not in used_units:
                used_units.add(key)
                return key[1:]

    def phone() -> str:
        while True:
            number = rng.choice(_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}"
            if number not in used_phones:
                used_phones.add(number)
                return number

    def row(project: tuple[str, str, str, str], where: tuple[str, str, str], name: str, mobile: str,
            contract: date, delivery: date | None) -> list[str]:
        area = rng.choice([89, 96, 110, 125, 143, 168, 210])
        price = area * rng.randint(28_000, 52_000)
        birthday = date(rng.randint(1955, 1995), rng.randint(1, 12), rng.randint(1, 28))
        hobbies = "、".join(rng.sample(_HOBBIES, rng.randint(0, 3)))
        return [project[0], project[1], *where, f"{area}.00", f"{price}.00", name, mobile, birthday.isoformat(),
                rng.choice(["男", "女"]), contract.isoformat(), delivery.isoformat() if delivery else "", hobbies, ""]

    def dates(stage: str) -> tuple[date, date | None]:
        if stage == "veteran":
            delivery = today - timedelta(days=rng.randint(3 * 365 + 5, 9 * 365))
        elif stage == "stable":
            delivery = today - timedelta(days=rng.randint(370, 3 * 365 - 5))
        elif stage == "settling":
            delivery = today - timedelta(days=rng.randint(1, 360))
        else:
            contract = today - timedelta(days=rng.randint(10, 500))
            return contract, (today + timedelta(days=rng.randint(30, 700)) if rng.random() < 0.6 else None)
        return delivery - timedelta(days=rng.randint(400, 900)), delivery

    # The owner the README logs in as: a veteran with two units.
    project = PROJECTS[0]
    contract, delivery = dates("veteran")
    rows.append(row(project, unit(project[0]), DEMO_OWNER_NAME, DEMO_OWNER_PHONE, contract, delivery))
    contract, delivery = dates("stable")
    rows.append(row(PROJECTS[1], unit(PROJECTS[1][0]), DEMO_OWNER_NAME, DEMO_OWNER_PHONE, contract, delivery))

    for stage, count in plan:
        for _ in range(count):
            project = rng.choice(PROJECTS)
            name = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
            mobile = phone()
            contract, delivery = dates(stage)
            where = unit(project[0])
            rows.append(row(project, where, name, mobile, contract, delivery))
            roll = rng.random()
            if roll < 0.12:  # a second (or third) unit: investors and upgraders
                for _ in range(1 if roll > 0.04 else 2):
                    extra_project = rng.choice(PROJECTS)
                    rows.append(row(extra_project, unit(extra_project[0]), name, mobile, *dates(rng.choice(["stable", "settling", "pre_owner"]))))
            elif roll < 0.30:  # a co-owner (spouse) on the same unit
                spouse = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
                rows.append(row(project, where, spouse, phone(), contract, delivery))
    return rows


async def load_demo_data(today: date | None = None) -> bool:
    """Load the demo once; returns False (and changes nothing) if the database has members."""
    if await Member.count() > 0 or await Project.count() > 0:
        return False
    today = today or clock.today()
    rng = random.Random(20261125)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "demo-owners.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADER)
            writer.writerows(_owner_rows(today, rng))
        await importer.import_owners(path)
    for code, _name, name_en, city in PROJECTS:
        await Project.update({Project.name_en: name_en, Project.city: city}).where(Project.code == code)
    for prospect in range(8):  # people met at open days who have not signed yet
        await Member.insert(
            Member(name=rng.choice(_SURNAMES) + rng.choice(_GIVEN), phone=normalise_phone(f"166{prospect:04d}{rng.randint(1000, 9999)}"))
        )
    if not await StaffAccount.count():
        for username, (role, password, display) in DEMO_STAFF.items():
            await identity.create_staff(username, password, role, display)
    await _demo_merchants(today)
    await _demo_events(today)
    await _demo_referrals(today, rng)
    return True


DEMO_MERCHANTS = [  # name, category, points per CNY, discounts (bp) platinum/gold/silver/blue, stores
    ("好家居建材", "decoration", 1, (1500, 1200, 1000, 500), [("BJ", "滨江店"), ("XH", "西湖店")]),
    ("湖畔私房菜", "dining", 0, (1200, 1000, 800, 500), [("HP", "湖畔总店")]),
]


async def _demo_merchants(today: date) -> None:
    from loyalty.cards.tables import TIERS
    from loyalty.merchants import service as merchants

    for name, category, rate, discounts, stores in DEMO_MERCHANTS:
        merchant = await merchants.create_merchant(name, category, points_per_cny=rate)
        for code, store in stores:
            await merchants.add_store(merchant, code, store)
        for tier, percent_bp in zip(TIERS, discounts):
            await merchants.set_discount(merchant, tier, percent_bp, valid_from=date(today.year, 1, 1), cap_fen=200_000)


async def demo_partner_key() -> str:
    """A fresh key for the first demo merchant, printed when the demo starts."""
    from loyalty.merchants import service as merchants
    from loyalty.merchants.tables import Merchant

    merchant = await Merchant.select(Merchant.id).order_by(Merchant.id).first()
    raw, _ = await merchants.create_api_key(merchant["id"], label="demo till")
    return raw


async def _demo_events(today: date) -> None:
    """A free festival gathering, a paid decoration seminar (fees by tier) and a spring
    program of three sessions, all ahead of `today`."""
    from datetime import datetime, time, timedelta

    from loyalty.events import catalog

    maker = await StaffAccount.select(StaffAccount.id).where(StaffAccount.role == "event_staff").first()
    staff_id = maker["id"] if maker else 0

    def at(day: date, hour: int) -> datetime:
        return datetime.combine(day, time(hour, 0), clock.LOCAL_ZONE)

    opens = at(today - timedelta(days=1), 9)

    def timing(day: date, start: int, hours: int) -> dict[str, datetime]:
        return dict(
            starts_at=at(day, start), ends_at=at(day, start + hours), signup_opens_at=opens,
            signup_closes_at=at(day - timedelta(days=1), 20), cancel_deadline=at(day - timedelta(days=2), 20),
        )

    await catalog.create_event(catalog.EventDraft(
        kind="festival_gathering", title_zh="新春业主联欢会", title_en="Spring Festival owners' gathering",
        body_zh="写春联、包饺子、猜灯谜，欢迎全家参加。", body_en="Couplets, dumplings and lantern riddles: bring the family.",
        venue="云湖里会所宴会厅", capacity=120, party_size_limit=4, attendance_points=100,
        **timing(today + timedelta(days=10), 14, 3),
    ), staff_id)
    await catalog.create_event(catalog.EventDraft(
        kind="decoration_seminar", title_zh="软装搭配讲座", title_en="Interior styling seminar",
        venue="好家居建材滨江店", capacity=40, party_size_limit=2, attendance_points=30,
        fee_platinum_fen=0, fee_gold_fen=2_000, fee_silver_fen=3_000, fee_blue_fen=5_000,
        eligible_stages=("pre_owner", "settling"), **timing(today + timedelta(days=14), 10, 2),
    ), staff_id)
    program = await catalog.create_program(
        "春季业主计划", staff_id, title_en="Spring owners' program",
        body_zh="三月至五月：植树、踏青、亲子运动会。", body_en="March to May: tree planting, an outing and a family sports day.",
    )
    for offset, (title_zh, title_en) in enumerate(
        [("业主植树日", "Tree planting day"), ("春日踏青", "Spring outing"), ("亲子运动会", "Family sports day")], start=1
    ):
        await catalog.create_event(catalog.EventDraft(
            kind="club_activity", title_zh=title_zh, title_en=title_en, program_id=program, venue="云湖里中央公园",
            capacity=60, party_size_limit=4, attendance_points=50, **timing(today + timedelta(days=20 * offset), 9, 3),
        ), staff_id)


async def _demo_referrals(today: date, rng: random.Random) -> None:
    """Friends referred by demo owners, at every stage of the sales funnel (the sales board)."""
    from loyalty.identity.tables import StaffAccount
    from loyalty.members.tables import Ownership
    from loyalty.referrals import service as referrals

    seller = await StaffAccount.select(StaffAccount.id).where(StaffAccount.role == "sales").first()
    projects = [row["id"] for row in await Project.select(Project.id).order_by(Project.id)]
    owners = [row["member"] for row in await Ownership.select(Ownership.member).where(Ownership.status == "active").order_by(Ownership.id)]
    referrers = list(dict.fromkeys(owners))[:12]
    path = {0: [], 1: ["visited"], 2: ["visited", "subscribed"], 3: ["visited", "subscribed", "signed"]}
    for number, referrer in enumerate(referrers):
        name = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
        try:
            lead = await referrals.register_lead(
                referrer, name=name, phone=f"177{number:04d}{rng.randint(1000, 9999)}", project_id=rng.choice(projects), today=today
            )
        except Exception:  # noqa: BLE001 - a demo owner the referral rules refuse (e.g. a co-owner): skip them
            continue
        for stage in path[number % 4]:
            await referrals.move_lead(lead["id"], stage, staff_id=seller["id"] if seller else 0, today=today)
