"""Old owner brings new (老带新): register a lead, move it through its stages, pay each
reward exactly once, and count the funnel the business steers by (referred buyers ≥ 30%)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from loyalty.i18n import DEFAULT_LOCALE, _, _n
from loyalty.i18n.enums import ENUMS
from loyalty.i18n.format import Later, date as written_date, identifiers
from loyalty import clock, db
from loyalty.audit import service as audit
from loyalty.errors import DomainError, InvalidField, NotFound, RetryLater
from loyalty.members.tables import Member, Ownership, Project
from loyalty.phones import normalise_phone
from loyalty.points import service as points
from loyalty.referrals.tables import LEAD_STAGES, STAGES, Lead, LeadStageChange, OfficeVisit, ReferralAttempt, RewardRule


class ReferralRejected(DomainError):
    status = 422


class SelfReferral(ReferralRejected):
    type = "referral-self"
    title = _("You cannot refer yourself")


class SameHousehold(ReferralRejected):
    type = "referral-same-household"
    title = _("Co-owners of one home are one household and cannot refer each other")


class CloseRelativeExcluded(ReferralRejected):
    type = "referral-close-relative"
    title = _("Close relatives are excluded from referral rewards")


class AlreadyOwner(ReferralRejected):
    type = "referral-already-owner"
    title = _("This person is already an owner")


class VisitedBeforeRegistration(ReferralRejected):
    type = "referral-visited-before"
    title = _("This person visited the sales office before the referral")


class ProtectedByAnotherOwner(ReferralRejected):
    type = "referral-protected"
    title = _("Another owner referred this person first")


class AlreadyReferred(ReferralRejected):
    type = "referral-duplicate"
    title = _("You have already referred this person")


class YearlyCapReached(ReferralRejected):
    type = "referral-yearly-cap"
    title = _("The yearly referral limit is reached")


class ReferrerNotOwner(ReferralRejected):
    type = "referral-not-owner"
    title = _("Only owners can refer")


class ReferralNotAccepted(ReferralRejected):
    """What an owner is told for a phone that is already an owner's, protected for another
    referrer, or visited the sales office before: one answer for all three, with nothing
    that says which (no date, no other referrer), so the member route cannot be used to test
    whether a phone number belongs to an owner. Sales see the real reason (staff route, and
    the owner's attempts in `attempts`)."""

    type = "referral-not-accepted"
    title = _("This referral cannot be accepted")


NOT_ACCEPTED_DETAIL = _("This person cannot be registered as your referral; your sales consultant can tell you more.")
NAME_LENGTH = _("Enter a name of 1 to 50 characters")
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2199, 12, 31)
# The refusals that tell something about the phone (or about another owner), never told to an owner.
_KEPT_FROM_OWNERS = (AlreadyOwner, VisitedBeforeRegistration, ProtectedByAnotherOwner)


class ReferralDailyCapReached(RetryLater):
    type = "referral-daily-cap"
    title = _("You have registered as many referrals as allowed today; try again tomorrow")


class StageBackwards(DomainError):
    type = "referral-stage-backwards"
    status = 409
    title = _("A lead's stage only moves forward")


@dataclass(frozen=True)
class Policy:
    protection_days: int = 90
    yearly_cap: int = 20
    clawback: str = "within_balance"
    daily_cap_per_owner: int = 10  # attempts per owner per Beijing day on the member page


def _stage_index(stage: str) -> int:
    return STAGES.index(stage)


async def _owned_unit_ids(member_id: int) -> list[int]:
    rows = await Ownership.select(Ownership.unit).where(
        (Ownership.member == member_id) & (Ownership.status == "active")
    )
    return [row["unit"] for row in rows]


