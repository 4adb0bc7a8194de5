"""The dashboards' numbers, read from the records of the other contexts (never stored twice).

Counts and money are integers (money in fen); a rate is a float rounded to 4 places, or None
when there is nothing to divide by. Date ranges are whole days in Beijing time, both ends
included."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from piccolo.query.functions.aggregate import Count, Sum

from loyalty import clock
from loyalty.cards.tables import TIERS, Card
from loyalty.care import kpis as care_kpis
from loyalty.errors import InvalidField
from loyalty.events.tables import Event, Signup
from loyalty.i18n import _
from loyalty.members.tables import Project
from loyalty.merchants.tables import Merchant, Sale
from loyalty.points.tables import PointsAccount
from loyalty.referrals import service as referrals

FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2199, 12, 31)
FEN_PER_CNY = 100
# The seeds' target: referred buyers are at least 30% of new buyers.
REFERRAL_TARGET = 0.30
# Signups that are (or were) a seat at the event; waitlisted, unpaid and cancelled ones are not.
SIGNED_UP = ("confirmed", "attended", "no_show")
# The lines of the points liability, in order (LiabilityRowView.kind).
LIABILITY_KINDS = ("available", "pending", "total", "debt")


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def check_range(start: date, end: date) -> tuple[datetime, datetime]:
    """The range as [first local midnight, the midnight after the last day)."""
    for name, day in (("start", start), ("end", end)):
        if not FIRST_DAY <= day <= LAST_DAY:
            raise InvalidField(_("dates run from {first} to {last}", first=FIRST_DAY.isoformat(), last=LAST_DAY.isoformat()), field=name)
    if start > end:
        raise InvalidField(_("the range ends before it starts"), field="end")
    since = datetime(start.year, start.month, start.day, tzinfo=clock.LOCAL_ZONE)
    until = datetime(end.year, end.month, end.day, tzinfo=clock.LOCAL_ZONE) + timedelta(days=1)
    return since, until


async def _project_names(project_id: int | None = None) -> dict[int, str]:
    query = Project.select(Project.id, Project.name).order_by(Project.id)
    if project_id is not None:
        query = query.where(Project.id == project_id)
    return {row["id"]: row["name"] for row in await query}


async def english_project_names() -> dict[int, str]:
    """The projects that have an English name (Project.name_en), by id: what an English reader
    reads where the reports name a project (the pages do the same)."""
    rows = await Project.select(Project.id, Project.name_en).where(Project.name_en != "")
    return {row["id"]: row["name_en"] for row in rows}


# --- tiers -----------------------------------------------------------------------------------


@dataclass
class TierRow:
    project_id: int | None  # None on the totals row
    project: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TIERS, 0))

    @property
    def members(self) -> int:
        return sum(self.counts.values())


@dataclass
class TierDistribution:
    """rows (per project) − counted_again + without_a_unit = totals, tier by tier: an owner of
    units in two projects is in both projects' rows and once in the totals."""

    rows: list[TierRow]
    totals: TierRow
    counted_again: TierRow  # per tier: the rows' extra counts of owners in several projects
    without_a_unit: TierRow  # per tier: current cards whose member owns no unit today


_ACTIVE_OWNERS = (
    "SELECT ownership.member FROM ownership JOIN unit ON unit.id = ownership.unit "
    "WHERE ownership.status = 'active' AND unit.project = {}"
)


async def tier_distribution(project_id: int | None = None) -> TierDistribution:
    """Members holding a current card (not `replaced`; suspended cards count) per project and
    tier. A member counts in every project where they own a unit now; the totals count each
    member once (without a project, every current card, owner of a unit today or not)."""
    names = await _project_names(project_id)
    rows = {pid: TierRow(pid, name) for pid, name in names.items()}
    per_project = (
        "SELECT unit.project AS project_id, card.tier AS tier, COUNT(DISTINCT card.member) AS members "
        "FROM card JOIN ownership ON ownership.member = card.member AND ownership.status = 'active' "
        "JOIN unit ON unit.id = ownership.unit WHERE card.status <> 'replaced'"
    )
    totals_sql = "SELECT card.tier AS tier, COUNT(DISTINCT card.member) AS members FROM card WHERE card.status <> 'replaced'"
    args: tuple[int, ...] = ()
    if project_id is not None:
        per_project += " AND unit.project = {}"
        totals_sql += f" AND card.member IN ({_ACTIVE_OWNERS})"
        args = (project_id,)
    for found in await Card.raw(per_project + " GROUP BY unit.project, card.tier", *args):
        row = rows.get(found["project_id"])
        if row is not None and found["tier"] in row.counts:
            row.counts[found["tier"]] += int(found["members"])
    totals = TierRow(project_id, names.get(project_id, "") if project_id is not None else "")
    for found in await Card.raw(totals_sql + " GROUP BY card.tier", *args):
        if found["tier"] in totals.counts:
            totals.counts[found["tier"]] += int(found["members"])
    without = TierRow(project_id, totals.project)
    if project_id is None:
        for found in await Card.raw(
            "SELECT card.tier AS tier, COUNT(DISTINCT card.member) AS members FROM card WHERE card.status <> 'replaced' "
            "AND card.member NOT IN (SELECT ownership.member FROM ownership WHERE ownership.status = 'active') GROUP BY card.tier"
        ):
            if found["tier"] in without.counts:
                without.counts[found["tier"]] += int(found["members"])
    again = TierRow(project_id, totals.project)
    for tier in again.counts:
        in_rows = sum(row.counts[tier] for row in rows.values())
        again.counts[tier] = in_rows - (totals.counts[tier] - without.counts[tier])
    return TierDistribution(rows=list(rows.values()), totals=totals, counted_again=again, without_a_unit=without)


