"""What /admin shows each staff role, and what it may change there.

/admin is a browser for the records; it is not where rules are kept. Every table whose rows
carry a rule (members and their ownerships, cards, tier rules and assignments, merchants with
their earn rule, discount schedules, events, signups, reward rules, staff accounts, API keys,
the ledger, sales, cases, the outbox...) is read-only here for everyone: those rows change only
through the staff API, whose services keep the rules and the audit log. So is every table that
has a purpose-built staff page (STAFF_PAGE_TABLES, issue #21): its page asks before what cannot
be undone and audits each change, /admin would not. What stays writable is the one declared list
WRITABLE_HERE (projects and units: no rule, no staff page), each write there audited by
admin_ui.admin like a service call."""

from __future__ import annotations

from typing import Any

from piccolo.table import Table
from piccolo_admin.endpoints import TableConfig
from piccolo_api.crud.endpoints import PiccoloCRUD
from piccolo_api.crud.validators import Validators
from starlette.exceptions import HTTPException
from starlette.requests import Request

from admin_ui.labels import MENU_GROUPS
from loyalty.audit.tables import AuditEntry
from loyalty.cards.tables import Card, TierAssignment, TierChange, TierCriterion
from loyalty.care.tables import Broadcast, Case, CaseMessage, OutboxMessage, ReturnVisit, Survey
from loyalty.events.tables import Event, Payment, Program, Scan, Signup
from loyalty.i18n import DEFAULT_LOCALE, _, request_locale, translate
from loyalty.identity.tables import StaffAccount
from loyalty.members.tables import Member, Ownership, Project, Unit
from loyalty.merchants.tables import ApiKey, DiscountSchedule, Merchant, Sale, SaleReversal, Store
from loyalty.points.tables import LedgerEntry, PointsAccount, PointsLot
from loyalty.referrals.tables import Lead, LeadStageChange, OfficeVisit, RewardRule
from loyalty.rewards.tables import Reward, RewardGrantRule

# The tables a purpose-built staff page (/staff) keeps, now or in this release: read-only in /admin.
# Rewards, grant rules, broadcasts and return visits are not shown in /admin at all (nothing to
# write there either); tests/admin_ui/test_admin_read_only.py tries a write on each, as an admin.
STAFF_PAGE_TABLES: tuple[type[Table], ...] = (
    Event, Program,  # events (#events)
    TierCriterion,  # tier rules
    Merchant, Store, DiscountSchedule, ApiKey,  # merchants, their stores, discounts and keys
    Member, Ownership,  # members and their ownerships
    Reward, RewardGrantRule,  # the rewards catalogue and its grant rules (#rewards)
    RewardRule,  # referral rules (#rewards, referral rewards)
    Broadcast,  # messages to owners (#messages)
    Case,  # the service desk (#desk)
    ReturnVisit,  # return visits (#visits)
    StaffAccount,  # staff accounts
)
# The only tables /admin lets a role write: no rule in their rows, no staff page for them.
WRITABLE_HERE: tuple[type[Table], ...] = (Project, Unit)
assert not set(STAFF_PAGE_TABLES) & set(WRITABLE_HERE), "a table with a staff page is read-only in /admin"

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

    def _shown(table: Any, group: str) -> TableConfig:
        """Read-only, unless the table is one of WRITABLE_HERE: the declared list decides, not the call."""
        if table in WRITABLE_HERE:
            return TableConfig(table, menu_group=translate(MENU_GROUPS[group], locale))
        return TableConfig(table, validators=READ_ONLY, menu_group=translate(MENU_GROUPS[group], locale))

    members = [_shown(Project, "owners"), _shown(Unit, "owners"), _shown(Member, "owners"), _shown(Ownership, "owners")]
    cards = [_shown(Card, "cards"), _shown(TierCriterion, "cards"), _shown(TierAssignment, "cards"), _shown(TierChange, "cards")]
    points = [_shown(PointsAccount, "points"), _shown(LedgerEntry, "points"), _shown(PointsLot, "points")]
    referrals = [
        _shown(Lead, "referrals"), _shown(LeadStageChange, "referrals"), _shown(OfficeVisit, "referrals"), _shown(RewardRule, "referrals"),
    ]
    merchants = [
        _shown(Merchant, "merchants"), _shown(Store, "merchants"), _shown(DiscountSchedule, "merchants"),
        _shown(ApiKey, "merchants"),  # its key_hash is a secret column: never served
        _shown(Sale, "merchants"), _shown(SaleReversal, "merchants"),
    ]
    events = [_shown(Program, "events"), _shown(Event, "events"), _shown(Signup, "events"), _shown(Scan, "events")]
    care = [_shown(Case, "care"), _shown(CaseMessage, "care"), _shown(Survey, "care"), _shown(OutboxMessage, "care")]
    return {
        "admin": [
            *members, *cards, *points, *referrals, *merchants, *events, _shown(Payment, "events"), *care,
            _shown(StaffAccount, "staff"), _shown(AuditEntry, "audit"),
        ],
        "sales": referrals,
        "event_staff": events,
        "service": [_shown(Member, "owners"), *care],
    }


def writable_tables(configs: list[TableConfig]) -> set[str]:
    """The tables of `configs` that /admin lets a role write (their writes are audited)."""
    return {c.table_class._meta.tablename for c in configs if c.validators is not READ_ONLY}
