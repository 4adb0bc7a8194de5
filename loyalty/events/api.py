"""The events faces: what members may join (and why not), signups, tickets; staff create and
run events and scan at the door; Stripe's webhook."""

from __future__ import annotations

import base64
import io
import time
from dataclasses import dataclass
from datetime import time as dt_time, timedelta
from typing import Any

import msgspec
import qrcode
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, Parameter, RequestBody, Schema
from litestar.enums import ParamType
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from qrcode.constants import ERROR_CORRECT_M

from loyalty import clock, db
from loyalty.cards import service as cards
from loyalty.errors import DomainError, NotFound
from loyalty.events import calendar, catalog, checkin, detail, door_devices, door_sync, rules, series, signups, webhooks
from loyalty.events.payment_setup import payment_setup
from loyalty.events.schemas import (
    AdmissionEntry,
    AdmissionListView,
    DoorDeviceRequest,
    DoorDeviceSetup,
    DoorDeviceSession,
    DoorDeviceView,
    DoorDeviceSessionRequest,
    DoorConflictView,
    OfflineSyncRequest,
    OfflineSyncView,
    SyncedScanView,
    CheckinRequest,
    CheckinView,
    Created,
    DoorCountView,
    EventCreate,
    EventDetailView,
    EventSeriesCreate,
    EventSeriesRequest,
    SeriesCreated,
    SeriesSessionView,
    StaffProgramView,
    EventView,
    MySignupRef,
    PaymentSetupView,
    PaymentView,
    ProgramCreate,
    ProgramSessionsView,
    ProgramSignupRequest,
    ProgramView,
    Reason,
    SignupRequest,
    SessionView,
    SignupView,
    StaffEventView,
    StaffSignupView,
    WebhookAnswer,
    WhyNot,
)
from loyalty.events.stripe_gateway import gateway_for
from loyalty.events.tables import Event, Payment, Program, Signup
from loyalty.identity.guards import DOOR_DEVICE_KEY, DOOR_GATE_KEY, DOOR_KEY, STAFF_KEY, door_device, member_id, new_session, requires_member
from loyalty.i18n import _, request_locale, translate
from loyalty.i18n.enums import enum_label
from loyalty.settings import Settings
from loyalty.openapi_contract import raises

EVENT_STAFF = {"roles": ("event_staff",)}
# What a phone set up as a door scanner (door_devices) may call, besides what event staff may.
AT_THE_DOOR = {"roles": ("event_staff",), "door": True}
# What a signup (to an event, or to each session of a program) may be refused with.
SIGNUP_REFUSALS = (
    "already-signed-up", "event-cancelled", "event-full", "event-not-eligible", "invalid-field", "not-found",
    "party-too-large", "payment-provider-error", "payments-unavailable", "signup-closed", "signup-not-open-yet",
)



def _language(request: Request[Any, Any, State]) -> str:
    return request_locale(request)


def _why_not(problem: DomainError | None, language: str) -> WhyNot | None:
    if problem is None:
        return None
    return WhyNot(
        type=f"/problems/{problem.type}", message=problem.detail_in(language),
        title_zh=problem.title_in("zh-CN"), title_en=problem.title_in("en"),
    )


def event_view(offer: catalog.Offer, language: str) -> EventView:
    event = offer.event
    mine = offer.my_signup
    return EventView(
        id=event["id"], kind=event["kind"], kind_label_zh=enum_label("event_kind", event["kind"], "zh-CN"),
        kind_label_en=enum_label("event_kind", event["kind"], "en"), title_zh=event["title_zh"], title_en=event["title_en"],
        body_zh=event["body_zh"], body_en=event["body_en"], venue=event["venue"], program_id=event["program"],
        project_id=event["project"], starts_at=event["starts_at"], ends_at=event["ends_at"],
        signup_opens_at=event["signup_opens_at"], signup_closes_at=event["signup_closes_at"],
        cancel_deadline=event["cancel_deadline"], capacity=event["capacity"], seats_left=offer.seats_left,
        party_size_limit=event["party_size_limit"], fee_per_person_fen=offer.fee_per_person_fen,
        attendance_points=event["attendance_points"], status=event["status"], can_sign_up=offer.why_not is None,
        why_not=_why_not(offer.why_not, language), my_signup=MySignupRef(id=mine["id"], status=mine["status"]) if mine else None,
    )