# --- referrals -------------------------------------------------------------------------------


@dataclass
class ReferralRow:
    project_id: int | None  # None on the totals row
    project: str
    month: str  # YYYY-MM, or "all" on the totals row
    registered: int = 0
    visited: int = 0
    subscribed: int = 0
    signed: int = 0
    new_buyers: int = 0
    referred_buyers: int = 0
    signed_of_registered: int = 0  # of the leads registered in the month, those signed since
    target: float = REFERRAL_TARGET

    @property
    def conversion(self) -> float | None:
        """The month's cohort (referrals.FunnelRow.conversion): at most 1 by construction."""
        return rate(self.signed_of_registered, self.registered)

    @property
    def referral_share(self) -> float | None:
        return referrals.referral_share(self.referred_buyers, self.new_buyers)

    @property
    def meets_target(self) -> bool | None:
        share = self.referral_share
        return None if share is None else share >= self.target


@dataclass
class ReferralFunnel:
    rows: list[ReferralRow]
    totals: ReferralRow


async def referral_funnel(start: date, end: date, project_id: int | None = None) -> ReferralFunnel:
    """The referral funnel per project and month (referrals.funnel) against the 30% target:
    a row meets it when referred buyers are ≥ 30% of the month's new buyers, both as
    referrals.new_buyer_counts defines them (None when the month had no new buyer). The
    totals add the rows up."""
    check_range(start, end)
    rows: list[ReferralRow] = []
    totals = ReferralRow(project_id, "", "all")
    for found in await referrals.funnel(start, end, project_id):
        row = ReferralRow(
            found.project_id, found.project, found.month, found.registered, found.visited, found.subscribed,
            found.signed, found.new_buyers, found.referred_buyers, found.signed_of_registered,
        )
        rows.append(row)
        for stage in ("registered", "visited", "subscribed", "signed", "new_buyers", "referred_buyers", "signed_of_registered"):
            setattr(totals, stage, getattr(totals, stage) + getattr(row, stage))
    if project_id is not None:
        totals.project = (await _project_names(project_id)).get(project_id, "")
    return ReferralFunnel(rows=rows, totals=totals)


# --- events ----------------------------------------------------------------------------------


@dataclass
class EventRow:
    event_id: int | None  # None on the totals row
    title_zh: str
    title_en: str
    starts_at: datetime | None
    status: str
    seats: int = 0
    signups: int = 0
    people: int = 0
    attended: int = 0
    attended_people: int = 0
    no_show: int = 0
    no_show_people: int = 0

    @property
    def no_show_rate(self) -> float | None:
        """Of the signups decided at the door (attended or no-show), the share that did not come."""
        return rate(self.no_show, self.attended + self.no_show)

    @property
    def attendance_rate(self) -> float | None:
        return rate(self.attended, self.attended + self.no_show)


@dataclass
class EventAttendance:
    rows: list[EventRow]
    totals: EventRow


