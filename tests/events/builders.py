"""Builders for event tests: owners come in through the real owner import (so they have cards,
tiers, stages and projects), events through the catalog service, members and staff log in
through the real session routes. Time is frozen at NOW (Beijing) by the `frozen` fixture.

Default event: a free club activity a week ahead, sign-up open since yesterday until the day
before, cancellation until two days before, 10 seats, parties of up to 4, 50 attendance points.
"""

from __future__ import annotations

import contextlib
import itertools
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import httpx

from loyalty import jobs
from loyalty.app import create_app
from loyalty.clock import LOCAL_ZONE
from loyalty.events import catalog
from loyalty.identity import service as identity
from loyalty.members.tables import Member, Project
from loyalty.settings import Settings
from tests.identity.builders import latest_code
from tests.members_builders import import_rows

TODAY = date(2026, 6, 15)
NOW = datetime.combine(TODAY, time(12, 0), LOCAL_ZONE)
STAFF_PASSWORD = "event-staff-password-1"


def phone(n: int) -> str:
    """The n-th test owner's phone (local form, as an owner file has it)."""
    return f"139{n:08d}"


async def owners(folder: Path, count: int, *, units: int = 1, project: str = "HZ-YH", start: int = 0,
                 contract_date: str = "2025-03-01", delivery_date: str = "") -> list[int]:
    """`count` owners with `units` units each (1 → blue card, 2 → gold) in `project`;
    their member ids in order."""
    rows = []
    for n in range(start, start + count):
        for u in range(units):
            rows.append({
                "phone": phone(n), "name": f"业主{n}", "project_code": project, "project_name": f"项目{project}",
                "room": f"{n:04d}{u}", "contract_date": contract_date, "delivery_date": delivery_date,
            })
    await import_rows(folder, rows)
    ids = []
    for n in range(start, start + count):
        found = await Member.select(Member.id).where(Member.phone == f"+86{phone(n)}").first()
        assert found is not None
        ids.append(found["id"])
    return ids


async def project_id(code: str = "HZ-YH") -> int:
    row = await Project.select(Project.id).where(Project.code == code).first()
    assert row is not None
    return row["id"]


async def staff(username: str = "door1", role: str = "event_staff") -> int:
    return (await identity.create_staff(username, STAFF_PASSWORD, role)).id


def draft(**overrides: Any) -> catalog.EventDraft:
    fields: dict[str, Any] = dict(
        kind="club_activity", title_zh="亲子烘焙课", title_en="Family baking class",
        starts_at=NOW + timedelta(days=7), ends_at=NOW + timedelta(days=7, hours=3),
        signup_opens_at=NOW - timedelta(days=1), signup_closes_at=NOW + timedelta(days=6),
        cancel_deadline=NOW + timedelta(days=5), capacity=10, party_size_limit=4, attendance_points=50,
        venue="云湖里会所",
    )
    fields.update(overrides)
    return catalog.EventDraft(**fields)


_makers = itertools.count(1)


async def event(staff_id: int | None = None, **overrides: Any) -> int:
    """An event made by `staff_id`, or by a new event-staff member (named by a counter: the
    clock is frozen in these tests)."""
    return await catalog.create_event(draft(**overrides), staff_id or await staff(f"maker{next(_makers)}"))


@contextlib.asynccontextmanager
async def member_client(database: Any, settings: Settings, member_phone: str) -> AsyncIterator[httpx.AsyncClient]:
    """A logged-in member's own client (its own cookie jar) on an app for `settings`."""
    app = create_app(settings, engine=database.engine)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            e164 = f"+86{member_phone}"
            sent = await http.post("/api/v1/auth/login-codes", json={"phone": e164})
            assert sent.status_code == 202, sent.text
            response = await http.post("/api/v1/auth/sessions", json={"phone": e164, "code": await latest_code(e164)})
            assert response.status_code == 201, response.text
            yield http
    finally:
        jobs.configure(database.settings())


@contextlib.asynccontextmanager
async def staff_client(database: Any, settings: Settings, username: str = "door1", role: str = "event_staff") -> AsyncIterator[httpx.AsyncClient]:
    await staff(username, role)
    app = create_app(settings, engine=database.engine)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            response = await http.post("/api/v1/auth/staff-sessions", json={"username": username, "password": STAFF_PASSWORD})
            assert response.status_code == 201, response.text
            yield http
    finally:
        jobs.configure(database.settings())


async def speaks(http: httpx.AsyncClient, language: str) -> None:
    """Switch a logged-in client to `language` (a member's saved language outranks the
    browser's Accept-Language, so a test about English words switches as an owner would)."""
    response = await http.put("/api/v1/language", json={"language": language})
    assert response.status_code == 200, response.text


def problem(response: httpx.Response) -> str:
    return response.json().get("type", "")


# --- paid events (Stripe through localstripe) ------------------------------------------------

WEBHOOK_SECRET = "whsec_test_owner_club"


def paid_settings(database: Any, localstripe: Any, **overrides: Any) -> Settings:
    """The database's settings with Stripe pointed at the test's localstripe."""
    stripe = dict(stripe_api_key=localstripe.api_key, stripe_api_base=localstripe.base_url, stripe_webhook_secret=WEBHOOK_SECRET)
    return database.settings(**{**stripe, **overrides})