async def event_detail_view(offer: catalog.Offer, member: int, language: str) -> EventDetailView:
    event = offer.event
    found = await detail.program_sessions(event, member)
    program = None
    if found is not None:
        p = found.program
        program = ProgramSessionsView(
            id=p["id"], title_zh=p["title_zh"], title_en=p["title_en"], body_zh=p["body_zh"], body_en=p["body_en"],
            sessions=[
                SessionView(
                    id=s.event["id"], title_zh=s.event["title_zh"], title_en=s.event["title_en"], venue=s.event["venue"],
                    starts_at=s.event["starts_at"], ends_at=s.event["ends_at"], seats_left=s.seats_left,
                    my_signup_status=s.my_status,  # type: ignore[arg-type]
                )
                for s in found.sessions
            ],
        )
    return EventDetailView(
        **msgspec.structs.asdict(event_view(offer, language)),
        open_to=await detail.open_to(event, language), waitlist_length=await detail.waitlist_length(event["id"]),
        program=program,
    )


async def signup_views(ids: list[int] | None, member: int, settings: Settings) -> list[SignupView]:
    """The member's signups (all, newest first, or the given ones in that order)."""
    query = Signup.select().where(Signup.member == member)
    if ids is not None:
        query = query.where(Signup.id.is_in(ids or [0]))
    rows = await query.order_by(Signup.id, ascending=ids is not None)
    events = {e["id"]: e for e in await Event.select().where(Event.id.is_in([r["event"] for r in rows] or [0]))}
    payments = {
        p["id"]: p for p in await Payment.select().where(Payment.id.is_in([r["payment"] for r in rows if r["payment"]] or [0]))
    }
    signer = cards.signer_for(settings)
    views = []
    for row in rows:
        event = events[row["event"]]
        position = None
        if row["status"] == "waitlisted":
            position = 1 + await Signup.count().where(
                (Signup.event == row["event"]) & (Signup.status == "waitlisted") & (Signup.id < row["id"])
            )
        payment = payments.get(row["payment"])
        preparing = (
            row["status"] == "pending_payment" and payment is not None
            and payment["status"] == "requires_payment" and not payment["stripe_intent_id"]
        )
        shown_status = "payment_preparing" if preparing else row["status"]
        views.append(
            SignupView(
                id=row["id"], event_id=event["id"], event_title_zh=event["title_zh"], event_title_en=event["title_en"],
                starts_at=event["starts_at"], venue=event["venue"], status=row["status"],
                status_label_zh=enum_label("signup_status", shown_status, "zh-CN"),
                status_label_en=enum_label("signup_status", shown_status, "en"),
                party_size=row["party_size"],
                fee_fen=row["fee_fen"], hold_expires_at=row["hold_expires_at"], waitlist_position=position,
                ticket_code=signer.sign("ticket", row["id"]) if row["status"] in ("confirmed", "attended") else None,
                payment=PaymentView(
                    id=payment["id"], amount_fen=payment["amount_fen"], currency=payment["currency"],
                    status="preparing" if preparing else payment["status"],
                    stripe_payment_intent=payment["stripe_intent_id"],
                    # The client secret is only for paying; once paid or cancelled it is not shown again.
                    client_secret=payment["client_secret"] if payment["status"] in ("requires_payment", "failed") else "",
                    last_error=payment["last_error"],
                ) if payment else None,
                refund_fen=row["refund_fen"], refund_status=row["refund_status"], checked_in_at=row["checked_in_at"],
                cancel_reason=row["cancel_reason"],
            )
        )
    return views