async def register_lead(
    referrer_id: int,
    *,
    name: str,
    phone: str,
    project_id: int,
    by_kind: str = "member",
    by_id: int | None = None,
    close_relative: bool = False,
    policy: Policy = Policy(),
    region: str = "CN",
    today: date | None = None,
) -> dict[str, Any]:
    """Register a lead for `referrer_id`. Refused, with a typed reason, for: a referrer who
    owns nothing, self-referral, the same household (co-owners of one unit), a declared
    close relative, someone who is already an owner, someone who visited the sales office
    before, someone another owner referred within the protection window, a second
    registration by the same owner, and a referrer at the yearly cap of signed deals."""
    today = today or clock.today()
    name = (name or "").strip()
    if not 1 <= len(name) <= 50:
        raise InvalidField(NAME_LENGTH, field="name")
    lead_phone = normalise_phone(phone, region)
    referrer = await Member.select(Member.id, Member.phone).where(Member.id == referrer_id).first()
    if referrer is None:
        raise NotFound(_("There is no member {member_id}", member_id=referrer_id), field="referrer")
    if not await Project.exists().where(Project.id == project_id):
        raise InvalidField(_("There is no project {project_id}", project_id=project_id), field="project")
    units = await _owned_unit_ids(referrer_id)
    if not units:
        raise ReferrerNotOwner(_("Only owners with a signed purchase contract can refer friends"))
    if lead_phone == referrer["phone"]:
        raise SelfReferral(field="phone")
    if close_relative:
        raise CloseRelativeExcluded(field="close_relative")
    lead_member = await Member.select(Member.id).where(Member.phone == lead_phone).first()
    if lead_member is not None:
        lead_units = await _owned_unit_ids(lead_member["id"])
        if set(lead_units) & set(units):
            raise SameHousehold(field="phone")
        if lead_units:
            raise AlreadyOwner(field="phone")
    if await OfficeVisit.exists().where((OfficeVisit.phone == lead_phone) & (OfficeVisit.project == project_id)):
        raise VisitedBeforeRegistration(field="phone")
    async with db.transaction():
        # One registration of a phone at a time: the first referrer wins, the others see it.
        await db.serialise_on(f"lead-phone:{lead_phone}")
        if await Lead.exists().where((Lead.phone == lead_phone) & (Lead.stage == "signed")):
            raise AlreadyOwner(_("This person has already bought a home through a referral"), field="phone")
        holders = await Lead.select(Lead.id, Lead.referrer, Lead.registered_at, Lead.protected_until).where(
            (Lead.phone == lead_phone) & (Lead.stage != "cancelled") & (Lead.protected_until >= today)
        )
        for holder in holders:
            if holder["referrer"] == referrer_id:
                # The referrer's own lead: its days are theirs to read (another owner's lead
                # never reaches this sentence). No name: a problem's words are all in the
                # reader's language, and the page has the name (lead_id).
                raise AlreadyReferred(
                    _(
                        "You already referred this person on {day}; the referral is yours until {until}",
                        day=Later(written_date, holder["registered_at"].astimezone(clock.LOCAL_ZONE).date()),
                        until=Later(written_date, holder["protected_until"]),
                    ),
                    field="phone", lead_id=holder["id"], protected_until=holder["protected_until"].isoformat(),
                )
            raise ProtectedByAnotherOwner(
                _(
                    "Another owner referred this person; the referral is protected until {day}",
                    day=Later(written_date, holder["protected_until"]),
                ),
                field="phone",
                protected_until=holder["protected_until"].isoformat(),
            )
        signed_this_year = await Lead.count().where(
            (Lead.referrer == referrer_id)
            & (Lead.stage == "signed")
            & (Lead.signed_at >= datetime(today.year, 1, 1, tzinfo=clock.LOCAL_ZONE))
        )
        if signed_this_year >= policy.yearly_cap:
            raise YearlyCapReached(
                _n(
                    "{count} referral signed this year: the yearly limit of {limit} is reached",
                    "{count} referrals signed this year: the yearly limit of {limit} is reached",
                    signed_this_year, limit=policy.yearly_cap,
                )
            )
        now = clock.now()
        rows = await Lead.insert(
            Lead(
                referrer=referrer_id,
                name=name,
                phone=lead_phone,
                project=project_id,
                registered_at=now,
                registered_by_kind=by_kind,
                registered_by_id=by_id,
                protected_until=today + timedelta(days=policy.protection_days),
            )
        ).returning(Lead.id)
        lead_id = rows[0]["id"]
        await LeadStageChange.insert(
            LeadStageChange(lead=lead_id, from_stage="", to_stage="registered", actor_kind=by_kind, actor_id=by_id, at=now)
        )
    return await get_lead(lead_id)


async def refer_friend(
    referrer_id: int,
    *,
    name: str,
    phone: str,
    project_id: int,
    close_relative: bool = False,
    policy: Policy = Policy(),
    region: str = "CN",
    today: date | None = None,
) -> dict[str, Any]:
    """An owner registers a friend on the member page: `register_lead` under two more rules.
    At most `policy.daily_cap_per_owner` attempts per owner per Beijing day, refusals counted
    (the slot is taken before the checks run, under a per-owner lock, so concurrent requests
    cannot all pass). And a phone that is already an owner's, protected for another referrer
    or visited before is refused with one neutral `ReferralNotAccepted`; the precise reason
    is kept on the attempt for sales."""
    today = today or clock.today()
    name = (name or "").strip()
    if not 1 <= len(name) <= 50:
        raise InvalidField(NAME_LENGTH, field="name")
    lead_phone = normalise_phone(phone, region)
    if not await Project.exists().where(Project.id == project_id):
        raise InvalidField(_("There is no project {project_id}", project_id=project_id), field="project")
    attempt_id = await _take_attempt(referrer_id, lead_phone, project_id, policy.daily_cap_per_owner, today)
    try:
        lead = await register_lead(
            referrer_id, name=name, phone=lead_phone, project_id=project_id, by_kind="member", by_id=referrer_id,
            close_relative=close_relative, policy=policy, region=region, today=today,
        )
    except DomainError as refused:
        # Sales read the precise reason later, in the club's working language (the owner's
        # request says nothing about who will read it).
        await ReferralAttempt.update(
            {ReferralAttempt.outcome: refused.type, ReferralAttempt.detail: refused.detail_in(DEFAULT_LOCALE)[:500]}
        ).where(ReferralAttempt.id == attempt_id)
        if isinstance(refused, _KEPT_FROM_OWNERS):
            raise ReferralNotAccepted(NOT_ACCEPTED_DETAIL, field="phone") from None
        raise
    await ReferralAttempt.update({ReferralAttempt.outcome: "accepted", ReferralAttempt.lead: lead["id"]}).where(
        ReferralAttempt.id == attempt_id
    )
    return lead


