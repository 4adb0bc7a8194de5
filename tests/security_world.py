"""The world tests/test_security_matrix.py checks: every kind of caller, logged in, and one
object of each kind an owner or a merchant owns, built once per database engine.

Owners come in through the real owner import, staff and merchants through their services, and
the owner's own things (signup, case, photo, referred friend) and the merchant's sale through
the routes their owners call. Requests come from a non-loopback address (REMOTE), as they do
in production behind no proxy.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, AsyncIterator, Iterator

import httpx
import pytest
from litestar import Litestar
from piccolo.apps.user.tables import BaseUser
from PIL import Image

from loyalty import clock, db, jobs
from loyalty.app import create_app
from loyalty.cards import service as cards
from loyalty.care import surveys
from loyalty.care.tables import Survey
from loyalty.events import catalog
from loyalty.identity import service as identity
from loyalty.identity.tables import ROLES, StaffAccount
from loyalty.members.tables import Member, Ownership
from loyalty.merchants import service as merchants
from loyalty.points import service as points
from loyalty.settings import Settings
from tests.conftest import Database, _empty_tables, _restore_seeds
from tests.identity.builders import latest_code
from tests.members_builders import import_rows

OWNER, OTHER_OWNER = "owner", "other_owner"
MERCHANT_A, MERCHANT_B = "merchant_a", "merchant_b"
CALLERS = ("anonymous", OWNER, OTHER_OWNER, *ROLES, MERCHANT_A, MERCHANT_B)

OWNER_ROW = {"phone": "13800138001", "name": "李思远", "contract_date": "2020-01-01", "delivery_date": "2021-01-01"}  # gold
OTHER_ROW = {"phone": "13800138002", "name": "王五", "contract_date": "2025-03-01"}
FRIEND = {"name": "赵六", "phone": "13700137001"}
CASE_TITLE = "厨房漏水 kitchen leak"
STAFF_PASSWORD = "matrix-staff-password-1"
REMOTE = ("203.0.113.7", 40000)  # TEST-NET-3: a caller from elsewhere, never loopback
BASE_URL = "http://testserver"


@dataclass
class Caller:
    cookie: str | None = None  # the `ocs` session cookie of a member or a staff member
    headers: dict[str, str] = field(default_factory=dict)  # a merchant's Authorization

    def request_headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {**self.headers, **(extra or {})}
        if self.cookie:
            headers["Cookie"] = f"ocs={self.cookie}"
        return headers


@dataclass
class Callers:
    http: httpx.AsyncClient
    credentials: dict[str, Caller] = field(default_factory=lambda: {"anonymous": Caller()})

    async def call(self, caller: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request as `caller`, with that caller's credentials only (the client's cookie
        jar is emptied first, so no answer's Set-Cookie carries over)."""
        self.http.cookies.clear()
        headers = self.credentials[caller].request_headers(kwargs.pop("headers", None))
        response = await self.http.request(method, url, headers=headers, **kwargs)
        if method == "DELETE" and url.endswith("sessions/current"):
            await undo_logouts()
        return response


async def undo_logouts() -> None:
    """Logging out ends every session of that member or staff account, the world's shared
    cookies included; the probes only ask whether the door opens, so the world is put back."""
    await Member.update({Member.sessions_revoked_at: None}, force=True)
    await StaffAccount.update({StaffAccount.sessions_revoked_at: None}, force=True)