class MemberEventController(Controller):
    path = "/"
    tags = ["events"]
    guards = [requires_member]

    @raises("invalid-field", "not-found")
    @get("/events", operation_id="listEvents", summary="Upcoming events: what I may join, and why not for the rest")
    async def list_events(self, request: Request[Any, Any, State], settings: NamedDependency[Settings]) -> list[EventView]:
        language = _language(request)
        return [event_view(o, language) for o in await catalog.offers(member_id(request), settings, language=language)]

    @raises("invalid-field", "not-found")
    @get(
        "/events/{event_id:int}", operation_id="getEvent",
        summary="One event for its page: what I pay, who may join and why I may not, the waitlist, its program's sessions",
    )
    async def get_event(self, event_id: FromPath[int], request: Request[Any, Any, State], settings: NamedDependency[Settings]) -> EventDetailView:
        language = _language(request)
        me = member_id(request)
        found = await catalog.offers(me, settings, event_ids=[event_id], language=language)
        if not found:
            raise NotFound(_("There is no event {event_id}", event_id=event_id))
        return await event_detail_view(found[0], me, language)

    @raises("not-found")
    @get(
        "/events/{event_id:int}/event.ics", operation_id="getEventCalendar", media_type="text/calendar",
        summary="The event as an iCalendar file, for adding it to a calendar (published events)",
        description="A VEVENT in Beijing time (TZID Asia/Shanghai) with a UID stable per event, its title and "
        "description in my language, the venue as LOCATION and the event's page as URL.",
    )
    async def event_calendar(self, event_id: FromPath[int], request: Request[Any, Any, State]) -> Response[bytes]:
        event = await Event.select().where((Event.id == event_id) & (Event.status == "published")).first()
        if event is None:
            raise NotFound(_("There is no event {event_id}", event_id=event_id))
        page = f"{str(request.base_url).rstrip('/')}/#event/{event_id}"
        body = calendar.event_ics(event, language=_language(request), url=page, now=clock.now())
        return Response(body, media_type="text/calendar", headers={  # Litestar adds the charset
            "Content-Disposition": f'attachment; filename="{calendar.filename(event_id)}"',
            "Cache-Control": "private, no-store",
        })

    @raises(*SIGNUP_REFUSALS)
    @post(
        "/events/{event_id:int}/signups", operation_id="signUp", status_code=HTTP_201_CREATED,
        summary="Sign up (with family); a paid event holds the seat and answers with the payment to confirm",
    )
    async def sign_up(
        self, event_id: FromPath[int], data: JSONBody[SignupRequest], request: Request[Any, Any, State],
        settings: NamedDependency[Settings],
    ) -> list[SignupView]:
        me = member_id(request)
        ids = await signups.sign_up(
            me, event_id, settings=settings, party_size=data.party_size, join_waitlist=data.join_waitlist,
            language=_language(request),
        )
        return await signup_views(ids, me, settings)

    @get("/programs", operation_id="listPrograms", summary="Seasonal programs with sessions ahead")
    async def list_programs(self) -> list[ProgramView]:
        return [
            ProgramView(
                id=p["id"], title_zh=p["title_zh"], title_en=p["title_en"], body_zh=p["body_zh"], body_en=p["body_en"],
                starts_at=p["starts_at"], ends_at=p["ends_at"], event_ids=p["event_ids"],
            )
            for p in await catalog.programs()
        ]

    @raises(*SIGNUP_REFUSALS)
    @post(
        "/programs/{program_id:int}/signups", operation_id="signUpForProgram", status_code=HTTP_201_CREATED,
        summary="Sign up for a whole program or chosen sessions (one payment for the fees)",
    )
    async def sign_up_program(
        self, program_id: FromPath[int], data: JSONBody[ProgramSignupRequest], request: Request[Any, Any, State],
        settings: NamedDependency[Settings],
    ) -> list[SignupView]:
        me = member_id(request)
        ids = await signups.sign_up_program(
            me, program_id, settings=settings, event_ids=data.event_ids, party_size=data.party_size,
            join_waitlist=data.join_waitlist, language=_language(request),
        )
        return await signup_views(ids, me, settings)

    @get("/me/signups", operation_id="listMySignups", summary="My signups and tickets, newest first")
    async def my_signups(self, request: Request[Any, Any, State], settings: NamedDependency[Settings]) -> list[SignupView]:
        return await signup_views(None, member_id(request), settings)

    @raises("not-found")
    @get("/me/signups/{signup_id:int}", operation_id="getMySignup", summary="One of my signups")
    async def my_signup(self, signup_id: FromPath[int], request: Request[Any, Any, State], settings: NamedDependency[Settings]) -> SignupView:
        views = await signup_views([signup_id], member_id(request), settings)
        if not views:
            raise NotFound(_("There is no signup {signup_id}", signup_id=signup_id))
        return views[0]

    @raises("not-found", "payments-unavailable")
    @get(
        "/me/signups/{signup_id:int}/payment", operation_id="getMySignupPayment",
        summary="How to pay for my signup in the browser: amount, hold, Stripe.js, client secret",
    )
    async def my_signup_payment(
        self, signup_id: FromPath[int], request: Request[Any, Any, State], settings: NamedDependency[Settings]
    ) -> PaymentSetupView:
        found = await payment_setup(member_id(request), signup_id, settings)
        return PaymentSetupView(**{**vars(found), "payment_method_types": list(found.payment_method_types)})  # type: ignore[arg-type]

    @raises("cancel-deadline-passed", "invalid-field", "not-found", "signup-not-cancellable")
    @post(
        "/me/signups/{signup_id:int}/cancellation", operation_id="cancelMySignup", status_code=HTTP_200_OK,
        summary="Cancel before the deadline: the seat goes to the waitlist, a paid fee is refunded",
    )
    async def cancel(self, signup_id: FromPath[int], request: Request[Any, Any, State], settings: NamedDependency[Settings]) -> SignupView:
        me = member_id(request)
        await signups.cancel(me, signup_id, settings=settings)
        return (await signup_views([signup_id], me, settings))[0]

    @raises("not-found")
    @get(
        "/me/signups/{signup_id:int}/ticket.png", operation_id="getMyTicketImage", media_type="image/png",
        summary="The ticket's QR code (for a confirmed signup)",
    )
    async def ticket_png(self, signup_id: FromPath[int], request: Request[Any, Any, State], settings: NamedDependency[Settings]) -> Response[bytes]:
        views = await signup_views([signup_id], member_id(request), settings)
        if not views or views[0].ticket_code is None:
            raise NotFound(_("Signup {signup_id} has no ticket (only a confirmed seat has one)", signup_id=signup_id))
        maker = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4, box_size=8)
        maker.add_data(views[0].ticket_code)
        buffer = io.BytesIO()
        maker.make_image().save(buffer, format="PNG")
        return Response(buffer.getvalue(), media_type="image/png", headers={"Cache-Control": "private, no-store"})


