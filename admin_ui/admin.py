"""`/admin`: piccolo-admin for staff CRUD, one admin per role.

piccolo-admin shows every table it is given to every user it lets in, so there is one
instance per staff role, each with that role's tables (event staff: events; sales: referrals;
service: cases and surveys; admin: all), and `RoleAdmin` hands each request to the instance of
the logged-in user's role. They share piccolo-admin's session table and cookie, so one login
serves them all; a request without a session reaches the admin instance, whose pages other than
the login all require a session.

Money-like and append-only records (the points ledger, sales, payments, the audit log, the
outbox) are read-only here for everyone: they change only through the services that keep
their rules. Leads move through the referral board (rewards are paid by the service)."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

from piccolo.apps.user.tables import BaseUser
from piccolo_admin.endpoints import TableConfig, create_admin
from piccolo_api.crud.endpoints import PiccoloCRUD
from piccolo_api.crud.validators import Validators
from piccolo_api.session_auth.tables import SessionsBase
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from loyalty.audit.tables import AuditEntry
from loyalty.cards.tables import Card, TierAssignment, TierChange, TierCriterion
from loyalty.care.tables import Case, CaseMessage, OutboxMessage, Survey
from loyalty.events.tables import Event, Payment, Program, Scan, Signup
from loyalty.identity.tables import StaffAccount
from loyalty.members.tables import Member, Ownership, Project, Unit
from loyalty.merchants.tables import ApiKey, DiscountSchedule, Merchant, Sale, SaleReversal, Store
from loyalty.points.tables import LedgerEntry, PointsAccount, PointsLot
from loyalty.referrals.tables import Lead, LeadStageChange, OfficeVisit, RewardRule
from loyalty.settings import Settings


async def _read_only(piccolo_crud: PiccoloCRUD, request: Request) -> None:
    raise HTTPException(status_code=405, detail="read-only here: this record changes only through its service")


READ_ONLY = Validators(
    post_single=[_read_only], put_single=[_read_only], patch_single=[_read_only],
    delete_single=[_read_only], delete_all=[_read_only],
)


def _guarded(table: Any, *columns: Any) -> Validators:
    """Rows that staff may edit here, except `columns`, which move only through their service
    (seats through signups, an event's status through publication and cancellation, a card's
    tier and status through the audited card actions). A form that sends a guarded column
    unchanged is fine; changing it is refused."""
    names = [column._meta.name for column in columns]

    async def unchanged(piccolo_crud: PiccoloCRUD, request: Request) -> None:
        body = await request.json()
        sent = [name for name in names if isinstance(body, dict) and name in body]
        if not sent:
            return
        row_id = request.path_params.get("row_id")
        if row_id is None:  # a new row: the guarded columns keep their defaults
            current = {name: table._meta.get_column_by_name(name).get_default_value() for name in sent}
        else:
            current = await table.select(*(table._meta.get_column_by_name(n) for n in sent)).where(
                table._meta.primary_key == int(row_id)
            ).first() or {}
        changed = [name for name in sent if name in current and body[name] != current[name]]
        if changed:
            raise HTTPException(
                status_code=422,
                detail=f"{', '.join(changed)}: change this through the staff pages, which keep its rules "
                "and the audit log (在员工页面中修改，以保留规则与审计记录)",
            )

    return Validators(post_single=[unchanged], put_single=[unchanged], patch_single=[unchanged])


def _ro(table: Any, group: str, **options: Any) -> TableConfig:
    return TableConfig(table, validators=READ_ONLY, menu_group=group, **options)


def _rw(table: Any, group: str, **options: Any) -> TableConfig:
    return TableConfig(table, menu_group=group, **options)


def _role_tables() -> dict[str, list[TableConfig]]:
    members = [_rw(Project, "业主 Owners"), _rw(Unit, "业主 Owners"), _rw(Member, "业主 Owners"), _rw(Ownership, "业主 Owners")]
    cards = [_rw(Card, "会员卡 Cards", validators=_guarded(Card, Card.tier, Card.status)), _rw(TierCriterion, "会员卡 Cards"), _ro(TierAssignment, "会员卡 Cards"), _ro(TierChange, "会员卡 Cards")]
    points = [_ro(PointsAccount, "积分 Points"), _ro(LedgerEntry, "积分 Points"), _ro(PointsLot, "积分 Points")]
    referrals = [_ro(Lead, "老带新 Referrals"), _ro(LeadStageChange, "老带新 Referrals"), _ro(OfficeVisit, "老带新 Referrals")]
    merchants = [
        _rw(Merchant, "联盟商家 Merchants"), _rw(Store, "联盟商家 Merchants"), _rw(DiscountSchedule, "联盟商家 Merchants"),
        _ro(ApiKey, "联盟商家 Merchants", exclude_visible_columns=[ApiKey.key_hash]),
        _ro(Sale, "联盟商家 Merchants"), _ro(SaleReversal, "联盟商家 Merchants"),
    ]
    events = [
        _rw(Program, "活动 Events"),
        _rw(Event, "活动 Events", validators=_guarded(Event, Event.seats_taken, Event.status)),
        _ro(Signup, "活动 Events"),
        _ro(Scan, "活动 Events"),
    ]
    care = [_ro(Case, "客服 Care"), _ro(CaseMessage, "客服 Care"), _ro(Survey, "客服 Care"), _ro(OutboxMessage, "客服 Care")]
    return {
        "admin": [
            *members, *cards, *points, *referrals, _rw(RewardRule, "老带新 Referrals"), *merchants, *events,
            _ro(Payment, "活动 Events"), *care, _rw(StaffAccount, "员工 Staff"), _ro(AuditEntry, "审计 Audit"),
        ],
        "sales": [*referrals, _ro(RewardRule, "老带新 Referrals")],
        "event_staff": events,
        "service": [_ro(Member, "业主 Owners"), *care],
    }


class RoleAdmin:
    """The ASGI app mounted at /admin: the logged-in user's role picks the admin instance."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._apps: dict[str, Any] | None = None

    def _build(self) -> dict[str, Any]:
        """The admin instances, made on the first request to /admin (they take a second to
        build, and most processes — workers, tests — never serve the admin)."""
        common: dict[str, Any] = dict(
            auth_table=BaseUser, session_table=SessionsBase, site_name="业主俱乐部 Owner Club",
            default_language_code="zh-CN", production=self.settings.secure_cookies,
            allowed_hosts=[], auto_include_related=False,
        )
        apps = {role: create_admin(tables, **common) for role, tables in _role_tables().items()}
        apps[""] = create_admin([], **common)  # a staff login without a known role
        return apps

    async def _role(self, scope: Scope) -> str | None:
        cookies = SimpleCookie()
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                cookies.load(value.decode("latin-1"))
        token = cookies.get("id")
        if token is None:
            return None
        user_id = await SessionsBase.get_user_id(token.value)
        if user_id is None:
            return None
        row = await StaffAccount.select(StaffAccount.role).where(
            (StaffAccount.user == user_id) & (StaffAccount.active == True)  # noqa: E712
        ).first()
        return row["role"] if row else ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._apps is None:
            self._apps = self._build()
        role = await self._role(scope) if scope["type"] == "http" else None
        if role is None:  # not logged in: the login page (every other page needs a session)
            app = self._apps["admin"]
        else:
            app = self._apps.get(role, self._apps[""])
        await app(scope, receive, send)
