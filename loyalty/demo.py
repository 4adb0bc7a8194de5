"""Demo data: two projects, about 200 owners in every lifecycle stage, staff of every role.

It goes in through the same owner import staff use, so the demo exercises the real path.
Deterministic (seeded), and dated relative to today so every stage stays populated.
"""

from __future__ import annotations

import csv
import heapq
import logging
import random
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Awaitable, Callable

from loyalty import clock, db
from loyalty.cards.codes import CodeSigner
from loyalty.identity import service as identity
from loyalty.identity.tables import StaffAccount
from loyalty.members import importer
from loyalty.members.tables import Member, Project
from loyalty.phones import normalise_phone
from loyalty.settings import Settings

DEMO_OWNER_PHONE = "13800138000"
DEMO_OWNER_NAME = "张伟"
DEMO_STAFF = {  # username: (role, password, display name)
    "admin": ("admin", "demo-admin-pass", "管理员 Admin"),
    "sales": ("sales", "demo-sales-pass", "置业顾问 李娜"),
    "sales2": ("sales", "demo-sales2-pass", "置业顾问 周杰"),
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


# --- the story ---------------------------------------------------------------------------------
#
# After the owner import, the demo replays the club's recent history through the services, each
# step at the moment it happened (clock.as_of): referral leads moving through the sales funnel,
# past events with signups, door scans and no-shows, a month of alliance-merchant sales (tier
# discounts, points paid with the phone's dynamic code, a few returns), care cases in every
# state and the surveys owners answered. Then, as of now: the nightly jobs (vest, expire,
# no-shows), the referred buyers' contracts arriving in a second owner file, signups for what
# is coming, and reminders waiting in the outbox. Same `today` → same story.

Work = Callable[[], Awaitable[Any]]


@dataclass
class _Owner:
    member_id: int
    name: str
    phone: str  # E.164
    tier: str
    stage: str
    project_id: int
    delivered: date | None


@dataclass
class _Story:
    today: date
    now: datetime
    rng: random.Random
    settings: Settings
    signer: CodeSigner
    staff: dict[str, int]
    owners: list[_Owner]
    demo_owner: _Owner
    steps: list[tuple[datetime, int, Work]] = field(default_factory=list)
    planned: int = 0
    answered: int = 0  # survey answers so far (their scores cycle through SATISFACTION_CYCLE)

    def at(self, moment: datetime, work: Work) -> None:
        """Do `work` as of `moment` (only moments up to now: the future is not replayed). A
        step may plan later steps (a return two days after its sale)."""
        if moment <= self.now:
            self.planned += 1
            heapq.heappush(self.steps, (moment, self.planned, work))

    async def replay(self) -> None:
        """The planned steps in the order they happened (ties in the order planned). The
        history's hundreds of delivered messages and capped earns are not logged: the demo's
        log is where the owner's login code appears."""
        quiet = [logging.getLogger(name) for name in ("loyalty.outbox", "loyalty.merchants.earning")]
        levels = [logger.level for logger in quiet]
        for logger in quiet:
            logger.setLevel(logging.ERROR)
        try:
            nights = self._nights()
            while self.steps:
                moment, number, work = heapq.heappop(self.steps)
                if nights and nights[0] <= moment:
                    # A night passed before this step: its jobs run as of that night.
                    heapq.heappush(self.steps, (moment, number, work))
                    with clock.as_of(nights.pop(0)):
                        await _nightly()
                    continue
                with clock.as_of(moment):
                    await work()
                    # What the minute-by-minute outbox job would have sent by now, sent now:
                    # the replayed past leaves nothing years old for the first real run.
                    await _deliver_due()
            for night in nights:
                with clock.as_of(night):
                    await _nightly()
        finally:
            for logger, level in zip(quiet, levels):
                logger.setLevel(level)


    def _nights(self) -> list[datetime]:
        """02:00 of every replayed day up to now, when the nightly jobs run."""
        if not self.steps:
            return []
        first = min(self.steps)[0].astimezone(clock.LOCAL_ZONE).date()
        nights = [local(first + timedelta(days=n), 2) for n in range((self.today - first).days + 1)]
        return [night for night in nights if night <= self.now]


async def _nightly() -> None:
    """The nightly jobs of the replayed past, each on its day: pending points vest on the day
    they fall due (and their `vest` entries are dated then), lots past their expiry expire."""
    from loyalty.points import service as points

    await points.vest_due()
    await points.expire_due()
    await _deliver_due()


async def _deliver_due() -> None:
    from loyalty.care import outbox
    from loyalty.care.tables import OutboxMessage

    now = clock.now()
    for row in await OutboxMessage.select(OutboxMessage.id).where(
        (OutboxMessage.status == "queued") & (OutboxMessage.scheduled_at <= now) & (OutboxMessage.next_attempt_at <= now)
    ).order_by(OutboxMessage.id):
        await outbox.deliver_message(row["id"])


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), clock.LOCAL_ZONE)