@dataclass  # so that its __init__ calls __post_init__ (Operation has none)
class _StripeEventOperation(Operation):
    """The webhook's body, for the OpenAPI document: the handler reads the raw bytes itself,
    since Stripe signs exactly those."""

    def __post_init__(self) -> None:
        string = OpenAPIType.STRING
        self.parameters = [*(self.parameters or []), Parameter(
            name="Stripe-Signature", param_in=ParamType.HEADER, required=True, schema=Schema(type=string),
            description="Stripe's signature of the raw body (`t=…,v1=…`), checked with STRIPE_WEBHOOK_SECRET",
        )]
        self.request_body = RequestBody(required=True, description="a Stripe Event object", content={
            "application/json": OpenAPIMediaType(schema=Schema(
                type=OpenAPIType.OBJECT, required=["id", "type", "data"],
                properties={
                    "id": Schema(type=string, description="the event id: each is handled once (`duplicate` after)",
                                 examples=["evt_1QdXyZ2eZvKYlo2C0a1b2c3d"]),
                    "type": Schema(type=string, examples=["payment_intent.succeeded"], description=(
                        "acted on: payment_intent.succeeded (the signup is confirmed; a seat lost meanwhile is "
                        "refunded) and payment_intent.payment_failed (`last_payment_error.message` is kept; the "
                        "member may pay again); any other type is answered `ignored`")),
                    "data": Schema(type=OpenAPIType.OBJECT, description="`object`: the PaymentIntent", properties={
                        "object": Schema(type=OpenAPIType.OBJECT, properties={
                            "id": Schema(type=string, examples=["pi_3QdXyZ2eZvKYlo2C1x2y3z4w"]),
                            "last_payment_error": Schema(type=OpenAPIType.OBJECT, properties={
                                "message": Schema(type=string, examples=["Your card was declined."])}),
                        }),
                    }),
                },
            )),
        })


@raises("webhook-signature-invalid")
@post(
    "/payments/stripe/webhook", operation_id="stripeWebhook", status_code=HTTP_200_OK, tags=["payments"],
    summary="Stripe's events (signature checked with STRIPE_WEBHOOK_SECRET; each event handled once)",
    description="Called by Stripe, not by apps: set this URL as the webhook endpoint in the Stripe dashboard. "
    "Answers 200 with what was done (Stripe retries anything else); a body whose signature does not verify is a "
    "400 `webhook-signature-invalid`. 由 Stripe 调用，非客户端接口。",
    operation_class=_StripeEventOperation,
)
async def stripe_webhook(request: Request[Any, Any, State], settings: NamedDependency[Settings]) -> WebhookAnswer:
    body = await request.body()
    result = await webhooks.handle(body, request.headers.get("stripe-signature"), gateway_for(settings))
    return WebhookAnswer(result=result)  # type: ignore[arg-type]


