"""E-mail actually arrives: a real `loyalty worker` on Redis delivers outbox messages to a
local SMTP server (aiosmtpd on loopback). The worker reads its settings from the environment
and runs in real time (no frozen clock), so the messages here are queued to be due now."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from loyalty.care import outbox
from loyalty.care.tables import OutboxMessage
from loyalty.members.tables import Member
from tests.events.builders import owners
from tests.points.builders import celery_worker

pytestmark = pytest.mark.postgres_only

SENDER = "club@owner-club.test"
CASE_TEXTS = {
    "zh-CN": ("您的反馈有新进展", "【业主俱乐部】您的反馈「电梯异响」有了新的回复，请登录查看。"),
    "en": ("News about your feedback", "[Owner Club] There is a reply to your feedback 'Lift noise'. Log in to read it."),
}


class Inbox:
    """An aiosmtpd handler that keeps every envelope it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, deadline_seconds: float = 30) -> list[Envelope]:
        deadline = time.monotonic() + deadline_seconds
        while len(self.envelopes) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.envelopes)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def worker_env(port: int) -> dict[str, str]:
    return {
        "LOYALTY_SMTP_HOST": "127.0.0.1", "LOYALTY_SMTP_PORT": str(port), "LOYALTY_SMTP_FROM": f"业主俱乐部 <{SENDER}>",
        "LOYALTY_QUIET_HOURS": "", "LOYALTY_OUTBOX_MAX_ATTEMPTS": "3",
    }


def parsed(envelope: Envelope) -> EmailMessage:
    message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


async def row(message_id: int) -> dict[str, Any]:
    found = await OutboxMessage.select().where(OutboxMessage.id == message_id).first()
    assert found is not None
    return found


async def deliver_in_worker(database, redis_url: str, port: int, *message_ids: int) -> list[Any]:
    with celery_worker(database.url, redis_url, extra_env=worker_env(port)) as (celery, queue):
        results = [celery.send_task("loyalty.care.deliver_message", args=[message_id], queue=queue) for message_id in message_ids]
        return [await asyncio.to_thread(result.get, timeout=60) for result in results]


async def test_a_chinese_email_reaches_the_smtp_server_through_a_celery_worker(database, redis_url, smtp_server, tmp_path):
    inbox, port = smtp_server
    chinese, english, by_phone = await owners(tmp_path, 3)
    await Member.update({Member.email: "owner0@example.com"}).where(Member.id == chinese)
    await Member.update({Member.email: "owner1@example.com", Member.language: "en"}).where(Member.id == english)
    settings = database.settings(smtp_host="127.0.0.1", smtp_port=port, quiet_hours="")
    ids = [
        await outbox.message_member(member, kind="case_update", template="case_reply", texts=CASE_TEXTS, settings=settings)
        for member in (chinese, english, by_phone)
    ]
    assert None not in ids
    assert [(await row(i))["channel"] for i in ids] == ["email", "email", settings.sms_backend]  # type: ignore[arg-type]

    results = await deliver_in_worker(database, redis_url, port, *ids)  # type: ignore[arg-type]

    assert results == ["sent", "sent", "sent"]
    envelopes = inbox.wait_for(2)
    assert len(envelopes) == 2  # the owner without an address got an SMS, not an e-mail
    by_recipient = {tuple(e.rcpt_tos): e for e in envelopes}
    assert set(by_recipient) == {("owner0@example.com",), ("owner1@example.com",)}

    zh = parsed(by_recipient[("owner0@example.com",)])
    assert zh["To"] == "owner0@example.com"
    assert zh["Subject"] == "您的反馈有新进展"
    assert zh["From"] == f"业主俱乐部 <{SENDER}>" and by_recipient[("owner0@example.com",)].mail_from == SENDER
    assert zh.get_content_charset() == "utf-8"
    assert zh.get_content().strip() == "【业主俱乐部】您的反馈「电梯异响」有了新的回复，请登录查看。"

    en = parsed(by_recipient[("owner1@example.com",)])
    assert en["Subject"] == "News about your feedback"
    assert en.get_content().strip() == CASE_TEXTS["en"][1]

    for message_id in ids:
        sent = await row(message_id)  # type: ignore[arg-type]
        assert (sent["status"], sent["attempts"], sent["error"]) == ("sent", 1, "")
        assert sent["sent_at"] is not None


async def test_a_greeting_with_quiet_hours_off_is_mailed_at_any_hour(database, redis_url, smtp_server, tmp_path):
    inbox, port = smtp_server
    (member,) = await owners(tmp_path, 1)
    await Member.update({Member.email: "owner0@example.com"}).where(Member.id == member)
    settings = database.settings(smtp_host="127.0.0.1", smtp_port=port, quiet_hours="")
    texts = {"zh-CN": ("中秋节快乐", "【业主俱乐部】业主0，中秋节快乐！祝您和家人幸福安康。")}
    message_id = await outbox.message_member(
        member, kind="holiday", template="holiday_mid_autumn", texts=texts, dedupe_key="holiday:mid_autumn:test", settings=settings,
    )
    assert message_id is not None

    results = await deliver_in_worker(database, redis_url, port, message_id, message_id)  # delivered twice: sent once

    assert results == ["sent", "sent"]
    (envelope,) = inbox.wait_for(1)
    greeting = parsed(envelope)
    assert (envelope.rcpt_tos, greeting["Subject"]) == (["owner0@example.com"], "中秋节快乐")
    # A greeting is bulk mail: it ends with the unsubscribe link, also in the one-click headers.
    link = greeting["List-Unsubscribe"].strip().strip("<>")
    assert greeting.get_content().strip() == f"{texts['zh-CN'][1]}\n\n不想再收到此类消息？退订：{link}"
    assert f"/api/v1/unsubscribe/{member}.holiday." in link
    assert greeting["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert len(inbox.envelopes) == 1
    assert ((await row(message_id))["status"], (await row(message_id))["attempts"]) == ("sent", 1)


async def test_a_worker_that_cannot_reach_smtp_keeps_the_message_queued_with_the_error(database, redis_url, tmp_path):
    (member,) = await owners(tmp_path, 1)
    await Member.update({Member.email: "owner0@example.com"}).where(Member.id == member)
    closed = free_port()
    settings = database.settings(smtp_host="127.0.0.1", smtp_port=closed)
    message_id = await outbox.message_member(member, kind="case_update", template="case_reply", texts=CASE_TEXTS, settings=settings)
    assert message_id is not None

    (result,) = await deliver_in_worker(database, redis_url, closed, message_id)

    assert result == "queued"
    retrying = await row(message_id)
    assert (retrying["status"], retrying["attempts"]) == ("queued", 1)
    assert "ConnectionRefused" in retrying["error"]
    assert retrying["next_attempt_at"] > retrying["claimed_at"]