def saturday_on_or_after(day: date) -> date:
    return day + timedelta(days=(5 - day.weekday()) % 7)


def spring_sessions(today: date) -> list[date]:
    """The spring program's three Saturdays (March, April, May) of the current spring, or of
    the coming one once this year's May is over."""
    year = today.year if today < date(today.year, 6, 1) else today.year + 1
    return [saturday_on_or_after(date(year, 3, 12)), saturday_on_or_after(date(year, 4, 11)), saturday_on_or_after(date(year, 5, 16))]


def festival_dates(today: date) -> list[tuple[str, date]]:
    """The lunar festivals the club gathers for (care.calendar's dates): the last occurrence
    before today and the next one from today, each within about a year."""
    from lunardate import LunarDate

    found = []
    for key, (month, day) in FESTIVALS_LUNAR.items():
        days = sorted(LunarDate(year, month, day).to_solar_date() for year in (today.year - 1, today.year, today.year + 1))
        past = [d for d in days if d < today]
        coming = [d for d in days if d >= today]
        if past and (today - past[-1]).days <= 370:
            found.append((key, past[-1]))
        if coming and (coming[0] - today).days <= 200:
            found.append((key, coming[0]))
    return sorted(found, key=lambda item: item[1])


FESTIVALS_LUNAR = {"lantern": (1, 15), "mid_autumn": (8, 15), "double_ninth": (9, 9)}
FESTIVAL_TEXT = {  # key: (title zh, title en, body zh, body en, venue, start hour)
    "lantern": ("元宵灯会", "Lantern Festival evening", "猜灯谜、煮汤圆、提灯游园。", "Lantern riddles, tangyuan and a lantern walk.", "云湖里中央广场", 18),
    "mid_autumn": ("中秋赏月晚会", "Mid-Autumn moon party", "做月饼、赏月、民乐演奏。", "Mooncake making, moon viewing and folk music.", "云湖里会所草坪", 19),
    "double_ninth": ("重阳敬老茶话会", "Double Ninth tea for elders", "为社区长辈奉茶、义诊、合影。", "Tea for our elders, free health checks and a photo.", "湖西壹号会所", 14),
}

# Every five-point answer cycles through this (17 of 20 are 4 or 5): the satisfaction rate
# sits on the 85% target line, as a care team near its target would show.
SATISFACTION_CYCLE = [5, 4, 5, 5, 3, 4, 5, 4, 5, 5, 4, 2, 5, 4, 5, 4, 3, 5, 4, 5]
RECOMMEND_CYCLE = [10, 9, 8, 10, 7, 9, 10, 6, 9, 8]


async def _owners_now(today: date) -> list[_Owner]:
    from loyalty.cards.tables import Card
    from loyalty.members.tables import Ownership

    cards = {row["member"]: row["tier"] for row in await Card.select(Card.member, Card.tier).where(Card.status == "active")}
    members = {
        row["id"]: row for row in await Member.select(Member.id, Member.name, Member.phone, Member.stage).where(Member.id.is_in(list(cards) or [0]))
    }
    seen: dict[int, _Owner] = {}
    for row in await Ownership.select(Ownership.member, Ownership.unit.project, Ownership.delivery_date).where(
        Ownership.status == "active"
    ).order_by(Ownership.id):
        member = members.get(row["member"])
        if member is None or row["member"] in seen:
            continue
        seen[row["member"]] = _Owner(
            row["member"], member["name"], member["phone"], cards[row["member"]], member["stage"], row["unit.project"], row["delivery_date"],
        )
    return list(seen.values())


async def load_demo_data(today: date | None = None) -> bool:
    """Load the demo once; returns False (and changes nothing) if the database has members.
    `today` (default: today in Beijing) dates everything; tests pass it with time frozen."""
    present = clock.now() if today is None else local(today, 12)
    today = present.astimezone(clock.LOCAL_ZONE).date()
    rng = random.Random(20261125)
    # One transaction: a demo is loaded whole or not at all (a failed first start leaves an
    # empty database, and the next start tries again), and on SQLite thousands of small
    # commits become one (the load is about ten times faster).
    async with db.transaction():
        if await Member.count() > 0 or await Project.count() > 0:
            return False
        with clock.as_of(present):
            await _load(today, present, rng)
    return True