class StaffEventController(Controller):
    path = "/events"
    tags = ["staff"]

    @get(operation_id="staffListEvents", summary="Events ending from yesterday on, drafts included, soonest first", opt=AT_THE_DOOR)
    async def list_events(self, request: Request[Any, Any, State]) -> list[StaffEventView]:
        since = clock.now() - timedelta(days=1)
        query = Event.select().where(Event.ends_at >= since)
        if (phone := door_device(request)) is not None:  # a door phone knows only its own event
            query = query.where(Event.id == phone.event_id)
        rows = await query.order_by(Event.starts_at).limit(200)
        live = await Signup.select(Signup.event, Signup.payment).where(
            Signup.event.is_in([e["id"] for e in rows] or [0]) & Signup.status.is_in(["pending_payment", "confirmed", "waitlisted"])
        )
        return [
            StaffEventView(
                id=e["id"], kind=e["kind"], title_zh=e["title_zh"], title_en=e["title_en"], status=e["status"],
                starts_at=e["starts_at"], ends_at=e["ends_at"], capacity=e["capacity"], seats_taken=e["seats_taken"],
                venue=e["venue"], program_id=e["program"], eligible_tiers=rules.split(e["eligible_tiers"]),
                eligible_project_ids=[int(p) for p in rules.split(e["eligible_projects"])],
                fee_platinum_fen=e["fee_platinum_fen"], fee_gold_fen=e["fee_gold_fen"], fee_silver_fen=e["fee_silver_fen"],
                fee_blue_fen=e["fee_blue_fen"],
                live_signups=sum(1 for s in live if s["event"] == e["id"]),
                paid_signups=sum(1 for s in live if s["event"] == e["id"] and s["payment"] is not None),
            )
            for e in rows
        ]

    @raises("invalid-field")
    @post(
        "/series/preview", operation_id="staffPreviewEventSeries", opt=EVENT_STAFF, status_code=HTTP_200_OK,
        summary="The sessions a recurring series would draft (quarterly, or one per chosen festival): nothing is written",
        description="Each session with its key (to drop it when creating), its title and Beijing times; sessions that "
        "would start in the past are left out. Festival dates come from the lunar calendar.",
    )
    async def preview_series(self, data: JSONBody[EventSeriesRequest]) -> list[SeriesSessionView]:
        return [_session_view(s) for s in series.preview(_series_plan(data))]

    @raises("invalid-field")
    @post(
        "/series", operation_id="staffCreateEventSeries", opt=EVENT_STAFF, status_code=HTTP_201_CREATED,
        summary="Create the kept sessions of a recurring series as draft events: all or none, audited",
    )
    async def create_series(self, data: JSONBody[EventSeriesCreate], request: Request[Any, Any, State]) -> SeriesCreated:
        return SeriesCreated(ids=await series.create_series(_series_plan(data), request.state.staff.id, keep=data.keep))

    @raises("invalid-field")
    @post(operation_id="staffCreateEvent", summary="Create an event (audited)", opt=EVENT_STAFF)
    async def create(self, data: JSONBody[EventCreate], request: Request[Any, Any, State]) -> Created:
        draft = catalog.EventDraft(
            kind=data.kind, title_zh=data.title_zh, starts_at=data.starts_at, ends_at=data.ends_at,
            signup_opens_at=data.signup_opens_at, signup_closes_at=data.signup_closes_at,
            cancel_deadline=data.cancel_deadline, capacity=data.capacity, title_en=data.title_en, body_zh=data.body_zh,
            body_en=data.body_en, venue=data.venue, project_id=data.project_id, program_id=data.program_id,
            party_size_limit=data.party_size_limit, eligible_tiers=data.eligible_tiers, eligible_stages=data.eligible_stages,
            eligible_project_ids=data.eligible_project_ids, fee_platinum_fen=data.fee_platinum_fen,
            fee_gold_fen=data.fee_gold_fen, fee_silver_fen=data.fee_silver_fen, fee_blue_fen=data.fee_blue_fen,
            attendance_points=data.attendance_points, status=data.status,
        )
        return Created(id=await catalog.create_event(draft, request.state.staff.id))

    @raises("not-found")
    @post("/{event_id:int}/publication", operation_id="staffPublishEvent", summary="Publish a draft", opt=EVENT_STAFF, status_code=HTTP_204_NO_CONTENT)
    async def publish(self, event_id: FromPath[int], request: Request[Any, Any, State]) -> None:
        await catalog.publish_event(event_id, request.state.staff.id)

    @raises("invalid-field", "not-found")
    @post(
        "/{event_id:int}/cancellation", operation_id="staffCancelEvent", opt=EVENT_STAFF, status_code=HTTP_200_OK,
        summary="Call an event off: every signup cancelled, every fee refunded (audited)",
    )
    async def cancel(self, event_id: FromPath[int], data: JSONBody[Reason], request: Request[Any, Any, State], settings: NamedDependency[Settings]) -> Created:
        await catalog.cancel_event(event_id, data.reason, request.state.staff.id, settings)
        return Created(id=event_id)

    @get("/{event_id:int}/signups", operation_id="staffListSignups", summary="The event's signups, in signup order", opt=EVENT_STAFF)
    async def list_signups(self, event_id: FromPath[int]) -> list[StaffSignupView]:
        rows = await db.fetch(
            "SELECT signup.*, member.name AS member_name FROM signup JOIN member ON member.id = signup.member "
            "WHERE signup.event = {} ORDER BY signup.id",
            event_id,
        )
        return [
            StaffSignupView(
                id=r["id"], member_id=r["member"], member_name=r["member_name"], status=r["status"], party_size=r["party_size"],
                fee_fen=r["fee_fen"], created_at=r["created_at"], checked_in_at=r["checked_in_at"],
                checked_in_gate=r["checked_in_gate"], refund_fen=r["refund_fen"], refund_status=r["refund_status"],
            )
            for r in rows
        ]

    @raises(door_devices.DoorElsewhere, "not-found")
    @get("/{event_id:int}/door", operation_id="staffDoorCount", summary="Live count at the door: checked in / expected", opt=AT_THE_DOOR)
    async def door(self, event_id: FromPath[int]) -> DoorCountView:
        if not await Event.exists().where(Event.id == event_id):
            raise NotFound(_("There is no event {event_id}", event_id=event_id))
        count = await checkin.door_count(event_id)
        return DoorCountView(event_id=event_id, **vars(count))

    @raises(door_devices.DoorElsewhere, "not-found")
    @get(
        "/{event_id:int}/admission-list", operation_id="staffAdmissionList", opt=AT_THE_DOOR,
        summary="What a door scanner keeps to decide offline: every signup, who came in where",
    )
    async def admission_list(self, event_id: FromPath[int], settings: NamedDependency[Settings]) -> AdmissionListView:
        found = await door_sync.admission_list(event_id, settings.checkin_opens_minutes)
        return AdmissionListView(
            event_id=found.event_id, opens_at=found.opens_at, starts_at=found.starts_at, generated_at=found.generated_at,
            signups=[
                AdmissionEntry(
                    signup_id=r["id"], member_id=r["member"], member_name=r["member_name"], party_size=r["party_size"],
                    status=r["status"], checked_in_at=r["checked_in_at"], checked_in_gate=r["checked_in_gate"],
                )
                for r in found.signups
            ],
        )

    @raises(door_devices.DoorElsewhere, "not-found")
    @get(
        "/{event_id:int}/door/conflicts", operation_id="staffDoorConflicts", opt=AT_THE_DOOR,
        summary="Offline admissions the server would not have made (one ticket let in at two doors)",
    )
    async def door_conflicts(self, event_id: FromPath[int]) -> list[DoorConflictView]:
        if not await Event.exists().where(Event.id == event_id):
            raise NotFound(_("There is no event {event_id}", event_id=event_id))
        return [
            DoorConflictView(
                scan_id=r["id"], signup_id=r["signup"], member_name=r["member_name"] or "", party_size=r["party_size"] or 0,
                gate=r["gate"], device=r["device"], scanned_at=r["scanned_at"], result=r["result"],  # type: ignore[arg-type]
                kind=r["conflict"], offline_result=r["offline_result"],  # type: ignore[arg-type]
                first_checked_in_at=r["checked_in_at"], first_gate=r["checked_in_gate"] or "",
            )
            for r in await door_sync.conflicts(event_id)
        ]


    @raises("not-found")
    @get(
        "/{event_id:int}/door-devices", operation_id="staffListDoorDevices", opt=EVENT_STAFF,
        summary="The phones set up as door scanners for this event and still switched on",
    )
    async def door_devices(self, event_id: FromPath[int]) -> list[DoorDeviceView]:
        return [
            DoorDeviceView(id=r["id"], gate=r["gate"], staff_name=r["staff_name"] or "", opened_at=r["used_at"], expires_at=r["session_expires_at"])
            for r in await door_devices.active(event_id)
        ]

    @raises("not-found")
    @delete(
        "/{event_id:int}/door-devices/{device_id:int}", operation_id="staffSwitchOffDoorDevice", opt=EVENT_STAFF,
        status_code=HTTP_204_NO_CONTENT, summary="Switch a door scanner phone off: its next request is refused",
    )
    async def switch_off_door_device(self, event_id: FromPath[int], device_id: FromPath[int]) -> None:
        await door_devices.revoke(event_id, device_id)


