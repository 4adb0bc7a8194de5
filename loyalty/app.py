"""`create_app(settings)`: one Litestar application, its faces composed on one domain."""

from __future__ import annotations

import hashlib
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

from litestar import Litestar, Response, Router, asgi, get
from litestar.datastructures import CacheControlHeader, State
from litestar.di import Provide
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router
from piccolo.engine.base import Engine

from loyalty import __version__, apidocs, db, jobs
from loyalty.cards.api import MyCardController, StaffCardController, TierRuleController, code_keys
from loyalty.points.api import MyPointsController, StaffAdjustmentRequestController, StaffPointsController
from loyalty.referrals.api import MemberReferralController, StaffReferralController, StaffReferralRuleController
from loyalty.care.api import MyCareController, StaffCaseController, staff_kpis
from loyalty.care.visit_api import StaffVisitController, staff_member_contacts
from loyalty.care.kpi_board_api import StaffKpiBoardController, staff_care_plans
from loyalty.care.improvements_api import StaffImprovementActionController
from loyalty.care.repair_api import MyRepairController, StaffRepairController
from loyalty.care.unsubscribe import unsubscribe, unsubscribe_page
from loyalty.identity.wechat_api import wechat_login, wechat_oauth_callback, wechat_server_check, wechat_server_event
from loyalty.dashboards.api import StaffDashboardController
from loyalty.events.api import MemberEventController, StaffEventController, StaffProgramController, door_device_login, staff_check_in, staff_set_up_door_device, staff_sync_offline_scans, stripe_webhook
from loyalty.identity.api import MemberAuthController, StaffAuthController, StaffMeController
from loyalty.identity.accounts_api import StaffAccountController
from loyalty.identity.guards import requires_staff_role
from loyalty.merchants.api import StaffMerchantController
from loyalty.members.api import list_projects, MeController, OwnerImportController, StaffMemberController, StaffOwnershipController
from loyalty.json_bodies import BoundedJsonRequest
from loyalty.openapi_contract import document_app
from loyalty.privacy.api import MyDataExportController, StaffErasureController
from loyalty.rewards.api import MyRewardController, StaffRewardController, reward_picture
from loyalty.rewards.grant_rules_api import StaffGrantRuleController
from loyalty.care.broadcasts_api import StaffBroadcastController
from loyalty.ops.edge import Edge
from loyalty.ops.embedded_beat import EmbeddedBeat
from loyalty.ops.health import health, ready
from loyalty.ops.metrics import metrics_controller, request_metrics
from loyalty.problems import EXCEPTION_HANDLERS, SESSION_COOKIE
from loyalty.settings import Settings
from loyalty.ops.rate_limits import Counters, FixedWindow
from partner_api.auth import BadKeyLimit, RateLimit
from partner_api.routes import partner_router
from loyalty.i18n.api import choose_language, page_catalogue
from loyalty.i18n.catalog import check_compiled

WEB = Path(__file__).resolve().parent / "web" / "static"
STAFF_WEB = Path(__file__).resolve().parent.parent / "admin_ui" / "static"
FONTS = Path(__file__).resolve().parent / "cards" / "fonts"


@get("/staff", include_in_schema=False, media_type="text/html")
async def staff_page() -> Response[bytes]:
    """The staff pages: referral board, door scanner, dashboards."""
    # "text/html", not "text/html; charset=utf-8": Litestar appends the charset to every text/*
    # media type itself, and a second one made the header "...; charset=utf-8; charset=utf-8".
    return Response((STAFF_WEB / "staff.html").read_bytes(), media_type="text/html", headers={"Cache-Control": "no-cache"})


@get("/", include_in_schema=False, media_type="text/html")
async def index() -> Response[bytes]:
    """The owner's page."""
    return Response((WEB / "index.html").read_bytes(), media_type="text/html", headers={"Cache-Control": "no-cache"})  # see staff_page


def admin_mount(settings: Settings) -> Any:
    """piccolo-admin at /admin (one instance per staff role, see admin_ui/admin.py)."""
    from admin_ui.admin import RoleAdmin

    role_admin = RoleAdmin(settings)

    @asgi("/admin", is_mount=True, include_in_schema=False, copy_scope=True)
    async def admin(scope: Any, receive: Any, send: Any) -> None:
        await role_admin(scope, receive, send)

    return admin


def session_secret(settings: Settings) -> bytes:
    """The cookie-session key, derived from LOYALTY_SECRET_KEY so one secret rotates all."""
    if not settings.secret_key:
        raise ValueError("create_app needs settings.secret_key (see loyalty.settings)")
    return hashlib.sha256(b"owner-club session v1:" + settings.secret_key.encode()).digest()