def _seconds_to_next_day(today: date) -> int:
    """Until midnight after `today`, Beijing time (when the daily cap starts again)."""
    midnight = datetime(today.year, today.month, today.day, tzinfo=clock.LOCAL_ZONE) + timedelta(days=1)
    return max(1, math.ceil((midnight - clock.now()).total_seconds()))


async def _take_attempt(referrer_id: int, phone: str, project_id: int, cap: int, today: date) -> int:
    """Count the owner's attempts today and record this one, in its own committed transaction
    (a refusal later must not roll the count back). One owner at a time: a lock per owner
    and day, then the count as a statement of its own, so it sees every attempt committed by
    whoever held the lock before."""
    async with db.transaction():
        await db.serialise_on(f"referral-attempts:{referrer_id}:{today.isoformat()}")
        used = await ReferralAttempt.count().where((ReferralAttempt.referrer == referrer_id) & (ReferralAttempt.day == today))
        if used >= cap:
            raise ReferralDailyCapReached(
                _n(
                    "You can refer at most {count} friend a day, refused tries included; try again after midnight (Beijing time)",
                    "You can refer at most {count} friends a day, refused tries included; try again after midnight (Beijing time)",
                    cap,
                ),
                retry_after=_seconds_to_next_day(today), limit=cap,
            )
        rows = await ReferralAttempt.insert(
            ReferralAttempt(referrer=referrer_id, day=today, phone=phone, project=project_id, at=clock.now())
        ).returning(ReferralAttempt.id)
    return rows[0]["id"]