def _series_plan(data: EventSeriesRequest) -> series.SeriesPlan:
    hour, minute = (int(part) for part in data.start_time.split(":"))
    return series.SeriesPlan(
        pattern=data.pattern, year=data.year, kind=data.kind, title_zh=data.title_zh, start_time=dt_time(hour, minute),
        duration_minutes=data.duration_minutes, capacity=data.capacity, title_en=data.title_en, body_zh=data.body_zh,
        body_en=data.body_en, venue=data.venue, program_id=data.program_id, party_size_limit=data.party_size_limit,
        eligible_tiers=tuple(data.eligible_tiers), eligible_stages=tuple(data.eligible_stages),
        eligible_project_ids=tuple(data.eligible_project_ids), fee_platinum_fen=data.fee_platinum_fen,
        fee_gold_fen=data.fee_gold_fen, fee_silver_fen=data.fee_silver_fen, fee_blue_fen=data.fee_blue_fen,
        attendance_points=data.attendance_points, signup_opens_days_before=data.signup_opens_days_before,
        quarters=tuple(data.quarters), month_of_quarter=data.month_of_quarter, week=data.week, weekday=data.weekday,
        festivals=tuple(data.festivals),
    )


def _session_view(session: series.Session) -> SeriesSessionView:
    d = session.draft
    return SeriesSessionView(
        key=session.key, title_zh=d.title_zh, title_en=d.title_en, starts_at=d.starts_at, ends_at=d.ends_at,
        signup_opens_at=d.signup_opens_at, signup_closes_at=d.signup_closes_at, cancel_deadline=d.cancel_deadline,
        quarter=session.quarter, festival=session.festival,  # type: ignore[arg-type]
    )