def create_app(settings: Settings, *, engine: Engine | None = None) -> Litestar:
    """The application for `settings`. It binds the database engine for the URL (or the one
    given, which tests share), and refuses to start on a database whose migrations have not
    all been applied."""
    check_compiled()  # a missing .mo stops here, not at the first page a reader opens
    db.bind(engine or db.engine_from_url(settings.database_url))
    jobs.configure(settings)
    counters = Counters(settings)  # one Redis pool per process for every request limit

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        opened = await db.start()
        try:
            await db.check_migrated()
            # No broker, so no `loyalty beat`: this process runs the beat schedule itself, each
            # run once across all web processes (loyalty/ops/embedded_beat.py).
            beat = EmbeddedBeat() if settings.jobs_in_process else None
            if beat is not None:
                beat.start()
            try:
                yield
            finally:
                if beat is not None:
                    await beat.stop()
        finally:
            await counters.close()
            if opened:
                await db.stop()

    staff = Router(
        "/staff",
        guards=[requires_staff_role],
        route_handlers=[
            StaffMeController,
            StaffMemberController,
            StaffOwnershipController,
            OwnerImportController,
            StaffCardController,
            TierRuleController,
            StaffPointsController,
            StaffAdjustmentRequestController,
            StaffReferralController,
            StaffReferralRuleController,
            StaffMerchantController,
            StaffEventController,
            StaffProgramController,
            staff_check_in, staff_sync_offline_scans, staff_set_up_door_device,
            StaffCaseController,
            staff_kpis,
            StaffVisitController,
            staff_member_contacts,
            StaffKpiBoardController,
            staff_care_plans,
            StaffImprovementActionController,
            StaffDashboardController,
            StaffErasureController,
            StaffRewardController,
            StaffGrantRuleController,
            StaffBroadcastController,
            StaffRepairController,
            StaffAccountController,
        ],
    )
    api_v1 = Router(
        "/api/v1",
        route_handlers=[
            code_keys, door_device_login, MemberAuthController, StaffAuthController, MeController, list_projects, MyCardController,
            MyPointsController, MemberReferralController, MemberEventController, stripe_webhook, MyCareController, MyRepairController, MyDataExportController, MyRewardController, reward_picture, staff,
            choose_language, unsubscribe_page, unsubscribe, wechat_login, wechat_oauth_callback, wechat_server_check,
            wechat_server_event,
        ],
    )
    sessions = CookieBackendConfig(
        secret=session_secret(settings),
        key=SESSION_COOKIE,  # a 401 names it in its WWW-Authenticate challenge
        max_age=settings.session_max_age_seconds,
        secure=settings.secure_cookies,
        httponly=True,
        samesite="lax",
        exclude="^/partner/",  # tills authenticate with keys, never cookies
    )
    app = Litestar(
        route_handlers=[
            health,
            ready,
            metrics_controller(settings),
            index,
            staff_page,
            page_catalogue,
            api_v1,
            partner_router(),
            apidocs.assets_router(),
            create_static_files_router(path="/static/web", directories=[WEB], include_in_schema=False),
            create_static_files_router(path="/static/staff", directories=[STAFF_WEB], include_in_schema=False),
            create_static_files_router(path="/static/fonts", directories=[FONTS], include_in_schema=False,
                                       cache_control=CacheControlHeader(max_age=86400 * 30, public=True)),
            admin_mount(settings),
        ],
        dependencies={"settings": Provide(lambda: settings, sync_to_thread=False)},
        middleware=[request_metrics().middleware, sessions.middleware],
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        request_class=BoundedJsonRequest,  # every JSON body's nesting is bounded (a 400, not a RecursionError)
        lifespan=[lifespan],
        state=State({
            "settings": settings,
            "partner_rate_limit": RateLimit(settings, counters),
            "partner_bad_keys": BadKeyLimit(settings, counters),
            "login_codes_per_address": FixedWindow(counters, settings.login_codes_per_address, "login-codes-address"),
        }),
        openapi_config=OpenAPIConfig(
            title="Owner Club API",
            version=__version__,
            description=(
                "Owner Club, the loyalty and membership platform for home owners (业主俱乐部). This document holds "
                "three faces: the **member API** (`/api/v1`, a member's session cookie), the **staff API** "
                "(`/api/v1/staff`, a staff session; each operation names the roles it needs) and the **partner API** "
                "(`/partner/v1`, an alliance merchant's till with a Bearer API key). Money is in integer fen "
                "(1 CNY = 100 fen), points are integers, months are `YYYY-MM`, days are Beijing time.\n\n"
                "Every failure is RFC 9457 problem details (`application/problem+json`) with a stable `type` to "
                "branch on: each operation lists the types it can answer (`x-problem-types`, and one example per "
                "type under each status); `components.schemas.ProblemType` and the document's `x-problem-types` say "
                "what each means and which extra fields its body carries. Partner writes take an `Idempotency-Key` "
                "(kept per merchant; a refused write is not stored, so the same key may be retried after fixing it)."
            ),
            path="/schema",
            components=Components(
                security_schemes={
                    "session": SecurityScheme(
                        type="apiKey", name="ocs", security_scheme_in="cookie",
                        description="the session cookie from POST /api/v1/auth/sessions (members) or "
                        "/api/v1/auth/staff-sessions (staff)",
                    ),
                    "partnerKey": SecurityScheme(type="http", scheme="bearer", description="ocm_live_… merchant API key"),
                }
            ),
            # Swagger UI 5 and Redoc 2 from our own files: the docs work offline (loyalty/apidocs.py).
            render_plugins=apidocs.render_plugins(),
        ),
        debug=False,
        logging_config=None,  # loyalty.ops.logs configures logging (Litestar's default would take over the root logger)
    )
    document_app(app)
    app.asgi_handler = Edge(app.asgi_handler, settings)
    return app