def pay(localstripe: Any, intent_id: str, card: str = "pm_card_visa") -> dict[str, Any]:
    """The owner pays `intent_id` in localstripe with `card` (a declined card raises
    stripe.CardError); returns the intent as Stripe now has it, for a webhook."""
    stripe_client = localstripe.client()
    stripe_client.v1.payment_intents.update(intent_id, params={"payment_method": card})
    stripe_client.v1.payment_intents.confirm(intent_id)
    return stripe_client.v1.payment_intents.retrieve(intent_id).to_dict()


def intent_now(localstripe: Any, intent_id: str) -> dict[str, Any]:
    return localstripe.client().v1.payment_intents.retrieve(intent_id).to_dict()


@contextlib.asynccontextmanager
async def stripe_caller(database: Any, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An anonymous client (no session, like Stripe itself) on an app for `settings`."""
    app = create_app(settings, engine=database.engine)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            yield http
    finally:
        jobs.configure(database.settings())


async def post_webhook(
    http: httpx.AsyncClient, body: bytes, *, secret: str = WEBHOOK_SECRET, signature: str | None = None
) -> httpx.Response:
    """POST a Stripe event body to the app's webhook, signed with `secret` now (frozen time)
    unless `signature` is given."""
    from tests.stripe_server import sign_webhook

    header = sign_webhook(body, secret) if signature is None else signature
    return await http.post(
        "/api/v1/payments/stripe/webhook", content=body,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )


# --- seats and the waitlist ------------------------------------------------------------------


async def seats(event_id: int) -> tuple[int, int]:
    """(the event row's `seats_taken`, the party sizes of its signups holding a seat): the
    two must always be equal."""
    from loyalty.events.tables import HOLDING, Event, Signup

    row = await Event.select(Event.seats_taken).where(Event.id == event_id).first()
    assert row is not None
    held = await Signup.select(Signup.party_size).where((Signup.event == event_id) & Signup.status.is_in(list(HOLDING)))
    return row["seats_taken"], sum(s["party_size"] for s in held)


async def statuses(event_id: int) -> dict[int, str]:
    """Each member's latest signup status for the event, by member id."""
    from loyalty.events.tables import Signup

    rows = await Signup.select(Signup.member, Signup.status).where(Signup.event == event_id).order_by(Signup.id)
    return {row["member"]: row["status"] for row in rows}


def forget_declined_charge(localstripe: Any, intent_id: str) -> None:
    """localstripe keeps a declined charge on the intent, so the intent stays
    `requires_payment_method` and cannot be confirmed again (real Stripe lets the owner retry
    with another card). Clear it (its JSON body path accepts null), then `pay` again."""
    import json
    import urllib.request

    request = urllib.request.Request(
        f"{localstripe.base_url}/v1/payment_intents/{intent_id}", data=json.dumps({"latest_charge": None}).encode(),
        method="POST", headers={"Content-Type": "application/json", "Authorization": f"Bearer {localstripe.api_key}"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()


async def sign_up_via(me: httpx.AsyncClient, event_id: int, party_size: int = 1, join_waitlist: bool = False) -> dict[str, Any]:
    """The member signs up through HTTP (expects 201); their one signup's view."""
    response = await me.post(f"/api/v1/events/{event_id}/signups", json={"party_size": party_size, "join_waitlist": join_waitlist})
    assert response.status_code == 201, response.text
    return response.json()[0]


async def my_signup(me: httpx.AsyncClient, signup_id: int) -> dict[str, Any]:
    response = await me.get(f"/api/v1/me/signups/{signup_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def release_unpaid_as_worker(database: Any, settings: Settings) -> int:
    """The release job as a worker runs it: jobs configured with `settings` (Stripe)."""
    from loyalty.events import waitlist

    jobs.configure(settings)
    try:
        return await waitlist.release_unpaid()
    finally:
        jobs.configure(database.settings())


def refunds_of(localstripe: Any, intent_id: str) -> list[Any]:
    return list(localstripe.client().v1.refunds.list(params={"payment_intent": intent_id}).data)


def intent_ids(localstripe: Any) -> set[str]:
    """Every PaymentIntent localstripe holds (shared by the run: compare before and after)."""
    listed = localstripe.client().v1.payment_intents.list(params={"limit": 100})
    return {intent.id for intent in listed.auto_paging_iter()}


def new_intents_for(localstripe: Any, before: set[str], payment_id: int) -> list[dict[str, Any]]:
    """The intents made since `before` for our payment `payment_id`."""
    made = [intent_now(localstripe, intent_id) for intent_id in sorted(intent_ids(localstripe) - before)]
    return [intent for intent in made if intent["metadata"].get("payment_id") == str(payment_id)]


@contextlib.contextmanager
def open_payment_jobs_lost(monkeypatch: Any) -> Iterator[list[tuple[Any, ...]]]:
    """Inside, `loyalty.events.open_payment` jobs are lost as with the broker down
    (`jobs.enqueue` answers False and runs nothing); yields the lost jobs' arguments."""
    lost: list[tuple[Any, ...]] = []
    enqueue = jobs.enqueue

    async def losing(name: str, *args: Any) -> bool:
        if name == "loyalty.events.open_payment":
            lost.append(args)
            return False
        return await enqueue(name, *args)

    with monkeypatch.context() as patched:
        patched.setattr(jobs, "enqueue", losing)
        yield lost