async def _load(today: date, present: datetime, rng: random.Random) -> None:
    from loyalty import jobs
    from loyalty.cards import service as cards

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
    staff = {
        row["user.username"]: row["id"] for row in await StaffAccount.select(StaffAccount.id, StaffAccount.user.username)
    }
    settings = jobs.current_settings()
    owners = await _owners_now(today)
    demo_phone = normalise_phone(DEMO_OWNER_PHONE)
    story = _Story(
        today=today, now=present, rng=rng, settings=settings, signer=cards.signer_for(settings), staff=staff,
        owners=owners, demo_owner=next(owner for owner in owners if owner.phone == demo_phone),
    )
    shops = await _demo_merchants(today)
    await _demo_referrals(story)
    await _demo_events(story)
    _demo_sales(story, shops)
    await _demo_cases(story)
    await story.replay()
    await _after_the_replay(story)


# --- merchants and their sales ------------------------------------------------------------------

DEMO_MERCHANTS = [  # name, category, points per CNY, discounts (bp) platinum/gold/silver/blue, stores, typical sale (fen)
    ("好家居建材", "decoration", 1, (1500, 1200, 1000, 500), [("BJ", "滨江店"), ("XH", "西湖店")], (50_000, 3_000_000)),
    ("湖畔私房菜", "dining", 2, (1200, 1000, 800, 500), [("HP", "湖畔总店")], (18_000, 160_000)),
    ("启明少儿英语", "education", 1, (1000, 800, 600, 300), [("YH", "云湖里校区"), ("HX", "湖西校区")], (300_000, 1_200_000)),
    ("康宁口腔", "health", 1, (1200, 1000, 800, 500), [("KN", "滨江门诊")], (30_000, 800_000)),
]


@dataclass
class _Shop:
    context: Any  # merchants.service.KeyContext of the shop's till key
    stores: list[str]
    discounts: dict[str, int]
    sale_range: tuple[int, int]


async def _demo_merchants(today: date) -> list[_Shop]:
    from loyalty.cards.tables import TIERS
    from loyalty.merchants import service as merchants
    from loyalty.merchants.service import KeyContext

    shops = []
    for name, category, rate, discounts, stores, sale_range in DEMO_MERCHANTS:
        merchant = await merchants.create_merchant(name, category, points_per_cny=rate)
        for code, store in stores:
            await merchants.add_store(merchant, code, store)
        for tier, percent_bp in zip(TIERS, discounts):
            # In force for the whole replayed month (and more), whatever day of the year it is.
            await merchants.set_discount(merchant, tier, percent_bp, valid_from=today - timedelta(days=400), cap_fen=200_000)
        raw, key_id = await merchants.create_api_key(merchant, label="收银台")
        shops.append(_Shop(KeyContext(key_id, merchant, None, raw[:12]), [code for code, _ in stores], dict(zip(TIERS, discounts)), sale_range))
    return shops