class StaffProgramController(Controller):
    path = "/programs"
    tags = ["staff"]

    @get(operation_id="staffListPrograms", summary="Every program with its sessions' ids, drafts included, newest first", opt=EVENT_STAFF)
    async def list_programs(self) -> list[StaffProgramView]:
        programs = await Program.select().order_by(Program.id, ascending=False).limit(200)
        sessions = await Event.select(Event.id, Event.program, Event.starts_at, Event.ends_at).where(
            Event.program.is_in([p["id"] for p in programs] or [0]) & (Event.status != "cancelled")
        ).order_by(Event.starts_at)
        views = []
        for p in programs:
            own = [s for s in sessions if s["program"] == p["id"]]
            views.append(StaffProgramView(
                id=p["id"], title_zh=p["title_zh"], title_en=p["title_en"], body_zh=p["body_zh"], body_en=p["body_en"],
                project_id=p["project"], event_ids=[s["id"] for s in own],
                starts_at=own[0]["starts_at"] if own else None, ends_at=own[-1]["ends_at"] if own else None,
            ))
        return views

    @raises("invalid-field")
    @post(operation_id="staffCreateProgram", summary="Create a seasonal program (its sessions are events)", opt=EVENT_STAFF)
    async def create(self, data: JSONBody[ProgramCreate], request: Request[Any, Any, State]) -> Created:
        return Created(
            id=await catalog.create_program(
                data.title_zh, request.state.staff.id, title_en=data.title_en, body_zh=data.body_zh, body_en=data.body_en,
                project_id=data.project_id,
            )
        )


