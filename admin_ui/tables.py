"""What /admin shows each staff role, and what it may change there.

/admin is a browser for the records; it is not where rules are kept. Every table whose rows
carry a rule (members and their ownerships, cards, tier rules and assignments, merchants with
their earn rule, discount schedules, events, signups, reward rules, staff accounts, API keys,
the ledger, sales, cases, the outbox...) is read-only here for everyone: those rows change only
through the staff API, whose services keep the rules and the audit log. What stays writable
(projects, units, stores, programs) carries no rule, and each write there is audited by
admin_ui.admin like a service call."""

from __future__ import annotations

from typing import Any

from piccolo_admin.endpoints import TableConfig
from piccolo_api.crud.endpoints import PiccoloCRUD
from piccolo_api.crud.validators import Validators
from starlette.exceptions import HTTPException
from starlette.requests import Request

from loyalty.audit.tables import AuditEntry
from loyalty.cards.tables import Card, TierAssignment, TierChange, TierCriterion
from loyalty.care.tables import Case, CaseMessage, OutboxMessage, Survey
from loyalty.events.tables import Event, Payment, Program, Scan, Signup
from loyalty.identity.tables import StaffAccount
from loyalty.members.tables import Member, Ownership, Project, Unit
from loyalty.merchants.tables import ApiKey, DiscountSchedule, Merchant, Sale, SaleReversal, Store
from loyalty.points.tables import LedgerEntry, PointsAccount, PointsLot
from loyalty.referrals.tables import Lead, LeadStageChange, OfficeVisit, RewardRule

READ_ONLY_DETAIL = (
    "read-only here: this record carries a rule and changes only on the staff pages, which keep the rule "
    "and the audit log (此记录只读：请在员工页面中修改，以保留规则与审计记录)"
)


async def _read_only(piccolo_crud: PiccoloCRUD, request: Request) -> None:
    raise HTTPException(status_code=405, detail=READ_ONLY_DETAIL)


READ_ONLY = Validators(
    post_single=[_read_only], put_single=[_read_only], patch_single=[_read_only],
    delete_single=[_read_only], delete_all=[_read_only],
)


def _ro(table: Any, group: str, **options: Any) -> TableConfig:
    return TableConfig(table, validators=READ_ONLY, menu_group=group, **options)


def _rw(table: Any, group: str, **options: Any) -> TableConfig:
    return TableConfig(table, menu_group=group, **options)


OWNERS, CARDS, POINTS, REFERRALS = "业主 Owners", "会员卡 Cards", "积分 Points", "老带新 Referrals"
MERCHANTS, EVENTS, CARE = "联盟商家 Merchants", "活动 Events", "客服 Care"


def role_tables() -> dict[str, list[TableConfig]]:
    """The tables of each role's /admin (event staff: events; sales: referrals; service: cases
    and surveys; admin: all)."""
    members = [_rw(Project, OWNERS), _rw(Unit, OWNERS), _ro(Member, OWNERS), _ro(Ownership, OWNERS)]
    cards = [_ro(Card, CARDS), _ro(TierCriterion, CARDS), _ro(TierAssignment, CARDS), _ro(TierChange, CARDS)]
    points = [_ro(PointsAccount, POINTS), _ro(LedgerEntry, POINTS), _ro(PointsLot, POINTS)]
    referrals = [_ro(Lead, REFERRALS), _ro(LeadStageChange, REFERRALS), _ro(OfficeVisit, REFERRALS), _ro(RewardRule, REFERRALS)]
    merchants = [
        _ro(Merchant, MERCHANTS), _rw(Store, MERCHANTS), _ro(DiscountSchedule, MERCHANTS),
        _ro(ApiKey, MERCHANTS),  # its key_hash is a secret column: never served
        _ro(Sale, MERCHANTS), _ro(SaleReversal, MERCHANTS),
    ]
    events = [_rw(Program, EVENTS), _ro(Event, EVENTS), _ro(Signup, EVENTS), _ro(Scan, EVENTS)]
    care = [_ro(Case, CARE), _ro(CaseMessage, CARE), _ro(Survey, CARE), _ro(OutboxMessage, CARE)]
    return {
        "admin": [
            *members, *cards, *points, *referrals, *merchants, *events, _ro(Payment, EVENTS), *care,
            _ro(StaffAccount, "员工 Staff"), _ro(AuditEntry, "审计 Audit"),
        ],
        "sales": referrals,
        "event_staff": events,
        "service": [_ro(Member, OWNERS), *care],
    }


def writable_tables(configs: list[TableConfig]) -> set[str]:
    """The tables of `configs` that /admin lets a role write (their writes are audited)."""
    return {c.table_class._meta.tablename for c in configs if c.validators is not READ_ONLY}
