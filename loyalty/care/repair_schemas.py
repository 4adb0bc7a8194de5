"""Request and response shapes of the repairs API (loyalty.care.repair_api)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from loyalty.care.tables import ACCEPTORS, CASE_KINDS, REPAIR_ITEMS, REPAIR_STATES
from loyalty.openapi_contract import checked_enum

Id = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
ITEM_WORDS = ("water_leak 漏水 | wall_crack 墙体开裂 | door_window 门窗 | electrical 电路 | plumbing 水管 | other 其他")
STATE_WORDS = ("reported 已报修 | in_repair 维修中 | awaiting_acceptance 待验收 | rework 返工 | accepted 已验收 | closed 已关闭")
ACCEPTOR_WORDS = "owner 业主验收 | staff 工作人员代为验收"
Score = Annotated[int, msgspec.Meta(ge=1, le=5, description="1–5 (5 = very satisfied)")]


class RepairCreate(msgspec.Struct, forbid_unknown_fields=True):
    member_id: Id
    unit_id: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1, description="one of the owner's units")]
    # Checked by the service (422 invalid-field naming `item`), not by the decoder.
    item: Annotated[str, checked_enum(REPAIR_ITEMS, ITEM_WORDS, "water_leak")]
    contractor: Annotated[str, msgspec.Meta(max_length=200, examples=["顺安维修"])]
    description: Annotated[str, msgspec.Meta(max_length=4000, examples=["厨房吊顶渗水"])] = ""
    major_works: bool = False
    supervisor: Annotated[str, msgspec.Meta(max_length=200, examples=["王工"])] = ""
    ambassador_id: Annotated[int | None, msgspec.Meta(description="the client ambassador: an active service staff account")] = None
    contract_sum_fen: Annotated[int, msgspec.Meta(ge=0, le=10**12, description="the contract sum in fen (1 元 = 100 fen)")] = 0
    reported_at: Annotated[datetime | None, msgspec.Meta(
        description="when the owner reported it (default: now); the form is due 10 minutes after (a setting), later is flagged",
    )] = None


class RepairStep(msgspec.Struct, forbid_unknown_fields=True):
    to: Annotated[str, checked_enum(REPAIR_STATES[1:], STATE_WORDS, "in_repair")]
    accepted_by: Annotated[str | None, msgspec.Meta(description=f"when `to` is accepted: {ACCEPTOR_WORDS}")] = None
    satisfaction: Annotated[Score | None, msgspec.Meta(description="when `to` is closed: the owner's rating, if given then")] = None
    note: Annotated[str, msgspec.Meta(max_length=2000, examples=["卫生间仍有渗水"])] = ""


class RepairRating(msgspec.Struct, forbid_unknown_fields=True):
    satisfaction: Score


class RepairView(msgspec.Struct):
    id: int
    member_id: int
    owner_name: str
    owner_phone: Annotated[str, msgspec.Meta(description="masked")]
    unit_id: int
    unit_name: str
    project_id: int | None
    item: Annotated[Literal[REPAIR_ITEMS], msgspec.Meta(description=ITEM_WORDS)]
    description: str
    major_works: bool
    contractor: str
    supervisor: str
    ambassador_id: int | None
    ambassador_name: str | None
    contract_sum_fen: int
    reported_at: datetime
    recorded_at: datetime
    intake_due: datetime
    intake_late: Annotated[bool, msgspec.Meta(description="the form was filled in after its 10 minutes")]
    second_repair_of: Annotated[int | None, msgspec.Meta(description="the earlier repair of the same unit and item, within the window")]
    state: Annotated[Literal[REPAIR_STATES], msgspec.Meta(description=STATE_WORDS)]
    rework_count: int
    accepted_by: Annotated[Literal[ACCEPTORS], msgspec.Meta(description=ACCEPTOR_WORDS)] | None
    accepted_at: datetime | None
    closed_at: datetime | None
    satisfaction: Score | None
    contractor_amount_fen: Annotated[int | None, msgspec.Meta(
        description="the contractor's reward (> 0) or penalty (< 0) from the rating: 5 → +2%, 4 → +1%, 3 → 0, 2 → −2%, "
        "1 → −5% of the contract sum")]
    next_states: list[Literal[REPAIR_STATES]]


class ContractorMonthView(msgspec.Struct):
    contractor: str
    month: str
    repairs: Annotated[int, msgspec.Meta(description="closed in the month")]
    rated: int
    average_rating: float | None
    contract_sum_fen: Annotated[int, msgspec.Meta(description="of the rated repairs")]
    reward_fen: int
    penalty_fen: Annotated[int, msgspec.Meta(description="as a positive amount")]
    net_fen: int


class GroupWarningView(msgspec.Struct):
    id: int
    kind: Annotated[Literal[CASE_KINDS], msgspec.Meta(description="the cases' kind")]
    project_id: int | None
    building: Annotated[str, msgspec.Meta(description="empty when the cases name no unit")]
    case_ids: list[int]
    first_case_at: datetime
    last_case_at: datetime
    raised_at: datetime
    acknowledged_by: int | None
    acknowledged_at: datetime | None


class OwnerAcceptance(msgspec.Struct, forbid_unknown_fields=True):
    accepted: Annotated[bool, msgspec.Meta(description="true: the works are accepted | false: they are to be redone (rework)")]
    note: Annotated[str, msgspec.Meta(max_length=2000, examples=["卫生间仍有渗水"], description="what is still wrong")] = ""