@raises(door_devices.DoorElsewhere, checkin.NonceReused, "card-replaced", "card-suspended", "code-bad-signature", "code-expired", "code-malformed", "code-unknown-key", "invalid-field", "not-found")
@post(
    "/checkins", operation_id="staffCheckIn", status_code=HTTP_200_OK, opt=AT_THE_DOOR, tags=["staff"],
    summary="Scan a ticket or a member card at the door: exactly one answer, exactly once",
)
async def staff_check_in(data: JSONBody[CheckinRequest], request: Request[Any, Any, State], settings: NamedDependency[Settings]) -> CheckinView:
    if (phone := door_device(request)) is not None:
        door_devices.check_scope(phone, data.event_id, {"gate": data.gate})
    answer = await checkin.check_in(
        data.event_id, data.code, gate=data.gate, signer=cards.signer_for(settings), staff_id=request.state.staff.id,
        nonce=data.nonce, opens_minutes=settings.checkin_opens_minutes, now=clock.now(), unix_time=time.time(),
    )
    assert answer.count is not None
    return CheckinView(
        result=answer.result,  # type: ignore[arg-type]
        result_label_zh=enum_label("checkin_result", answer.result, "zh-CN"),
        result_label_en=enum_label("checkin_result", answer.result, "en"),
        event_id=answer.event_id, signup_id=answer.signup_id, member_name=answer.member_name, party_size=answer.party_size,
        first_checked_in_at=answer.first_checked_in_at, first_gate=answer.first_gate, points_earned=answer.points_earned,
        detail=translate(answer.detail, request_locale(request)), replayed=answer.replayed,
        count=DoorCountView(event_id=answer.event_id, **vars(answer.count)),
    )


@raises(door_devices.DoorElsewhere, "invalid-field", "not-found")
@post(
    "/checkins/offline", operation_id="staffSyncOfflineScans", status_code=HTTP_200_OK, opt=AT_THE_DOOR, tags=["staff"],
    summary="A door scanner's offline scans, back online: each applied exactly once by nonce; conflicts reported",
)
async def staff_sync_offline_scans(
    data: JSONBody[OfflineSyncRequest], request: Request[Any, Any, State], settings: NamedDependency[Settings]
) -> OfflineSyncView:
    if (phone := door_device(request)) is not None:
        door_devices.check_scope(phone, data.event_id, {f"scans[{i}].gate": s.gate for i, s in enumerate(data.scans)})
    done = await door_sync.sync(
        data.event_id, data.device,
        [door_sync.OfflineScan(s.nonce, s.code, s.gate, s.scanned_at, s.offline_result) for s in data.scans],
        signer=cards.signer_for(settings), staff_id=request.state.staff.id, opens_minutes=settings.checkin_opens_minutes,
    )
    count = await checkin.door_count(data.event_id)
    return OfflineSyncView(
        scans=[
            SyncedScanView(
                nonce=d.nonce, status=d.status, result=d.result, conflict=bool(d.conflict), conflict_kind=d.conflict,  # type: ignore[arg-type]
                replayed=d.replayed, reason=translate(d.reason, request_locale(request)) if d.reason else "",
            )
            for d in done
        ],
        count=DoorCountView(event_id=data.event_id, **vars(count)),
    )


@raises("invalid-field", "not-found")
@post(
    "/door-devices", operation_id="staffSetUpDoorDevice", status_code=HTTP_201_CREATED, opt=EVENT_STAFF, tags=["staff"],
    summary="A one-time QR that makes a volunteer's phone a door scanner for one event and gate (10 minutes)",
)
async def staff_set_up_door_device(data: JSONBody[DoorDeviceRequest], request: Request[Any, Any, State]) -> DoorDeviceSetup:
    issued = await door_devices.issue(request.state.staff.id, data.event_id, data.gate)
    # The code travels after `#`: browsers do not send it to the server, so no log keeps it.
    url = f"{str(request.base_url).rstrip('/')}/staff#door-setup={issued.token}"
    image = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=8, border=2)
    image.add_data(url)
    png = io.BytesIO()
    image.make_image().save(png, format="PNG")
    return DoorDeviceSetup(
        url=url, expires_at=issued.expires_at, qr_png_base64=base64.b64encode(png.getvalue()).decode(),
    )


@raises(door_devices.DoorSetupCodeInvalid)
@post(
    "/auth/door-device-sessions", operation_id="doorDeviceLogin", status_code=HTTP_201_CREATED, tags=["auth"],
    summary="Open a door scanner from its one-time QR: a session that may only scan at that door",
)
async def door_device_login(data: JSONBody[DoorDeviceSessionRequest], request: Request[Any, Any, State]) -> DoorDeviceSession:
    device = await door_devices.redeem(data.token)
    request.set_session({
        **new_session(STAFF_KEY, device.staff_id), DOOR_KEY: device.event_id, DOOR_GATE_KEY: device.gate, DOOR_DEVICE_KEY: device.id,
    })
    return DoorDeviceSession(event_id=device.event_id, gate=device.gate)