def _demo_sales(story: _Story, shops: list[_Shop]) -> None:
    """The last 30 days at the merchants' tills: 3 to 6 sales a day, most by a circle of
    regulars (张伟 among them), the tier's discount given, points paying part of the bill with
    the phone's dynamic code when the owner has them, and a few returns."""
    rng = story.rng
    regulars = [story.demo_owner, *rng.sample([o for o in story.owners if o is not story.demo_owner], 40)]
    number = 0
    for days_ago in range(30, 0, -1):
        day = story.today - timedelta(days=days_ago)
        for _ in range(rng.randint(3, 6)):
            number += 1
            shop = rng.choices(shops, weights=[4, 5, 2, 2])[0]
            owner = rng.choice(regulars) if rng.random() < 0.8 else rng.choice(story.owners)
            if number % 9 == 1:
                owner = story.demo_owner  # the README's owner shops too
            low, high = shop.sale_range
            gross = rng.randint(low // 100, high // 100) * 100
            moment = local(day, rng.randint(10, 20), rng.choice([0, 10, 20, 30, 40, 50]))
            wants_points = rng.random() < 0.4
            returned = number % 23 == 5
            story.at(moment, _sale_step(story, shop, owner, f"demo-sale-{number}", gross, wants_points, returned, rng.random() < 0.5))


def _sale_step(story: _Story, shop: _Shop, owner: _Owner, key: str, gross: int, wants_points: bool, returned: bool, partly: bool) -> Work:
    from loyalty.cards import service as cards
    from loyalty.cards.tables import Card
    from loyalty.merchants import reversals, sales
    from loyalty.merchants.earning import EarnRules
    from loyalty.points import service as points

    store = shop.stores[int(key.rsplit("-", 1)[1]) % len(shop.stores)]

    async def work() -> None:
        card = await Card.select(Card.tier).where((Card.member == owner.member_id) & (Card.status == "active")).first()
        if card is None:
            return
        discount = sales.max_discount(gross, shop.discounts[card["tier"]], 200_000)
        payable_points = (gross - discount) * story.settings.points_per_cny // 100
        available = await points.available(owner.member_id)
        # 张伟 saves his points (the README shows last year's lot, expiring this December).
        redeem = min(available, payable_points, 20_000) // 100 * 100 if wants_points and owner is not story.demo_owner else 0
        unix_time = clock.now().timestamp()
        code = (
            (await cards.dynamic_code(owner.member_id, story.signer, unix_time)).code if redeem
            else await cards.static_code(owner.member_id, story.signer)
        )
        sale, _ = await sales.create_sale(
            shop.context, key=key, code=code, store_code=store, gross_fen=gross, discount_fen=discount,
            points_to_redeem=redeem, signer=story.signer, unix_time=unix_time, points_per_cny=story.settings.points_per_cny,
            earn_rules=EarnRules.from_settings(story.settings),
        )
        if returned:
            back = local(clock.now().astimezone(clock.LOCAL_ZONE).date() + timedelta(days=2), 15)
            amount = gross // 2 // 100 * 100 if partly else None

            async def give_back() -> None:
                await reversals.reverse_sale(
                    shop.context, sale["id"], key=f"{key}-return", amount_fen=amount,
                    reason="部分退货" if amount else "整单退货",
                )

            story.at(back, give_back)

    return work


# --- referrals --------------------------------------------------------------------------------

# The stage each lead ends at, in turn: a funnel that narrows, with a lost lead now and then.
LEAD_STAGES = ["signed", "visited", "registered", "subscribed", "signed", "cancelled", "visited", "signed", "registered", "subscribed", "signed", "visited"]


async def _demo_referrals(story: _Story) -> None:
    """Friends referred by owners, at every stage of the sales funnel, handled by both sales
    staff; 张伟's own three: one signed last year (its reward vested then, and expires at the
    end of this year), one signed 12 days ago (its reward still vesting), one just registered."""
    rng, today = story.rng, story.today
    sellers = [story.staff[name] for name in ("sales", "sales2") if name in story.staff]
    projects = [row["id"] for row in await Project.select(Project.id).order_by(Project.id)]
    veterans = [o for o in story.owners if o is not story.demo_owner and o.delivered is not None and o.delivered <= today - timedelta(days=365)]
    referrers = rng.sample(veterans, min(14, len(veterans)))
    plans: list[tuple[_Owner, datetime, str, int]] = []  # referrer, registered at, final stage, project
    last_year = date(today.year - 1, 10, 20)
    plans.append((story.demo_owner, local(last_year, 10), "signed", projects[-1]))
    plans.append((story.demo_owner, local(today - timedelta(days=40), 15), "signed", projects[0]))
    plans.append((story.demo_owner, local(today - timedelta(days=4), 19, 30), "registered", projects[-1]))
    for number in range(24):
        final = LEAD_STAGES[number % len(LEAD_STAGES)]
        days_ago = rng.randint(1, 20) if final == "registered" else rng.randint(50, 150)
        plans.append((referrers[number % len(referrers)], local(today - timedelta(days=days_ago), rng.randint(9, 20)), final, rng.choice(projects)))
    for number, (referrer, registered, final, project) in enumerate(plans):
        seller = sellers[number % len(sellers)]
        lead: dict[str, int] = {}
        name = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
        lead_phone = f"176{number:04d}{rng.randint(1000, 9999)}"

        def register(referrer: _Owner = referrer, name: str = name, lead_phone: str = lead_phone, project: int = project, lead: dict[str, int] = lead) -> Work:
            async def work() -> None:
                lead["id"] = (await referrals_service().register_lead(referrer.member_id, name=name, phone=lead_phone, project_id=project))["id"]
            return work

        def move(stage: str, note: str, seller: int = seller, lead: dict[str, int] = lead) -> Work:
            async def work() -> None:
                await referrals_service().move_lead(lead["id"], stage, staff_id=seller, note=note)
            return work

        story.at(registered, register())
        moment = registered
        if final == "cancelled":
            story.at(moment + timedelta(days=rng.randint(5, 15)), move("visited", "带看样板间"))
            story.at(moment + timedelta(days=rng.randint(20, 30)), move("cancelled", "客户选择了其他楼盘"))
            continue
        for stage, gap, note in (("visited", (2, 8), "到访售楼处"), ("subscribed", (3, 12), "已认购"), ("signed", (5, 20), "已签约")):
            if STAGE_ORDER.index(stage) > STAGE_ORDER.index(final):
                break
            moment += timedelta(days=rng.randint(*gap), hours=rng.randint(0, 5))
            if referrer is story.demo_owner and stage == "signed" and registered.date() == last_year:
                moment = local(date(today.year - 1, 11, 25), 16)  # the reward vests in December: it expires at the end of this year
            if referrer is story.demo_owner and stage == "signed" and registered.date() != last_year:
                moment = local(today - timedelta(days=12), 16)
            story.at(min(moment, story.now - timedelta(hours=1)), move(stage, note))


STAGE_ORDER = ["registered", "visited", "subscribed", "signed"]


def referrals_service() -> Any:
    from loyalty.referrals import service

    return service


async def _referred_buyers_file(story: _Story) -> None:
    """The signed buyers' contracts reach the owner file after the signing (as the sales
    system exports them): imported now, each dated the day the lead signed."""
    from loyalty.referrals.tables import Lead

    codes = {row["id"]: (row["code"], row["name"]) for row in await Project.select(Project.id, Project.code, Project.name)}
    signed = await Lead.select(Lead.name, Lead.phone, Lead.project, Lead.signed_at).where(Lead.stage == "signed").order_by(Lead.id)
    if not signed:
        return
    rows = []
    for number, lead in enumerate(signed):
        code, project_name = codes[lead["project"]]
        area = story.rng.choice([96, 110, 125, 143])
        contract = lead["signed_at"].astimezone(clock.LOCAL_ZONE).date()
        rows.append([
            code, project_name, "3期", f"{19 + number // 8}幢", f"{number % 8 + 1}01", f"{area}.00", f"{area * 36_000}.00",
            lead["name"], lead["phone"].removeprefix("+86"), "", "", contract.isoformat(), "", "", "老带新",
        ])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "referred-buyers.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADER)
            writer.writerows(rows)
        await importer.import_owners(path)


# --- events -----------------------------------------------------------------------------------


@dataclass
class _Planned:
    event_id: int
    starts: datetime
    ends: datetime
    opens: datetime
    fee: bool = False


async def _event(
    story: _Story, *, kind: str, title: tuple[str, str], body: tuple[str, str], venue: str, day: date, hour: int, hours: int,
    capacity: int, party: int, points: int, opens: datetime | None = None, program: int | None = None,
    stages: tuple[str, ...] = (), fees: tuple[int, int, int, int] = (0, 0, 0, 0),
) -> _Planned:
    from loyalty.events import catalog

    starts = local(day, hour)
    ends = starts + timedelta(hours=hours)
    opens = opens or starts - timedelta(days=30)
    event_id = await catalog.create_event(catalog.EventDraft(
        kind=kind, title_zh=title[0], title_en=title[1], body_zh=body[0], body_en=body[1], venue=venue, program_id=program,
        starts_at=starts, ends_at=ends, signup_opens_at=opens, signup_closes_at=local(day - timedelta(days=1), 20),
        cancel_deadline=local(day - timedelta(days=2), 20), capacity=capacity, party_size_limit=party,
        attendance_points=points, eligible_stages=stages,
        fee_platinum_fen=fees[0], fee_gold_fen=fees[1], fee_silver_fen=fees[2], fee_blue_fen=fees[3],
    ), story.staff["events"])
    return _Planned(event_id, starts, ends, opens, fee=any(fees))


def _crowd(story: _Story, planned: _Planned, people: list[_Owner], parties: list[int]) -> None:
    """Sign `people` up (with their parties) between sign-up opening and now or the close;
    for an event that is over: the door scans (about 85% come), the no-show job after the
    end, and the attendees' satisfaction surveys."""
    last = min(story.now - timedelta(minutes=30), planned.starts - timedelta(days=1, hours=5))
    if last <= planned.opens:
        return
    spread = (last - planned.opens) / (len(people) + 1)
    over = planned.ends <= story.now
    for number, (owner, party) in enumerate(zip(people, parties), start=1):
        story.at(planned.opens + spread * number, _sign_up(story, planned.event_id, owner, party))
        if over and (owner is story.demo_owner or story.rng.random() < 0.85):
            arrives = planned.starts + timedelta(minutes=story.rng.randint(-40, 35))
            story.at(arrives, _check_in(story, planned, owner))
    if over:
        story.at(planned.ends + timedelta(hours=1), _no_shows())


def _sign_up(story: _Story, event_id: int, owner: _Owner, party: int) -> Work:
    from loyalty.events import signups

    async def work() -> None:
        await signups.sign_up(owner.member_id, event_id, settings=story.settings, party_size=party, join_waitlist=True)

    return work


def _no_shows() -> Work:
    from loyalty.events import signups

    async def work() -> None:
        await signups.mark_no_shows()

    return work


def _check_in(story: _Story, planned: _Planned, owner: _Owner) -> Work:
    from loyalty.cards import service as cards
    from loyalty.events import checkin

    async def work() -> None:
        answer = await checkin.check_in(
            planned.event_id, await cards.static_code(owner.member_id, story.signer), gate="正门 Main gate",
            signer=story.signer, staff_id=story.staff["events"],
        )
        if answer.result == "checked_in" and (owner is story.demo_owner or story.rng.random() < 0.7):
            story.at(planned.ends + timedelta(hours=story.rng.randint(20, 40)), _event_survey(story, planned.event_id, owner))

    return work


def _event_survey(story: _Story, event_id: int, owner: _Owner) -> Work:
    """The survey the hourly job sends an attendee after the event, answered a little later."""
    from loyalty.care import surveys
    from loyalty.care.tables import Survey
    from loyalty.events.tables import Event

    async def work() -> None:
        event = await Event.select(Event.title_zh, Event.project).where(Event.id == event_id).first()
        await surveys.create_survey(owner.member_id, "event", event_id, event["project"] or owner.project_id, event["title_zh"])
        # (its delivery: the replay's outbox run after this step)
        survey = await Survey.select(Survey.id).where(
            (Survey.member == owner.member_id) & (Survey.kind == "event") & (Survey.subject_id == event_id)
        ).first()
        story.at(clock.now() + timedelta(hours=story.rng.randint(1, 30)), _answer(story, owner, survey["id"]))

    return work


def _answer(story: _Story, owner: _Owner, survey_id: int) -> Work:
    from loyalty.care import surveys

    async def work() -> None:
        story.answered += 1
        await surveys.answer(owner.member_id, survey_id, {
            "satisfaction": SATISFACTION_CYCLE[story.answered % len(SATISFACTION_CYCLE)],
            "recommend": RECOMMEND_CYCLE[story.answered % len(RECOMMEND_CYCLE)],
        })

    return work


def _people(story: _Story, count: int, *, with_demo_owner: bool = True, stages: tuple[str, ...] = (), tiers: tuple[str, ...] = ()) -> list[_Owner]:
    pool = [o for o in story.owners if o is not story.demo_owner and (not stages or o.stage in stages) and (not tiers or o.tier in tiers)]
    chosen = story.rng.sample(pool, min(count, len(pool)))
    return [story.demo_owner, *chosen] if with_demo_owner else chosen


def _parties(story: _Story, count: int, limit: int) -> list[int]:
    return [min(limit, story.rng.choices([1, 2, 3, 4], weights=[5, 6, 3, 1])[0]) for _ in range(count + 1)]


async def _demo_events(story: _Story) -> None:
    """Quarterly owner meetups, gatherings on the lunar festivals, the spring program in
    March to May, site open days, a paid seminar and a class that is nearly full with a
    waitlist; those over have their signups, scans, no-shows and surveys."""
    today, rng = story.today, story.rng
    # One meetup a quarter, on the Saturday after the middle month's 15th: two quarters back, this one and the next.
    quarter = (today.month - 1) // 3
    for offset in (-2, -1, 0, 1):
        year, q = today.year + (quarter + offset) // 4, (quarter + offset) % 4
        day = saturday_on_or_after(date(year, q * 3 + 2, 15))
        planned = await _event(
            story, kind="owner_meetup", title=(f"{year}年第{q + 1}季度业主恳谈会", f"Q{q + 1} {year} owners' meetup"),
            body=("与开发商、物业面对面：工程进度、社区规划、答疑。", "Meet the developer and property team: progress, plans, questions."),
            venue="云湖里会所多功能厅", day=day, hour=14, hours=2, capacity=80, party=2, points=50,
        )
        _crowd(story, planned, _people(story, 26 + rng.randint(0, 8)), _parties(story, 34, 2))
    for key, day in festival_dates(today):
        title_zh, title_en, body_zh, body_en, venue, hour = FESTIVAL_TEXT[key]
        planned = await _event(
            story, kind="festival_gathering", title=(f"{day.year}{title_zh}", f"{title_en} {day.year}"), body=(body_zh, body_en),
            venue=venue, day=day, hour=hour, hours=3, capacity=150, party=4, points=100,
        )
        _crowd(story, planned, _people(story, 36 + rng.randint(0, 10)), _parties(story, 46, 4))
    sessions = spring_sessions(today)
    spring = sessions[0].year
    program = await catalog_service().create_program(
        f"{spring}春季业主计划", story.staff["events"], title_en=f"Spring owners' program {spring}",
        body_zh="三月至五月：植树、踏青、亲子运动会。", body_en="March to May: tree planting, an outing and a family sports day.",
    )
    for day, (title_zh, title_en) in zip(sessions, [("业主植树日", "Tree planting day"), ("春日踏青", "Spring outing"), ("亲子运动会", "Family sports day")]):
        planned = await _event(
            story, kind="club_activity", title=(title_zh, title_en), body=("", ""), venue="云湖里中央公园", day=day, hour=9, hours=3,
            capacity=60, party=4, points=50, program=program, opens=local(date(spring, 2, 15), 9),
        )
        _crowd(story, planned, _people(story, 18, with_demo_owner=False), _parties(story, 18, 4))
    # Site open days for buyers waiting for their homes: one a month ago, one coming.
    for day, project in ((saturday_on_or_after(today - timedelta(days=32)), 0), (saturday_on_or_after(today + timedelta(days=10)), 1)):
        planned = await _event(
            story, kind="site_open_day", title=(f"{PROJECTS[project][1]}工地开放日", f"{PROJECTS[project][2]} site open day"),
            body=("戴上安全帽，看看您的新家建到哪一层了。", "Put on a hard hat and see how far your new home has come."),
            venue=f"{PROJECTS[project][1]}售楼处集合", day=day, hour=9, hours=3, capacity=50, party=3, points=30,
            stages=("pre_owner",),
        )
        _crowd(story, planned, _people(story, 16, with_demo_owner=False, stages=("pre_owner",)), _parties(story, 16, 3))
    # A paid seminar (fees by tier; platinum owners free): platinum owners have signed up so far.
    planned = await _event(
        story, kind="decoration_seminar", title=("软装搭配讲座", "Interior styling seminar"),
        body=("设计师讲解软装配色与收纳，含材料包。", "A designer on colours and storage; materials included."),
        venue="好家居建材滨江店", day=saturday_on_or_after(today + timedelta(days=14)), hour=10, hours=2,
        capacity=40, party=2, points=30, fees=(0, 2_000, 3_000, 5_000),
    )
    _crowd(story, planned, _people(story, 4, with_demo_owner=False, tiers=("platinum",)), [1, 2, 1, 1, 1])
    # A small class: 11 of 12 seats taken, and two families waiting for a place.
    planned = await _event(
        story, kind="club_activity", title=("亲子烘焙课", "Family baking class"),
        body=("和孩子一起做曲奇和纸杯蛋糕。", "Bake cookies and cupcakes with your children."),
        venue="云湖里会所烘焙教室", day=saturday_on_or_after(today + timedelta(days=5)), hour=15, hours=2,
        capacity=12, party=3, points=20,
    )
    _crowd(story, planned, _people(story, 7, with_demo_owner=False), [3, 2, 3, 1, 2, 2, 3])


def catalog_service() -> Any:
    from loyalty.events import catalog

    return catalog


# --- care -------------------------------------------------------------------------------------

CASE_TOPICS = [  # kind, title, text: owners write in their own words, in one language (Chinese)
    ("complaint", "地库渗水", "B2 车位上方渗水，车上都是水渍。"),
    ("complaint", "夜间施工噪音", "隔壁楼栋晚上十点后仍在施工。"),
    ("repair", "入户门锁损坏", "指纹锁经常识别失败。"),
    ("complaint", "电梯故障", "3 号楼电梯本周停了两次。"),
    ("repair", "卫生间瓷砖空鼓", "主卫墙砖敲击有空响。"),
    ("suggestion", "增加儿童游乐设施", "希望在中央花园增加滑梯和沙池。"),
    ("inquiry", "交付时间咨询", "想确认 2 期交付的具体日期。"),
    ("complaint", "快递柜不够用", "傍晚快递柜经常满。"),
]
# How each case has gone so far: hours ago it was opened, then hours after that to the first
# reply, to the result, to the follow-up call (None: not yet). Some replied within 48 hours,
# some late, some overdue now, in every state.
CASE_PLANS = [
    (40 * 24, 3, 50, 70), (33 * 24, 20, 80, 95), (28 * 24, 6, 30, 45), (24 * 24, 58, 100, 118), (20 * 24, 2, 26, 40),
    (17 * 24, 30, 60, 80), (14 * 24, 66, 90, 100), (11 * 24, 5, 48, 60), (9 * 24, 4, None, None), (6 * 24, 10, 70, None),
    (5 * 24, 8, 110, None), (4 * 24, 12, None, None), (3 * 24, 1, None, None), (96, None, None, None), (60, None, None, None),
    (20, None, None, None), (3, None, None, None), (2 * 24, 30, None, None),
]


async def _demo_cases(story: _Story) -> None:
    rng = story.rng
    for number, (opened_hours_ago, reply, result, follow) in enumerate(CASE_PLANS):
        owner = story.demo_owner if number == 2 else rng.choice(story.owners)
        kind, title, text = CASE_TOPICS[number % len(CASE_TOPICS)]
        opened = story.now - timedelta(hours=opened_hours_ago, minutes=rng.randint(0, 50))
        case: dict[str, int] = {}
        story.at(opened, _case_step(story, "open", case, owner=owner, kind=kind, title=title, text=text, by_phone=number % 3 == 0))
        if reply is not None:
            story.at(opened + timedelta(hours=reply), _case_step(story, "reply", case))
        if result is not None:
            story.at(opened + timedelta(hours=result), _case_step(story, "resolve", case, owner=owner))
        if follow is not None:
            story.at(opened + timedelta(hours=follow), _case_step(story, "follow_up", case))


def _case_step(story: _Story, what: str, case: dict[str, int], *, owner: _Owner | None = None, kind: str = "", title: str = "", text: str = "", by_phone: bool = False) -> Work:
    from loyalty.care import cases
    from loyalty.care.tables import Survey

    handler = story.staff["service"]

    async def work() -> None:
        if what == "open":
            case["id"] = await cases.open_case(owner.member_id, kind, title, text, opened_by_staff=handler if by_phone else None)
            await cases.assign(case["id"], handler, story.staff["admin"])
        elif what == "reply":
            await cases.staff_reply(case["id"], handler, "您好，已收到，工程部将上门查看。")
        elif what == "resolve":
            await cases.resolve(case["id"], "已处理完毕并复查。", handler)
            survey = await Survey.select(Survey.id).where((Survey.kind == "case") & (Survey.subject_id == case["id"])).first()
            if survey is not None and story.rng.random() < 0.8:
                story.at(clock.now() + timedelta(hours=story.rng.randint(2, 20)), _answer(story, owner, survey["id"]))
        else:
            await cases.follow_up(case["id"], "电话回访：业主认可处理结果。", handler)

    return work


# --- now --------------------------------------------------------------------------------------


async def _after_the_replay(story: _Story) -> None:
    """As of now: what the nightly jobs would have done, the referred buyers' contracts, the
    care calendar's occasions, and reminders for the coming events waiting in the outbox."""
    from loyalty.care import calendar, outbox
    from loyalty.events.tables import Event, Signup
    from loyalty.labels import label
    from loyalty.points import service as points

    await points.vest_due()
    await points.expire_due()
    await _referred_buyers_file(story)
    await calendar.schedule_occasions()
    # The return visits the hourly job finds, and this month's plan as the 1st's job made it.
    from loyalty.care import visits

    await visits.create_due_visits(story.now)
    await visits.plan_month(story.now)
    coming = await Event.select(Event.id, Event.title_zh, Event.title_en, Event.venue, Event.starts_at).where(
        (Event.starts_at > story.now) & (Event.status == "published")
    )
    for event in coming:
        eve = local(event["starts_at"].astimezone(clock.LOCAL_ZONE).date() - timedelta(days=1), 10)
        if eve <= story.now:
            continue  # the care calendar has it (within 24 hours)
        at = event["starts_at"].astimezone(clock.LOCAL_ZONE).strftime("%Y-%m-%d %H:%M")
        for signup in await Signup.select(Signup.id, Signup.member).where((Signup.event == event["id"]) & (Signup.status == "confirmed")):
            texts = {
                "zh-CN": (label("care.reminder.subject", "zh-CN"), label("care.reminder", "zh-CN", title=event["title_zh"], at=at, venue=event["venue"])),
                "en": (label("care.reminder.subject", "en"), label("care.reminder", "en", title=event["title_en"] or event["title_zh"], at=at, venue=event["venue"])),
            }
            # The calendar job queues the same reminder under the same key the day before: once.
            await outbox.message_member(
                signup["member"], kind="event_reminder", template="event_reminder", texts=texts,
                payload={"event_id": event["id"], "signup_id": signup["id"]}, dedupe_key=f"event-reminder:{signup['id']}",
                not_before=eve, urgent_by=event["starts_at"] - timedelta(hours=2),
            )


async def demo_partner_key() -> str:
    """A fresh key for the first demo merchant, printed when the demo starts."""
    from loyalty.merchants import service as merchants
    from loyalty.merchants.tables import Merchant

    merchant = await Merchant.select(Merchant.id).order_by(Merchant.id).first()
    raw, _ = await merchants.create_api_key(merchant["id"], label="demo till")
    return raw
