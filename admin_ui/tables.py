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

from admin_ui.labels import MENU_GROUPS
from loyalty.audit.tables import AuditEntry
from loyalty.cards.tables import Card, TierAssignment, TierChange, TierCriterion
from loyalty.care.tables import Case, CaseMessage, OutboxMessage, Survey
from loyalty.events.tables import Event, Payment, Program, Scan, Signup
from loyalty.i18n import DEFAULT_LOCALE, _, request_locale, translate
from loyalty.identity.tables import StaffAccount
from loyalty.members.tables import Member, Ownership, Project, Unit
from loyalty.merchants.tables import ApiKey, DiscountSchedule, Merchant, Sale, SaleReversal, Store
from loyalty.points.tables import LedgerEntry, PointsAccount, PointsLot
from loyalty.referrals.tables import Lead, LeadStageChange, OfficeVisit, RewardRule

READ_ONLY_DETAIL = _(
    "Read-only here: this record carries a rule and changes only on the staff pages, which keep the rule "
    "and the audit log"
)


async def _read_only(piccolo_crud: PiccoloCRUD, request: Request) -> None:
    raise HTTPException(status_code=405, detail=translate(READ_ONLY_DETAIL, request_locale(request)))


READ_ONLY = Validators(
    post_single=[_read_only], put_single=[_read_only], patch_single=[_read_only],
    delete_single=[_read_only], delete_all=[_read_only],
)


def role_tables(locale: str = DEFAULT_LOCALE) -> dict[str, list[TableConfig]]:
    """The tables of each role's /admin (event staff: events; sales: referrals; service: cases
    and surveys; admin: all), their menu groups named in `locale`: piccolo-admin takes one
    name per group when it is built, so admin_ui.admin builds one admin per role and locale."""

    def _ro(table: Any, group: str) -> TableConfig:
        return TableConfig(table, validators=READ_ONLY, menu_group=translate(MENU_GROUPS[group], locale))

    def _rw(table: Any, group: str) -> TableConfig:
        return TableConfig(table, menu_group=translate(MENU_GROUPS[group], locale))

    members = [_rw(Project, "owners"), _rw(Unit, "owners"), _ro(Member, "owners"), _ro(Ownership, "owners")]
    cards = [_ro(Card, "cards"), _ro(TierCriterion, "cards"), _ro(TierAssignment, "cards"), _ro(TierChange, "cards")]
    points = [_ro(PointsAccount, "points"), _ro(LedgerEntry, "points"), _ro(PointsLot, "points")]
    referrals = [
        _ro(Lead, "referrals"), _ro(LeadStageChange, "referrals"), _ro(OfficeVisit, "referrals"), _ro(RewardRule, "referrals"),
    ]
    merchants = [
        _ro(Merchant, "merchants"), _rw(Store, "merchants"), _ro(DiscountSchedule, "merchants"),
        _ro(ApiKey, "merchants"),  # its key_hash is a secret column: never served
        _ro(Sale, "merchants"), _ro(SaleReversal, "merchants"),
    ]
    events = [_rw(Program, "events"), _ro(Event, "events"), _ro(Signup, "events"), _ro(Scan, "events")]
    care = [_ro(Case, "care"), _ro(CaseMessage, "care"), _ro(Survey, "care"), _ro(OutboxMessage, "care")]
    return {
        "admin": [
            *members, *cards, *points, *referrals, *merchants, *events, _ro(Payment, "events"), *care,
            _ro(StaffAccount, "staff"), _ro(AuditEntry, "audit"),
        ],
        "sales": referrals,
        "event_staff": events,
        "service": [_ro(Member, "owners"), *care],
    }


def writable_tables(configs: list[TableConfig]) -> set[str]:
    """The tables of `configs` that /admin lets a role write (their writes are audited)."""
    return {c.table_class._meta.tablename for c in configs if c.validators is not READ_ONLY}
