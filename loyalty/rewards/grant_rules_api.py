"""Staff's standing grants of a reward (gifts granted by rules: birthdays, holidays): list,
create, pause and resume. Each route calls one service function and shapes its answer."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from loyalty.openapi_contract import raises
from loyalty.rewards import rules, standing_grants
from loyalty.rewards.api import CATALOGUE_STAFF
from loyalty.rewards.schemas import GrantRuleCreate, GrantRuleView


def rule_view(rule: dict[str, Any]) -> GrantRuleView:
    return GrantRuleView(
        id=rule["id"], reward_id=rule["reward"], occasion_kind=rule["occasion_kind"], holiday=rule["holiday"] or None,
        days_before=rule["days_before"], tiers=rules.split(rule["segment_tiers"]), stages=rules.split(rule["segment_stages"]),
        project_ids=[int(p) for p in rules.split(rule["segment_projects"])], status=rule["status"],
        created_at=rule["created_at"], granted=rule.get("granted", {}), next_on=rule.get("next_on"),
    )


async def _one(reward_id: int, rule_id: int) -> GrantRuleView:
    return next(rule_view(r) for r in await standing_grants.rules_of(reward_id) if r["id"] == rule_id)


class StaffGrantRuleController(Controller):
    path = "/rewards/{reward_id:int}/grant-rules"
    tags = ["staff"]

    @raises("not-found")
    @get(operation_id="staffListGrantRules", opt=CATALOGUE_STAFF,
         summary="A reward's standing grants (birthdays, holidays), newest first",
         description="Each with its status and the gifts it made per occasion (`birthday-2027`, `mid_autumn-2027`).")
    async def list_rules(self, reward_id: FromPath[int]) -> list[GrantRuleView]:
        return [rule_view(r) for r in await standing_grants.rules_of(reward_id)]

    @raises("invalid-field", "not-found", "reward-not-on-offer")
    @post(operation_id="staffCreateGrantRule", opt=CATALOGUE_STAFF, status_code=HTTP_201_CREATED,
          summary="Grant a free gift to a segment on every birthday or a holiday (audited)",
          description="Every owner in the segment (tiers, stages, projects; empty = any) gets one free reservation per "
                      "occasion, from `days_before` the day until the day itself, owners who join the segment meanwhile "
                      "included: on their birthday each year (`birthday`), or on the `holiday` each year. A daily job "
                      "grants what the stock allows, by member id; the rest is audited as out of stock.")
    async def create(self, reward_id: FromPath[int], data: JSONBody[GrantRuleCreate], request: Request[Any, Any, State]) -> GrantRuleView:
        draft = standing_grants.GrantRuleDraft(
            occasion_kind=data.occasion_kind, holiday=data.holiday or "", days_before=data.days_before,
            tiers=list(data.tiers), stages=list(data.stages), project_ids=list(data.project_ids),
        )
        rule_id = await standing_grants.create_rule(reward_id, draft, request.state.staff.id)
        return await _one(reward_id, rule_id)

    @raises("not-found")
    @post("/{rule_id:int}/pause", operation_id="staffPauseGrantRule", opt=CATALOGUE_STAFF,
          status_code=HTTP_204_NO_CONTENT, summary="Pause a standing grant (audited)",
          description="It grants nothing until resumed; gifts it already made stay valid.")
    async def pause(self, reward_id: FromPath[int], rule_id: FromPath[int], request: Request[Any, Any, State]) -> None:
        await standing_grants.set_rule_status(reward_id, rule_id, "paused", request.state.staff.id)

    @raises("not-found")
    @post("/{rule_id:int}/resume", operation_id="staffResumeGrantRule", opt=CATALOGUE_STAFF,
          status_code=HTTP_204_NO_CONTENT, summary="Resume a paused standing grant (audited)",
          description="Its next run grants the owners due in the current window (one each per occasion, as before).")
    async def resume(self, reward_id: FromPath[int], rule_id: FromPath[int], request: Request[Any, Any, State]) -> None:
        await standing_grants.set_rule_status(reward_id, rule_id, "active", request.state.staff.id)