@dataclass
class World:
    database: Database
    settings: Settings
    app: Litestar
    callers: Callers
    owner_id: int
    other_owner_id: int
    owner_unit_id: int
    project_id: int
    event_id: int
    draft_event_id: int
    signup_id: int
    case_id: int
    photo_id: int
    survey_id: int
    lead_id: int
    merchant_a_id: int
    sale_id: int
    merchant_key: str
    card_code: str  # the printed card's static code: it identifies
    paying_code: str  # the phone's code the world's sale paid with (now spent)

    async def call(self, caller: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return await self.callers.call(caller, method, url, **kwargs)


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def fast_hashing() -> Iterator[None]:
    """Staff passwords hash with few PBKDF2 rounds here: the same code paths, less waiting."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BaseUser, "_pbkdf2_iteration_count", 1_000)
        yield


async def member_cookie(http: httpx.AsyncClient, phone: str) -> str:
    http.cookies.clear()
    assert (await http.post("/api/v1/auth/login-codes", json={"phone": phone})).status_code == 202
    login = await http.post("/api/v1/auth/sessions", json={"phone": phone, "code": await latest_code(phone)})
    assert login.status_code == 201, login.text
    return login.cookies["ocs"]


async def staff_cookie(http: httpx.AsyncClient, username: str) -> str:
    http.cookies.clear()
    login = await http.post("/api/v1/auth/staff-sessions", json={"username": username, "password": STAFF_PASSWORD})
    assert login.status_code == 201, login.text
    return login.cookies["ocs"]


async def member_id(phone: str) -> int:
    row = await Member.select(Member.id).where(Member.phone == f"+86{phone}").first()
    assert row is not None
    return row["id"]


def event_draft(**overrides: Any) -> catalog.EventDraft:
    now = clock.now()
    fields: dict[str, Any] = dict(
        kind="club_activity", title_zh="亲子烘焙课", title_en="Family baking class",
        starts_at=now + timedelta(days=7), ends_at=now + timedelta(days=7, hours=3),
        signup_opens_at=now - timedelta(days=1), signup_closes_at=now + timedelta(days=6),
        cancel_deadline=now + timedelta(days=5), capacity=10, party_size_limit=4, venue="云湖里会所",
    )
    return catalog.EventDraft(**{**fields, **overrides})


def created(response: httpx.Response) -> Any:
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="module")
async def world(database_engine: Database, fast_hashing: None, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    """Two owners (the first gold, with points, a signup, a case with a photo, a yearly survey,
    a referred friend and a sale at merchant A), one staff member per role, merchants A and B
    with a key each, a published and a draft event; everyone logged in. Built once per engine,
    from emptied tables as the `database` fixture leaves them; the ledger is audited after."""
    database = database_engine
    db.bind(database.engine)
    await _empty_tables()
    await _restore_seeds()
    settings = database.settings(  # the matrix calls a lot, keyless and from one address
        partner_rate_limit="1000000/minute", partner_bad_key_limit="1000000/minute", login_codes_per_address="1000000/hour",
    )
    jobs.configure(settings)
    await import_rows(tmp_path_factory.mktemp("owners"), [OWNER_ROW, OTHER_ROW])
    owner, other = await member_id(OWNER_ROW["phone"]), await member_id(OTHER_ROW["phone"])
    await points.earn(owner, 5000, key="matrix-seed", source_kind="test")
    unit = await Ownership.select(Ownership.unit, Ownership.unit.project).where(Ownership.member == owner).first()
    assert unit is not None
    staff = {role: await identity.create_staff(f"matrix-{role}", STAFF_PASSWORD, role) for role in ROLES}

    shop_a = await merchants.create_merchant("森林装饰", "decoration", points_per_cny=1)
    await merchants.add_store(shop_a, "A1", "森林装饰一店")
    await merchants.set_discount(shop_a, "gold", 1000, valid_from=clock.today() - timedelta(days=30), cap_fen=50_000)
    shop_b = await merchants.create_merchant("明湖餐厅", "dining")
    await merchants.add_store(shop_b, "B1", "明湖餐厅一店")
    key_a, _ = await merchants.create_api_key(shop_a)
    key_b, _ = await merchants.create_api_key(shop_b)

    event = await catalog.create_event(event_draft(), staff["event_staff"].id)
    draft = await catalog.create_event(event_draft(title_zh="未发布的活动", status="draft"), staff["event_staff"].id)
    await surveys.create_survey(owner, "yearly", clock.now().year, unit["unit.project"], "")
    survey = await Survey.select(Survey.id).where(Survey.member == owner).first()
    assert survey is not None
    code = await cards.static_code(owner, cards.signer_for(settings))
    paying = (await cards.dynamic_code(owner, cards.signer_for(settings), time.time())).code

    app = create_app(settings, engine=database.engine)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=REMOTE), base_url=BASE_URL)
    callers = Callers(http)
    callers.credentials[OWNER] = Caller(await member_cookie(http, f"+86{OWNER_ROW['phone']}"))
    callers.credentials[OTHER_OWNER] = Caller(await member_cookie(http, f"+86{OTHER_ROW['phone']}"))
    for role in ROLES:
        callers.credentials[role] = Caller(await staff_cookie(http, f"matrix-{role}"))
    callers.credentials[MERCHANT_A] = Caller(headers={"Authorization": f"Bearer {key_a}"})
    callers.credentials[MERCHANT_B] = Caller(headers={"Authorization": f"Bearer {key_b}"})

    signup = created(await callers.call(OWNER, "POST", f"/api/v1/events/{event}/signups", json={"party_size": 2}))[0]
    case = created(await callers.call(OWNER, "POST", "/api/v1/me/cases", json={
        "kind": "repair", "title": CASE_TITLE, "text": "水槽下面一直漏水", "unit_id": unit["unit"],
    }))
    photo = created(await callers.call(OWNER, "POST", f"/api/v1/me/cases/{case['id']}/photos", content=png_bytes(),
                                       headers={"Content-Type": "image/png"}))
    lead = created(await callers.call(OWNER, "POST", "/api/v1/referrals", json={**FRIEND, "project_id": unit["unit.project"]}))
    sale = created(await callers.call(MERCHANT_A, "POST", "/partner/v1/sales", headers={"Idempotency-Key": "matrix-1"}, json={
        "code": paying, "store": "A1", "gross_fen": 100_000, "discount_fen": 10_000, "points_to_redeem": 1000,
    }))
    try:
        yield World(
            database=database, settings=settings, app=app, callers=callers, owner_id=owner, other_owner_id=other,
            owner_unit_id=unit["unit"], project_id=unit["unit.project"], event_id=event, draft_event_id=draft,
            signup_id=signup["id"], case_id=case["id"], photo_id=photo["id"], survey_id=survey["id"], lead_id=lead["id"],
            merchant_a_id=shop_a, sale_id=sale["id"], merchant_key=key_a, card_code=code,
            paying_code=paying,
        )
    finally:
        await http.aclose()
        jobs.configure(database.settings())
        db.bind(database.engine)
        drifts = await points.audit_ledger()
        assert drifts == [], f"the points ledger drifted: {drifts}"