async def event_attendance(start: date, end: date) -> EventAttendance:
    """Per event starting in the range (drafts left out): seats, signed up (confirmed,
    attended and no-show signups, and their people), attended, no-shows; no-show rate =
    no-shows / (attended + no-shows), in signups."""
    since, until = check_range(start, end)
    events = await Event.select(
        Event.id, Event.title_zh, Event.title_en, Event.starts_at, Event.status, Event.capacity
    ).where((Event.starts_at >= since) & (Event.starts_at < until) & (Event.status != "draft")).order_by(Event.starts_at, Event.id)
    rows = {
        e["id"]: EventRow(e["id"], e["title_zh"], e["title_en"], e["starts_at"], e["status"], seats=e["capacity"])
        for e in events
    }
    totals = EventRow(None, "", "", None, "", seats=sum(row.seats for row in rows.values()))
    if rows:
        counted = await Signup.select(
            Signup.event, Signup.status, Count(alias="signups"), Sum(Signup.party_size, alias="people")
        ).where(Signup.event.is_in(list(rows)) & Signup.status.is_in(list(SIGNED_UP))).group_by(Signup.event, Signup.status)
        for found in counted:
            signups, people = int(found["signups"]), int(found["people"] or 0)
            for row in (rows[found["event"]], totals):
                row.signups += signups
                row.people += people
                if found["status"] == "attended":
                    row.attended += signups
                    row.attended_people += people
                elif found["status"] == "no_show":
                    row.no_show += signups
                    row.no_show_people += people
    return EventAttendance(rows=list(rows.values()), totals=totals)


# --- merchants -------------------------------------------------------------------------------


@dataclass
class MerchantRow:
    merchant_id: int | None  # None on the totals row
    merchant: str
    sales: int = 0
    gross_fen: int = 0
    discount_fen: int = 0
    points_redeemed: int = 0
    points_value_fen: int = 0
    reversed_fen: int = 0


@dataclass
class MerchantSales:
    rows: list[MerchantRow]
    totals: MerchantRow


_SUMMED = ("gross_fen", "discount_fen", "points_redeemed", "points_value_fen", "reversed_fen")


async def merchant_sales(start: date, end: date) -> MerchantSales:
    """Per merchant (every merchant, zeros included), the sales created in the range: count,
    gross, discounts, points taken as payment and their value (what the developer owes), and
    how much of those sales has been reversed so far. The monthly settlement instead books a
    return in the month it was made."""
    since, until = check_range(start, end)
    rows = {
        m["id"]: MerchantRow(m["id"], m["name"])
        for m in await Merchant.select(Merchant.id, Merchant.name).order_by(Merchant.id)
    }
    totals = MerchantRow(None, "")
    summed = await Sale.select(
        Sale.merchant, Count(alias="sales"), *(Sum(getattr(Sale, name), alias=name) for name in _SUMMED)
    ).where((Sale.created_at >= since) & (Sale.created_at < until)).group_by(Sale.merchant)
    for found in summed:
        for row in (rows.setdefault(found["merchant"], MerchantRow(found["merchant"], "")), totals):
            row.sales += int(found["sales"])
            for name in _SUMMED:
                setattr(row, name, getattr(row, name) + int(found[name] or 0))
    return MerchantSales(rows=list(rows.values()), totals=totals)


# --- points liability ------------------------------------------------------------------------


@dataclass
class PointsLiability:
    points_per_cny: int
    accounts: int
    available: int
    pending: int
    debt: int  # points owed *by* members (only the `unlimited` clawback makes any); not netted

    def value_fen(self, points: int) -> int:
        return points * FEN_PER_CNY // self.points_per_cny

    @property
    def available_value_fen(self) -> int:
        return self.value_fen(self.available)

    @property
    def pending_value_fen(self) -> int:
        return self.value_fen(self.pending)

    @property
    def total_points(self) -> int:
        return self.available + self.pending

    @property
    def total_value_fen(self) -> int:
        return self.value_fen(self.total_points)


async def points_liability(points_per_cny: int) -> PointsLiability:
    """What the developer owes in points: available and pending points over all accounts,
    and their value in fen (points × 100 // points_per_cny). A negative balance is a debt of
    that member, reported apart, never subtracted from what is owed to the others."""
    if points_per_cny <= 0:
        raise InvalidField(_("points_per_cny must be positive"), field="points_per_cny")
    found = (
        await PointsAccount.raw(
            "SELECT COUNT(*) AS accounts, "
            "COALESCE(SUM(CASE WHEN available > 0 THEN available ELSE 0 END), 0) AS available, "
            "COALESCE(SUM(CASE WHEN available < 0 THEN -available ELSE 0 END), 0) AS debt, "
            "COALESCE(SUM(pending), 0) AS pending FROM points_account"
        )
    )[0]
    return PointsLiability(
        points_per_cny=points_per_cny, accounts=int(found["accounts"]), available=int(found["available"]),
        pending=int(found["pending"]), debt=int(found["debt"]),
    )


# --- care KPIs -------------------------------------------------------------------------------


async def kpis(start: date, end: date, project_id: int | None = None) -> list[care_kpis.KpiRow]:
    """The care KPIs per project and month, then a totals row (loyalty.care.kpis: one formula
    for this dashboard and /api/v1/staff/kpis)."""
    check_range(start, end)
    return await care_kpis.kpis(start, end, project_id=project_id)


KPI_TARGETS = care_kpis.TARGETS
