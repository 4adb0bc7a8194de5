"""The numbers the business steers by, per project and month (Beijing time), from records:

- satisfaction rate (target ≥ 85%): of all five-point answers (an event or case survey's
  overall score, each scored dimension of a yearly survey), the share of 4 and 5;
- NPS: % of 9–10 minus % of 0–6 on "would you recommend us?";
- reply on time (target 100%): of cases whose first-reply clock has ended (replied, or past
  due), the share replied by the deadline; complaints alone are given too;
- follow-up rate (target 100%): of resolved cases whose follow-up clock has ended, the share
  followed up by the deadline;
- referral share of new buyers (target ≥ 30%): referred buyers / new buyers, as the
  referral funnel counts them (loyalty.referrals.service.new_buyer_counts); `referral_signed`
  is the funnel's own count of leads signed in the month, shown beside it, not its numerator.
One function; the dashboards and `/api/v1/staff/kpis` both use it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from loyalty import clock
from loyalty.care.tables import DIMENSIONS, Case, Survey
from loyalty.errors import InvalidField
from loyalty.i18n import _
from loyalty.referrals import service as referrals

TARGETS = {"satisfaction_rate": 0.85, "reply_on_time_rate": 1.0, "follow_up_rate": 1.0, "referral_share": 0.30}
# The seeds' weighted scoring of a five-point answer: 非常满意 (5) 1.0, 满意 (4) 0.8, 一般 (3) 0.6,
# 不满意 (2) 0.3, 非常不满意 (1) 0. A weighted satisfaction is the mean weight of the answers.
SATISFACTION_WEIGHTS = {5: 1.0, 4: 0.8, 3: 0.6, 2: 0.3, 1: 0.0}


def five_point_answers(survey: dict) -> list[tuple[str, int]]:
    """The answered five-point questions of a survey, (field, score): an event or case survey's
    overall `satisfaction`, a yearly survey's scored dimensions. What every satisfaction KPI counts."""
    return [(name, survey[name]) for name in ("satisfaction", *DIMENSIONS) if survey.get(name) is not None]


def reply_clock(case: dict, now: datetime) -> tuple[bool, bool]:
    """(counted, on time) for a case's first-reply clock: counted once the clock has ended
    (replied, or past due), on time when the reply came by the deadline (48 hours)."""
    ended = case["first_reply_at"] is not None or now > case["first_reply_due"]
    on_time = case["first_reply_at"] is not None and case["first_reply_at"] <= case["first_reply_due"]
    return ended, ended and on_time


@dataclass
class KpiRow:
    project_id: int | None
    month: str  # YYYY-MM, or "all" for the totals row
    scores: int = 0
    satisfied: int = 0
    recommend_answers: int = 0
    promoters: int = 0
    detractors: int = 0
    replies_due: int = 0
    replied_on_time: int = 0
    complaint_replies_due: int = 0
    complaints_replied_on_time: int = 0
    follow_ups_due: int = 0
    followed_up_on_time: int = 0
    referral_signed: int = 0
    new_buyers: int = 0
    referred_buyers: int = 0
    overdue_now: int = field(default=0)

    @staticmethod
    def _share(part: int, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    @property
    def satisfaction_rate(self) -> float | None:
        return self._share(self.satisfied, self.scores)

    @property
    def nps(self) -> float | None:
        if not self.recommend_answers:
            return None
        return round(100 * (self.promoters - self.detractors) / self.recommend_answers, 1)

    @property
    def reply_on_time_rate(self) -> float | None:
        return self._share(self.replied_on_time, self.replies_due)

    @property
    def complaint_reply_on_time_rate(self) -> float | None:
        return self._share(self.complaints_replied_on_time, self.complaint_replies_due)

    @property
    def follow_up_rate(self) -> float | None:
        return self._share(self.followed_up_on_time, self.follow_ups_due)

    @property
    def referral_share(self) -> float | None:
        return referrals.referral_share(self.referred_buyers, self.new_buyers)


def _month(moment: datetime | date) -> str:
    day = moment.astimezone(clock.LOCAL_ZONE).date() if isinstance(moment, datetime) else moment
    return f"{day.year:04d}-{day.month:02d}"


async def kpis(start: date, end: date, *, project_id: int | None = None, now: datetime | None = None) -> list[KpiRow]:
    """Rows per (project, month) with something to count, then one totals row (month "all",
    project `project_id`). Surveys count in the month they were answered, cases in the month
    they were opened."""
    first, last = date(2000, 1, 1), date(2199, 12, 31)
    for name, day in (("start", start), ("end", end)):
        if not first <= day <= last:
            raise InvalidField(_("dates run from {first} to {last}", first=first.isoformat(), last=last.isoformat()), field=name)
    if end < start:
        raise InvalidField(_("the range ends before it starts"), field="end")
    now = now or clock.now()
    since = datetime.combine(start, time(0), clock.LOCAL_ZONE)
    until = datetime.combine(end, time(23, 59, 59, 999999), clock.LOCAL_ZONE)
    rows: dict[tuple[int | None, str], KpiRow] = {}
    total = KpiRow(project_id, "all")

    def bucket(project: int | None, month: str) -> list[KpiRow]:
        return [rows.setdefault((project, month), KpiRow(project, month)), total]

    surveys = Survey.select().where(Survey.answered_at.is_not_null() & (Survey.answered_at >= since) & (Survey.answered_at <= until))
    cases = Case.select().where((Case.opened_at >= since) & (Case.opened_at <= until))
    if project_id is not None:
        surveys = surveys.where(Survey.project == project_id)
        cases = cases.where(Case.project == project_id)
    for survey in await surveys:
        scores = [score for _name, score in five_point_answers(survey)]
        for row in bucket(survey["project"], _month(survey["answered_at"])):
            for score in scores:
                row.scores += 1
                row.satisfied += score >= 4
            if survey["recommend"] is not None:
                row.recommend_answers += 1
                row.promoters += survey["recommend"] >= 9
                row.detractors += survey["recommend"] <= 6
    for case in await cases:
        for row in bucket(case["project"], _month(case["opened_at"])):
            reply_ended, on_time = reply_clock(case, now)
            if reply_ended:
                row.replies_due += 1
                row.replied_on_time += on_time
                if case["kind"] == "complaint":
                    row.complaint_replies_due += 1
                    row.complaints_replied_on_time += on_time
            if case["follow_up_due"] is not None and (case["followed_up_at"] is not None or now > case["follow_up_due"]):
                row.follow_ups_due += 1
                row.followed_up_on_time += case["followed_up_at"] is not None and case["followed_up_at"] <= case["follow_up_due"]
            late = (
                (case["first_reply_at"] is None and now > case["first_reply_due"])
                or (case["resolved_at"] is None and now > case["result_due"])
                or (case["status"] == "resolved" and case["follow_up_due"] is not None and now > case["follow_up_due"])
            )
            row.overdue_now += late
    for funnel_row in await referrals.funnel(start, end, project_id):
        for row in bucket(funnel_row.project_id, funnel_row.month):
            row.referral_signed += funnel_row.signed
            row.new_buyers += funnel_row.new_buyers
            row.referred_buyers += funnel_row.referred_buyers
    return sorted(rows.values(), key=lambda r: (r.month, r.project_id or 0)) + [total]