async def attempts(
    *, referrer_id: int | None = None, refused_only: bool = False, after_id: int | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Owners' referral attempts, newest last, with the precise outcome (what sales see and
    the owner does not)."""
    query = ReferralAttempt.select(*ReferralAttempt.all_columns(), ReferralAttempt.referrer.name).order_by(
        ReferralAttempt.id
    ).limit(limit)
    if referrer_id is not None:
        query = query.where(ReferralAttempt.referrer == referrer_id)
    if refused_only:
        query = query.where(ReferralAttempt.outcome.not_in(["accepted", "pending"]))
    if after_id is not None:
        query = query.where(ReferralAttempt.id > after_id)
    return await query


async def record_office_visit(phone: str, project_id: int, staff_id: int, region: str = "CN") -> None:
    """A walk-in at the sales office: that phone can no longer be referred for the project."""
    normalised = normalise_phone(phone, region)
    if not await Project.exists().where(Project.id == project_id):
        raise InvalidField(_("There is no project {project_id}", project_id=project_id), field="project")
    await OfficeVisit.insert(OfficeVisit(phone=normalised, project=project_id, staff_id=staff_id, visited_at=clock.now()))


async def get_lead(lead_id: int) -> dict[str, Any]:
    lead = await Lead.select(*Lead.all_columns(), Lead.project.name, Lead.referrer.name).where(Lead.id == lead_id).first()
    if lead is None:
        raise NotFound(_("There is no lead {lead_id}", lead_id=lead_id))
    return lead


def _reward_key(lead_id: int, stage: str, beneficiary: str) -> str:
    return f"referral:{lead_id}:{stage}:{beneficiary}"


async def _new_owner(lead: dict[str, Any]) -> int:
    """The member the lead becomes when signing (created if the phone is new)."""
    await Member.insert(Member(name=lead["name"], phone=lead["phone"])).on_conflict(
        target=Member.phone, action="DO NOTHING"
    )
    row = await Member.select(Member.id).where(Member.phone == lead["phone"]).first()
    return row["id"]


async def move_lead(
    lead_id: int,
    to_stage: str,
    *,
    staff_id: int,
    note: str = "",
    policy: Policy = Policy(),
    today: date | None = None,
) -> dict[str, Any]:
    """Sales move a lead forward (skipping is allowed; each stage passed pays its rewards) or
    cancel it. Backward moves are refused; repeating the current stage changes nothing. The
    lead row is locked and every reward has its own idempotency key, so double clicks and
    concurrent calls pay each reward once."""
    today = today or clock.today()
    if to_stage not in LEAD_STAGES:
        raise InvalidField(_("The stage is one of {stages}", stages=Later(identifiers, LEAD_STAGES)), field="stage")
    signed_referrer: int | None = None
    gifts_back: list[Any] = []
    async with db.transaction():
        query = Lead.select().where(Lead.id == lead_id)
        if db.is_postgres():
            query = query.lock_rows()
        lead = await query.first()
        if lead is None:
            raise NotFound(_("There is no lead {lead_id}", lead_id=lead_id))
        current = lead["stage"]
        if current == to_stage:
            return await get_lead(lead_id)
        if current == "cancelled":
            raise StageBackwards(_("This lead is cancelled; a cancelled lead stays cancelled"), field="stage")
        now = clock.now()
        if to_stage == "cancelled":
            gifts_back = await _cancel(lead, note, staff_id, policy, now)
        else:
            if _stage_index(to_stage) < _stage_index(current):
                raise StageBackwards(
                    _(
                        "The lead has reached “{current}” and cannot go back to “{stage}”",
                        current=ENUMS["referral_stage"][current], stage=ENUMS["referral_stage"][to_stage],
                    ),
                    field="stage",
                )
            passed = STAGES[_stage_index(current) + 1 : _stage_index(to_stage) + 1]
            values: dict[Any, Any] = {Lead.stage: to_stage}
            for stage in passed:
                if stage != "registered":
                    values[getattr(Lead, f"{stage}_at")] = now
            new_member = lead["new_member"]
            if to_stage == "signed":
                new_member = await _new_owner(lead)
                values[Lead.new_member] = new_member
                signed_referrer = lead["referrer"]
            await Lead.update(values).where(Lead.id == lead_id)
            await LeadStageChange.insert(
                LeadStageChange(lead=lead_id, from_stage=current, to_stage=to_stage, actor_kind="staff", actor_id=staff_id, note=note, at=now)
            )
            for stage in passed:
                await _pay_rewards(lead, stage, new_member, policy, today)
    if gifts_back:
        from loyalty.rewards import service as rewards

        await rewards.after_gifts_taken_back(gifts_back)  # seats a taken-back gift freed go to the waitlist
    if signed_referrer is not None:
        from loyalty.cards import service as cards  # a signed referral may lift the referrer's tier at once

        await cards.on_referral_signed(signed_referrer, today)
    return await get_lead(lead_id)


async def _over_yearly_cap(lead: dict[str, Any], policy: Policy, today: date) -> bool:
    """Whether the referrer already had `yearly_cap` signed deals this year before this one
    (the cap limits paid signings; the deal itself still counts as a referred buyer)."""
    await db.serialise_on(f"referrer-cap:{lead['referrer']}")
    signed = await Lead.count().where(
        (Lead.referrer == lead["referrer"])
        & (Lead.id != lead["id"])
        & (Lead.stage == "signed")
        & (Lead.signed_at >= datetime(today.year, 1, 1, tzinfo=clock.LOCAL_ZONE))
    )
    return signed >= policy.yearly_cap


async def _pay_rewards(lead: dict[str, Any], stage: str, new_member: int | None, policy: Policy, today: date) -> None:
    """Each active rule of the stage: its points (if any) and its gift (if it names a reward:
    a free reservation for the beneficiary, once per lead, stage and beneficiary; out of stock,
    the points still pay and the audit log says the gift could not be given)."""
    rules = await RewardRule.select().where((RewardRule.stage == stage) & (RewardRule.active == True))  # noqa: E712
    for rule in rules:
        member = lead["referrer"] if rule["beneficiary"] == "referrer" else new_member
        if member is None or (rule["points"] <= 0 and rule["gift_reward"] is None):
            continue
        if stage == "signed" and rule["beneficiary"] == "referrer" and await _over_yearly_cap(lead, policy, today):
            await audit.record(
                action="referral.cap_reached", subject_kind="lead", subject_id=lead["id"], actor_kind="system",
                reason=f"referrer over the yearly cap of {policy.yearly_cap} paid signings",
            )
            continue
        if rule["points"] > 0:
            await points.earn(
                member,
                int(rule["points"]),
                key=_reward_key(lead["id"], stage, rule["beneficiary"]),
                source_kind="referral",
                source_id=f"{lead['id']}:{stage}",
                vests_on=today + timedelta(days=rule["vesting_days"]) if rule["vesting_days"] else None,
                today=today,
            )
        if rule["gift_reward"] is not None:
            await _give_gift(lead, stage, rule, member)


async def _give_gift(lead: dict[str, Any], stage: str, rule: dict[str, Any], member: int) -> None:
    from loyalty.rewards import service as rewards

    given = await rewards.gift_reservation(member, rule["gift_reward"], _reward_key(lead["id"], stage, rule["beneficiary"]))
    if given is None:
        await audit.record(
            action="referral.gift_not_given", subject_kind="lead", subject_id=lead["id"], actor_kind="system",
            reason="the gift could not be given: out of stock, withdrawn, or its event full",
            data={"stage": stage, "beneficiary": rule["beneficiary"], "reward": rule["gift_reward"], "member": member},
        )


async def _cancel(lead: dict[str, Any], reason: str, staff_id: int, policy: Policy, now: datetime) -> list[Any]:
    """Cancel: the deal's rewards (subscribed, signed) are taken back — pending ones voided,
    vested ones under the clawback policy, and what the balance could not cover is recorded on
    the lead and in the audit log for staff; the deal's gifts not yet picked up are cancelled
    (stock back). A visit did happen, so its reward and gift stay. Returns what freed seats
    set in motion, for after the commit."""
    from loyalty.rewards import service as rewards

    if len(reason.strip()) < 2:
        raise InvalidField(_("Say why the lead is cancelled (at least 2 characters)"), field="note")
    # The deal's gifts first (their event, stock), then points: the rewards lock order.
    gifts_back: list[int] = []
    promotions: list[Any] = []
    for stage in ("subscribed", "signed"):
        cancelled, freed = await rewards.take_back_gifts(f"referral:{lead['id']}:{stage}:", now)
        gifts_back += cancelled
        promotions += freed
    shortfall = 0
    deal_rewards = [
        entry
        for stage in ("subscribed", "signed")
        for entry in await points.entries_by_key_prefix(f"referral:{lead['id']}:{stage}:")
    ]
    for entry in deal_rewards:
        result = await points.reverse(
            entry["idempotency_key"],
            key=f"cancel:{entry['idempotency_key']}",
            actor=points.Actor("staff", staff_id),
            reason=reason,
            clawback_policy=policy.clawback,
        )
        shortfall += result.shortfall
    await Lead.update(
        {Lead.stage: "cancelled", Lead.cancelled_at: now, Lead.cancel_reason: reason.strip(), Lead.clawback_shortfall: shortfall}
    ).where(Lead.id == lead["id"])
    await LeadStageChange.insert(
        LeadStageChange(lead=lead["id"], from_stage=lead["stage"], to_stage="cancelled", actor_kind="staff", actor_id=staff_id, note=reason, at=now)
    )
    await audit.record(
        action="lead.cancel", subject_kind="lead", subject_id=lead["id"], reason=reason.strip(), actor_id=staff_id,
        data={"from_stage": lead["stage"], "clawback_shortfall": shortfall, "gifts_taken_back": gifts_back},
    )
    return promotions


@dataclass(frozen=True)
class RewardRuleView:
    stage: str
    beneficiary: str
    points: int
    vesting_days: int
    gift_name_zh: str | None = None  # a reward given with (or instead of) the points
    gift_name_en: str | None = None


async def reward_rules() -> list[RewardRuleView]:
    """The active rewards, in stage order: what an owner's referral earns at each stage (points,
    a gift, or both)."""
    rows = await RewardRule.select(
        *RewardRule.all_columns(), RewardRule.gift_reward.name_zh.as_alias("gift_name_zh"),
        RewardRule.gift_reward.name_en.as_alias("gift_name_en"),
    ).where((RewardRule.active == True) & ((RewardRule.points > 0) | RewardRule.gift_reward.is_not_null()))  # noqa: E712
    rules = [
        RewardRuleView(row["stage"], row["beneficiary"], int(row["points"]), row["vesting_days"], row["gift_name_zh"],
                       row["gift_name_en"] if row["gift_name_zh"] is not None else None)
        for row in rows
    ]
    return sorted(rules, key=lambda rule: (_stage_index(rule.stage) if rule.stage in STAGES else len(STAGES), rule.beneficiary))


@dataclass(frozen=True)
class StaffRewardRule:
    id: int
    stage: str
    beneficiary: str
    points: int
    vesting_days: int
    active: bool
    gift_reward_id: int | None
    gift_name_zh: str | None
    gift_name_en: str | None


RULE_FIELDS = ("points", "vesting_days", "active", "gift_reward_id")
MAX_RULE_POINTS = 1_000_000
MAX_VESTING_DAYS = 365


async def staff_reward_rules() -> list[StaffRewardRule]:
    """Every referral reward rule, switched off ones too, in stage order: what staff may edit."""
    rows = await RewardRule.select(
        *RewardRule.all_columns(), RewardRule.gift_reward.name_zh.as_alias("gift_name_zh"),
        RewardRule.gift_reward.name_en.as_alias("gift_name_en"),
    )
    rules = [
        StaffRewardRule(
            row["id"], row["stage"], row["beneficiary"], int(row["points"]), row["vesting_days"], bool(row["active"]),
            row["gift_reward"], row["gift_name_zh"], row["gift_name_en"] if row["gift_reward"] is not None else None,
        )
        for row in rows
    ]
    return sorted(rules, key=lambda r: (_stage_index(r.stage) if r.stage in STAGES else len(STAGES), r.beneficiary, r.id))


async def change_reward_rule(rule_id: int, changes: dict[str, Any], staff_id: int) -> StaffRewardRule:
    """Change a referral reward rule's points (0..1,000,000), vesting days (0..365), gift (any
    reward not withdrawn, or None) or whether it is on; audited with before and after. It counts
    for stages reached from now on: rewards already paid stay. An active rule must give
    something (points or a gift): one that gives nothing is switched off, so the owner's
    explainer and the staff page never disagree about whether a stage pays."""
    if unknown := set(changes) - set(RULE_FIELDS):
        raise InvalidField(_("This field cannot be edited here"), field=sorted(unknown)[0])
    if "points" in changes and not 0 <= changes["points"] <= MAX_RULE_POINTS:
        raise InvalidField(_("points must be between 0 and {high:,}", high=MAX_RULE_POINTS), field="points")
    if "vesting_days" in changes and not 0 <= changes["vesting_days"] <= MAX_VESTING_DAYS:
        raise InvalidField(_("vesting_days must be between 0 and {high:,}", high=MAX_VESTING_DAYS), field="vesting_days")
    from loyalty.rewards import service as rewards

    async with db.transaction():
        row = await RewardRule.select().where(RewardRule.id == rule_id).first()
        if row is None:
            raise NotFound(_("There is no referral reward rule {id}", id=rule_id))
        before = {"points": int(row["points"]), "vesting_days": row["vesting_days"], "active": bool(row["active"]),
                  "gift_reward_id": row["gift_reward"]}
        after = {**before, **changes}
        if changes.get("gift_reward_id") is not None and changes["gift_reward_id"] != before["gift_reward_id"]:
            await rewards.referral_gift_reward(changes["gift_reward_id"], "gift_reward_id")
        if after["active"] and after["points"] == 0 and after["gift_reward_id"] is None:
            raise InvalidField(
                _("An active rule must give points or a gift: give one, or switch the rule off"), field="points"
            )
        changed = [name for name in RULE_FIELDS if before[name] != after[name]]
        if changed:
            await RewardRule.update({
                RewardRule.points: after["points"], RewardRule.vesting_days: after["vesting_days"],
                RewardRule.active: after["active"], RewardRule.gift_reward: after["gift_reward_id"],
            }).where(RewardRule.id == rule_id)
            await audit.record(
                action="referral_rule.update", subject_kind="reward_rule", subject_id=rule_id, actor_id=staff_id,
                data={"stage": row["stage"], "beneficiary": row["beneficiary"],
                      "before": {n: before[n] for n in changed}, "after": {n: after[n] for n in changed}},
            )
    return next(rule for rule in await staff_reward_rules() if rule.id == rule_id)


@dataclass(frozen=True)
class LeadReward:
    stage: str
    points: int
    # earned (available) | pending (until vests_on) | taken_back (the deal was cancelled) |
    # expected (the stage is not reached yet) | not_paid (reached, but nothing was paid: the yearly cap)
    status: str
    vests_on: date | None = None


async def referrer_rewards(referrer_id: int, lead_rows: list[dict[str, Any]]) -> dict[int, list[LeadReward]]:
    """For each of the referrer's leads, what each rewarded stage earned them, or will: from the
    ledger (the reward's entry and its lot) and, for stages not reached, the rules."""
    from loyalty.points.tables import LedgerEntry, PointsLot

    # Points only: a gift is a reservation under My rewards, not a ledger entry.
    rules = [rule for rule in await reward_rules() if rule.beneficiary == "referrer" and rule.stage in STAGES and rule.points > 0]
    entries = await LedgerEntry.select(
        LedgerEntry.source_id, LedgerEntry.available_delta, LedgerEntry.pending_delta, LedgerEntry.reversed_points,
        LedgerEntry.lot,
    ).where((LedgerEntry.member == referrer_id) & (LedgerEntry.source_kind == "referral") & (LedgerEntry.kind == "earn"))
    lot_ids = [entry["lot"] for entry in entries if entry["lot"]]
    lots = {
        row["id"]: row
        for row in (await PointsLot.select(PointsLot.id, PointsLot.status, PointsLot.vests_on).where(PointsLot.id.is_in(lot_ids)) if lot_ids else [])
    }
    paid = {entry["source_id"]: entry for entry in entries}
    answer: dict[int, list[LeadReward]] = {}
    for lead in lead_rows:
        # How far the lead came (a cancelled one: the last stage it reached before).
        reached = max(i for i, stage in enumerate(STAGES) if stage == "registered" or lead[f"{stage}_at"])
        rewards = []
        for rule in rules:
            entry = paid.get(f"{lead['id']}:{rule.stage}")
            if entry is not None:
                points = int(entry["available_delta"] or entry["pending_delta"])
                lot = lots.get(entry["lot"] or 0, {})
                if entry["reversed_points"] >= points or lot.get("status") == "void":
                    status = "taken_back"
                elif lot.get("status") == "pending":
                    status = "pending"
                else:
                    status = "earned"
                rewards.append(LeadReward(rule.stage, points, status, lot.get("vests_on") if status == "pending" else None))
            elif _stage_index(rule.stage) <= reached:
                rewards.append(LeadReward(rule.stage, rule.points, "not_paid"))
            elif lead["stage"] != "cancelled":
                rewards.append(LeadReward(rule.stage, rule.points, "expected"))
        answer[lead["id"]] = rewards
    return answer


async def leads(
    *, referrer_id: int | None = None, stage: str | None = None, project_id: int | None = None,
    after_id: int | None = None, limit: int = 50,
) -> list[dict[str, Any]]:
    query = Lead.select(*Lead.all_columns(), Lead.project.name, Lead.referrer.name).order_by(Lead.id).limit(limit)
    if referrer_id is not None:
        query = query.where(Lead.referrer == referrer_id)
    if stage is not None:
        if stage not in (*STAGES, "cancelled"):
            raise InvalidField(
                _("The stage is one of {stages}", stages=Later(identifiers, (*STAGES, "cancelled"))), field="stage"
            )
        query = query.where(Lead.stage == stage)
    if project_id is not None:
        query = query.where(Lead.project == project_id)
    if after_id is not None:
        query = query.where(Lead.id > after_id)
    return await query


def signed_referral_counts_sql(windows: int, members_sql: str) -> str:
    """Signed referrals per referrer among `members_sql`, one column per window (`w0`, `w1`,
    ...; each takes its since-date as a parameter, then `members_sql`'s parameters follow).
    What the tier rules' `signed_referrals` criterion counts (used by cards.tiers)."""
    columns = ", ".join(f"SUM(CASE WHEN lead.signed_at >= {{}} THEN 1 ELSE 0 END) AS w{i}" for i in range(windows))
    return (
        f"SELECT lead.referrer AS member_id, {columns} FROM lead "
        f"WHERE lead.stage = 'signed' AND lead.referrer IN ({members_sql}) GROUP BY lead.referrer"
    )


def referral_share(referred_buyers: int, new_buyers: int) -> float | None:
    """The metric the business steers by: referred buyers / new buyers, rounded to 4 places;
    None when there is no new buyer. Referred buyers are a subset of the new buyers of the
    same project and month (`new_buyer_counts`), so the share is never above 1."""
    return round(referred_buyers / new_buyers, 4) if new_buyers else None


@dataclass
class NewBuyers:
    new_buyers: int = 0
    referred_buyers: int = 0


# One row per (project, member) who bought in the project: from the contract file (ownership
# rows) and from signed leads (the buyer a lead became). Which month the buyer counts in, and
# whether they were referred, is decided on that single row, so a buyer counts once.
_BUYERS_SQL = """
SELECT buyer.project AS project, buyer.member AS member,
       MIN(buyer.contract_date) AS first_contract, MIN(buyer.signed_at) AS signed_at, MAX(buyer.referred) AS referred
FROM (
    SELECT unit.project AS project, ownership.member AS member, ownership.contract_date AS contract_date,
           NULL AS signed_at, 0 AS referred
    FROM ownership JOIN unit ON unit.id = ownership.unit
    UNION ALL
    SELECT lead.project, lead.new_member, NULL, lead.signed_at, 1
    FROM lead WHERE lead.stage = 'signed' AND lead.new_member IS NOT NULL
) AS buyer
"""
_BUYERS_IN_RANGE = """
GROUP BY buyer.project, buyer.member
HAVING (MIN(buyer.contract_date) >= {} AND MIN(buyer.contract_date) <= {})
    OR (MIN(buyer.contract_date) IS NULL AND MIN(buyer.signed_at) >= {} AND MIN(buyer.signed_at) < {})
"""


def _check_dates(start: date, end: date) -> None:
    if not (FIRST_DAY <= start <= LAST_DAY and FIRST_DAY <= end <= LAST_DAY):
        raise InvalidField(
            _("Dates run from {first} to {last}", first=FIRST_DAY.isoformat(), last=LAST_DAY.isoformat()), field="start"
        )


def _as_date(value: date | str | None) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value  # SQLite: aggregates come as text


def _as_datetime(value: datetime | str | None) -> datetime | None:
    if isinstance(value, str):  # SQLite keeps timestamps as UTC text
        value = datetime.fromisoformat(value)
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return value


async def new_buyer_counts(start: date, end: date, project_id: int | None = None) -> dict[tuple[int, str], NewBuyers]:
    """New buyers and referred buyers per (project, month "YYYY-MM", Beijing time), the one
    definition behind the funnel, the referral dashboard and the KPI report.

    A member is a new buyer of a project once: in the month of their first contract in that
    project (ownership rows, whatever their status now), or, while the contract file has not
    brought that contract in yet (no dated ownership in the project), in the month their
    signed lead for the project was signed. A new buyer is a referred buyer when a lead of
    that project reached `signed` (and is not cancelled) with them as its new member. So a
    referred buyer always counts among the same bucket's new buyers, and after the import a
    buyer moves from the signing month to the contract month instead of counting twice."""
    _check_dates(start, end)
    since = datetime(start.year, start.month, start.day, tzinfo=clock.LOCAL_ZONE)
    until = datetime(end.year, end.month, end.day, tzinfo=clock.LOCAL_ZONE) + timedelta(days=1)
    sql, args = _BUYERS_SQL, [start, end, since, until]
    if project_id is not None:
        sql += "WHERE buyer.project = {}"
        args.insert(0, project_id)
    counts: dict[tuple[int, str], NewBuyers] = {}
    for buyer in await Ownership.raw(sql + _BUYERS_IN_RANGE, *args):
        contract, signed_at = _as_date(buyer["first_contract"]), _as_datetime(buyer["signed_at"])
        day = contract if contract is not None else signed_at.astimezone(clock.LOCAL_ZONE).date()
        if not start <= day <= end:
            continue
        counted = counts.setdefault((buyer["project"], f"{day.year:04d}-{day.month:02d}"), NewBuyers())
        counted.new_buyers += 1
        counted.referred_buyers += bool(buyer["referred"])
    return counts


@dataclass
class FunnelRow:
    project_id: int
    project: str
    month: str
    registered: int = 0
    visited: int = 0
    subscribed: int = 0
    signed: int = 0
    new_buyers: int = 0
    referred_buyers: int = 0
    signed_of_registered: int = 0  # of the leads registered this month, those that have signed since

    @property
    def conversion(self) -> float | None:
        """A cohort rate, never above 1: of the leads registered in the month, the share that
        has signed (whenever). Leads signed this month but registered earlier count in `signed`,
        not here: signed / registered of the same month could be 200%."""
        return round(self.signed_of_registered / self.registered, 4) if self.registered else None

    @property
    def referral_share(self) -> float | None:
        return referral_share(self.referred_buyers, self.new_buyers)


async def funnel(start: date, end: date, project_id: int | None = None) -> list[FunnelRow]:
    """Per project and month (local time): leads registered, and how many reached each stage
    (by the month they reached it); conversion = of the month's registered leads, the share
    signed since (a cohort rate, at most 1); new buyers and referred
    buyers as `new_buyer_counts` defines them, and referral share = referred / new buyers
    (the `signed` stage count is leads signed that month, not the share's numerator)."""
    _check_dates(start, end)
    rows: dict[tuple[int, str], FunnelRow] = {}
    projects = {p["id"]: p["name"] for p in await Project.select(Project.id, Project.name)}

    def row_of(project: int, month: str) -> FunnelRow:
        return rows.setdefault((project, month), FunnelRow(project, projects.get(project, ""), month))

    def bucket(project: int, when: datetime) -> FunnelRow | None:
        day = when.astimezone(clock.LOCAL_ZONE).date()
        if not start <= day <= end or (project_id is not None and project != project_id):
            return None
        return row_of(project, f"{day.year:04d}-{day.month:02d}")

    since = datetime(start.year, start.month, start.day, tzinfo=clock.LOCAL_ZONE) - timedelta(days=1)
    for lead in await Lead.select(
        Lead.project, Lead.registered_at, Lead.visited_at, Lead.subscribed_at, Lead.signed_at
    ).where(
        (Lead.registered_at >= since) | (Lead.visited_at >= since) | (Lead.subscribed_at >= since) | (Lead.signed_at >= since)
    ):
        for stage, column in (("registered", "registered_at"), ("visited", "visited_at"), ("subscribed", "subscribed_at"), ("signed", "signed_at")):
            if lead[column] is not None and (row := bucket(lead["project"], lead[column])):
                setattr(row, stage, getattr(row, stage) + 1)
        if lead["signed_at"] is not None and (row := bucket(lead["project"], lead["registered_at"])):
            row.signed_of_registered += 1
    for (project, month), counted in (await new_buyer_counts(start, end, project_id)).items():
        row = row_of(project, month)
        row.new_buyers, row.referred_buyers = counted.new_buyers, counted.referred_buyers
    return sorted(rows.values(), key=lambda r: (r.month, r.project_id))
