"""Builders for event tests: owners come in through the real owner import (so they have cards,
tiers, stages and projects), events through the catalog service, members and staff log in
through the real session routes. Time is frozen at NOW (Beijing) by the `frozen` fixture.

Default event: a free club activity a week ahead, sign-up open since yesterday until the day
before, cancellation until two days before, 10 seats, parties of up to 4, 50 attendance points.
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, AsyncIterator

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


async def event(staff_id: int | None = None, **overrides: Any) -> int:
    return await catalog.create_event(draft(**overrides), staff_id or await staff(f"maker{datetime.now().timestamp()}"))


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


def problem(response: httpx.Response) -> str:
    return response.json().get("type", "")
