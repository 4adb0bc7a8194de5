"""Builders for identity tests: members, login codes read from the outbox, logged-in clients.

Data goes in through services and Piccolo, never raw SQL. The code a member would read in
their SMS is taken from the outbox body (opened with the test secret: login-code bodies are
sealed at rest), because the database only keeps its HMAC.
"""

from __future__ import annotations

import re

import httpx

from loyalty.care.sealing import unseal
from loyalty.care.tables import OutboxMessage
from loyalty.identity import service
from loyalty.members.tables import Member

MEMBER_PHONE = "+8613800138000"
OTHER_PHONE = "+8613900139000"
STRANGER_PHONE = "+8613700137000"
STAFF_PASSWORD = "correct horse battery"

_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


async def add_member(name: str = "王芳", phone: str = MEMBER_PHONE, language: str = "zh-CN") -> int:
    """A bare member (no units), as the owner import would leave one."""
    member = Member(name=name, phone=phone, language=language)
    await member.save()
    return member.id


async def messages_to(phone: str) -> list[dict[str, object]]:
    return await OutboxMessage.select().where(OutboxMessage.recipient == phone).order_by(OutboxMessage.id)


def message_text(message: dict[str, object], secret: str | None = None) -> str:
    """What the owner reads: the body, opened if it was sealed (loyalty.care.sealing) under
    the test secret or `secret`."""
    from tests.conftest import TEST_SECRET

    return unseal(str(message["body"]), secret or TEST_SECRET)


async def latest_code(phone: str = MEMBER_PHONE, secret: str | None = None) -> str:
    """The 6-digit code in the newest message to `phone`."""
    messages = await messages_to(phone)
    assert messages, f"no message was queued for {phone}"
    found = _CODE.findall(message_text(messages[-1], secret))
    assert len(found) == 1, f"expected one 6-digit code in {messages[-1]['body']!r}"
    return found[0]


def wrong_code(code: str) -> str:
    """A 6-digit code that is certainly not `code`."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def log_in_member(client: httpx.AsyncClient, phone: str = MEMBER_PHONE, secret: str | None = None) -> httpx.Response:
    sent = await client.post("/api/v1/auth/login-codes", json={"phone": phone})
    assert sent.status_code == 202, sent.text
    response = await client.post("/api/v1/auth/sessions", json={"phone": phone, "code": await latest_code(phone, secret)})
    assert response.status_code == 201, response.text
    return response


async def add_staff(username: str, role: str) -> service.StaffIdentity:
    return await service.create_staff(username, STAFF_PASSWORD, role, display_name=username.title())


async def log_in_staff(client: httpx.AsyncClient, username: str, password: str = STAFF_PASSWORD) -> httpx.Response:
    response = await client.post("/api/v1/auth/staff-sessions", json={"username": username, "password": password})
    assert response.status_code == 201, response.text
    return response
