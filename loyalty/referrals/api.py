"""Referral faces: owners register friends and see their leads; sales move leads."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import msgspec

from litestar import Controller, Request, get, patch, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from loyalty import clock
from loyalty.errors import InvalidField
from loyalty.i18n import _
from loyalty.identity.guards import member_id, requires_member
from loyalty.referrals import service
from loyalty.referrals.schemas import (
    FunnelMonth, LeadCreate, LeadMove, LeadRewardView, LeadView, OfficeVisitCreate, ReferralAttemptView, ReferralRules,
    RewardRuleChange, RewardRuleInfo, StaffLeadCreate, StaffRewardRuleView,
)
from loyalty.settings import Settings
from loyalty.openapi_contract import raises


def policy(settings: Settings) -> service.Policy:
    return service.Policy(
        protection_days=settings.referral_protection_days,
        yearly_cap=settings.referral_yearly_cap,
        clawback=settings.clawback_policy,
        daily_cap_per_owner=settings.referral_daily_cap_per_owner,
    )


def lead_view(lead: dict[str, Any], rewards: list[service.LeadReward] | None = None) -> LeadView:
    return LeadView(
        id=lead["id"],
        referrer_id=lead["referrer"],
        referrer_name=lead["referrer.name"],
        name=lead["name"],
        phone=lead["phone"],
        project_id=lead["project"],
        project=lead["project.name"],
        stage=lead["stage"],
        registered_at=lead["registered_at"],
        protected_until=lead["protected_until"],
        visited_at=lead["visited_at"],
        subscribed_at=lead["subscribed_at"],
        signed_at=lead["signed_at"],
        cancelled_at=lead["cancelled_at"],
        cancel_reason=lead["cancel_reason"],
        rewards=[
            LeadRewardView(stage=r.stage, points=r.points, status=r.status, vests_on=r.vests_on) for r in rewards or []
        ],
    )


class MemberReferralController(Controller):
    path = "/"
    tags = ["referrals"]
    guards = [requires_member]

    @raises("invalid-field", "not-found", "referral-already-owner", "referral-close-relative", "referral-daily-cap", "referral-duplicate", "referral-not-accepted", "referral-not-owner", "referral-protected", "referral-same-household", "referral-self", "referral-visited-before", "referral-yearly-cap")
    @post(
        "/referrals",
        operation_id="registerReferral",
        summary="Refer a friend (老带新): name, phone, project of interest",
        description=(
            "A friend who is already an owner, protected for another referrer or visited the sales office before is "
            "refused with one answer, `referral-not-accepted` (your sales consultant can tell you why). At most "
            "LOYALTY_REFERRAL_DAILY_CAP_PER_OWNER tries a day, refused ones included: then 429 `referral-daily-cap` "
            "with Retry-After until midnight, Beijing time."
        ),
    )
    async def register(
        self, data: JSONBody[LeadCreate], request: Request[Any, Any, State], settings: NamedDependency[Settings]
    ) -> LeadView:
        lead = await service.refer_friend(
            member_id(request), name=data.name, phone=data.phone, project_id=data.project_id,
            close_relative=data.close_relative, policy=policy(settings), region=settings.default_region,
            today=clock.today(),
        )
        return lead_view(lead)

    @raises("invalid-field")
    @get("/me/referrals", operation_id="getMyReferrals", summary="The friends I referred and how far each has come")
    async def mine(self, request: Request[Any, Any, State]) -> list[LeadView]:
        """The owner's referrals, each with its stages' days, its protection's end and what each rewarded stage
        earned or will earn (`rewards`)."""
        me = member_id(request)
        rows = await service.leads(referrer_id=me, limit=500)
        rewards = await service.referrer_rewards(me, rows)
        return [lead_view(lead, rewards.get(lead["id"])) for lead in rows]

    @get("/me/referrals/rules", operation_id="getReferralRules", summary="What referring a friend earns, stage by stage")
    async def rules(self, settings: NamedDependency[Settings]) -> ReferralRules:
        """The referrals tab's explainer: the points each stage pays (and to whom), how long they stay pending, and
        how long a referral is protected."""
        return ReferralRules(
            protection_days=settings.referral_protection_days,
            rewards=[
                RewardRuleInfo(stage=r.stage, beneficiary=r.beneficiary, points=r.points, vesting_days=r.vesting_days,
                               gift_name_zh=r.gift_name_zh, gift_name_en=r.gift_name_en)
                for r in await service.reward_rules()
            ],
        )


class StaffReferralController(Controller):
    path = "/referrals"
    tags = ["staff"]

    @raises("invalid-field")
    @get(operation_id="staffListLeads", summary="Referred leads, filtered by stage and project", opt={"roles": ("sales",)})
    async def list_leads(
        self,
        stage: Annotated[str | None, QueryParameter(description="registered, visited, subscribed, signed or cancelled")] = None,
        project_id: Annotated[int | None, QueryParameter()] = None,
        cursor: Annotated[int | None, QueryParameter(ge=0)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> list[LeadView]:
        rows = await service.leads(stage=stage, project_id=project_id, after_id=cursor, limit=limit)
        return [lead_view(lead) for lead in rows]

    @raises("invalid-field", "not-found", "referral-already-owner", "referral-close-relative", "referral-duplicate", "referral-not-owner", "referral-protected", "referral-same-household", "referral-self", "referral-visited-before", "referral-yearly-cap")
    @post(operation_id="staffRegisterLead", summary="Register a lead on an owner's behalf", opt={"roles": ("sales",)})
    async def register(
        self, data: JSONBody[StaffLeadCreate], request: Request[Any, Any, State], settings: NamedDependency[Settings]
    ) -> LeadView:
        if data.referrer_member_id <= 0:
            raise InvalidField(_("Name the owner who refers by their member number"), field="referrer_member_id")
        lead = await service.register_lead(
            data.referrer_member_id, name=data.name, phone=data.phone, project_id=data.project_id, by_kind="staff",
            by_id=request.state.staff.id, close_relative=data.close_relative, policy=policy(settings),
            region=settings.default_region, today=clock.today(),
        )
        return lead_view(lead)

    @get(
        "/attempts",
        operation_id="staffListReferralAttempts",
        summary="Owners' referral attempts with the precise outcome (what the owner was only told 'not accepted')",
        opt={"roles": ("sales",)},
    )
    async def list_attempts(
        self,
        referrer_id: Annotated[int | None, QueryParameter(ge=1, le=2**31 - 1)] = None,
        refused_only: Annotated[bool, QueryParameter()] = False,
        cursor: Annotated[int | None, QueryParameter(ge=0, le=2**31 - 1)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> list[ReferralAttemptView]:
        rows = await service.attempts(referrer_id=referrer_id, refused_only=refused_only, after_id=cursor, limit=limit)
        return [
            ReferralAttemptView(
                id=row["id"], referrer_id=row["referrer"], referrer_name=row["referrer.name"], phone=row["phone"],
                project_id=row["project"], day=row["day"], outcome=row["outcome"], detail=row["detail"],
                lead_id=row["lead"], at=row["at"],
            )
            for row in rows
        ]

    @raises("idempotency-conflict", "invalid-field", "not-found", "referral-stage-backwards")
    @post(
        "/{lead_id:int}/stage",
        operation_id="staffMoveLead",
        summary="Move a lead forward (visited, subscribed, signed) or cancel it; rewards are paid exactly once",
        opt={"roles": ("sales",)},
        status_code=200,
    )
    async def move(
        self, lead_id: FromPath[int], data: JSONBody[LeadMove], request: Request[Any, Any, State],
        settings: NamedDependency[Settings],
    ) -> LeadView:
        lead = await service.move_lead(
            lead_id, data.stage, staff_id=request.state.staff.id, note=data.note, policy=policy(settings), today=clock.today()
        )
        return lead_view(lead)

    @raises("invalid-field")
    @post(
        "/office-visits",
        operation_id="staffRecordOfficeVisit",
        summary="Record a walk-in at the sales office (that phone can no longer be referred for the project)",
        opt={"roles": ("sales",)},
        status_code=HTTP_204_NO_CONTENT,
    )
    async def office_visit(
        self, data: JSONBody[OfficeVisitCreate], request: Request[Any, Any, State], settings: NamedDependency[Settings]
    ) -> None:
        await service.record_office_visit(data.phone, data.project_id, request.state.staff.id, settings.default_region)

    @raises("invalid-field")
    @get(
        "/funnel",
        operation_id="staffReferralFunnel",
        summary="Per project and month: leads at each stage, conversion, new and referred buyers, referral share of new buyers",
        opt={"roles": ("sales", "service")},
    )
    async def funnel(
        self,
        start: Annotated[date, QueryParameter(description="first day, e.g. 2026-01-01")],
        end: Annotated[date, QueryParameter(description="last day, e.g. 2026-12-31")],
        project_id: Annotated[int | None, QueryParameter()] = None,
    ) -> list[FunnelMonth]:
        if end < start:
            raise InvalidField(_("The end date is before the start date"), field="end")
        return [
            FunnelMonth(
                project_id=row.project_id, project=row.project, month=row.month, registered=row.registered,
                visited=row.visited, subscribed=row.subscribed, signed=row.signed,
                signed_of_registered=row.signed_of_registered, new_buyers=row.new_buyers,
                referred_buyers=row.referred_buyers, conversion=row.conversion, referral_share=row.referral_share,
            )
            for row in await service.funnel(start, end, project_id)
        ]


def rule_view(rule: service.StaffRewardRule) -> StaffRewardRuleView:
    return StaffRewardRuleView(
        id=rule.id, stage=rule.stage, beneficiary=rule.beneficiary, points=rule.points, vesting_days=rule.vesting_days,
        active=rule.active, gift_reward_id=rule.gift_reward_id, gift_name_zh=rule.gift_name_zh, gift_name_en=rule.gift_name_en,
    )


class StaffReferralRuleController(Controller):
    """The rewards catalogue page's referral rules panel: what each stage of a referral pays, to whom."""

    path = "/referral-rules"
    tags = ["staff"]

    @get(operation_id="staffListReferralRules", opt={"roles": ("admin",)},
         summary="The referral reward rules (老带新): per stage and beneficiary, points, vesting and gift",
         description="Every rule, switched off ones too, in stage order, each with its gift's names (or null).")
    async def list_rules(self) -> list[StaffRewardRuleView]:
        return [rule_view(rule) for rule in await service.staff_reward_rules()]

    @raises("invalid-field", "not-found")
    @patch("/{rule_id:int}", operation_id="staffChangeReferralRule", opt={"roles": ("admin",)},
           summary="Change a referral reward rule's points, vesting days, gift or whether it is on (audited with before and after)",
           description="Only the fields sent change; `gift_reward_id` null takes the gift away. The gift may be any "
                       "reward not withdrawn (an event seat too). An active rule must give points or a gift. The change "
                       "counts for stages reached from now on: rewards already given stay.")
    async def change_rule(
        self, rule_id: FromPath[int], data: JSONBody[RewardRuleChange], request: Request[Any, Any, State]
    ) -> StaffRewardRuleView:
        changes = {name: getattr(data, name) for name in data.__struct_fields__ if getattr(data, name) is not msgspec.UNSET}
        return rule_view(await service.change_reward_rule(rule_id, changes, request.state.staff.id))
