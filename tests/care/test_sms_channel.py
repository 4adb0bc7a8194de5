"""SMS through Tencent Cloud's own SDK, against the stand-in (tests/sms_server.py) that checks
the SDK's TC3-HMAC-SHA256 signatures and answers as the provider documents: login codes, the
provider's errors mapped to retry / throttle / flag, our own limits, receipts, fallback."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from celery import Celery

from loyalty import clock, jobs
from loyalty.care import outbox, sms
from loyalty.care.tables import BlockedAddress, DeliveryAttempt, OutboxMessage
from loyalty.identity import service as identity
from loyalty.members.tables import Member
from loyalty.settings import Settings, SettingsError, load_settings, login_channel_problem
from tests.conftest import TEST_SECRET
from tests.events.builders import owners
from tests.points.builders import LOYALTY
from tests.sms_server import SmsStandIn
from tests.sms_server import env as stand_in_env

CASE_TEXTS = {"zh-CN": ("您的反馈有新进展", "【业主俱乐部】您的反馈有了新的回复，请登录查看。")}

MID_WINDOW = clock.now().replace(hour=4, minute=0, second=0, microsecond=0)  # 12:00 Beijing today


def sms_settings(database: Any, stand_in: SmsStandIn, **overrides: Any) -> Settings:
    """The test database's settings with the stand-in as the SMS provider (as load_settings
    reads them from the environment), configured for the jobs."""
    settings = load_settings({
        "LOYALTY_DATABASE_URL": database.url, "LOYALTY_SECRET_KEY": TEST_SECRET, "LOYALTY_LOGIN_CODE_MIN_INTERVAL": "0",
        "LOYALTY_QUIET_HOURS": "", "LOYALTY_SMS_PER_NUMBER_LIMIT": "1000/day", **stand_in.env(),
    }).with_overrides(**overrides)
    sms._limits.cache_clear()  # our own SMS limits count per process: each test starts with none taken
    jobs.configure(settings)
    return settings


@pytest.fixture(autouse=True)
def plain_settings_afterwards(database: Any) -> Iterator[None]:
    yield
    jobs.configure(database.settings())


async def phone_of(member_id: int) -> str:
    row = await Member.select(Member.phone).where(Member.id == member_id).first()
    assert row is not None
    return row["phone"]


async def attempts(message_id: int) -> list[dict[str, Any]]:
    return await DeliveryAttempt.select().where(DeliveryAttempt.message == message_id).order_by(DeliveryAttempt.attempt)


async def only_message() -> dict[str, Any]:
    rows = await OutboxMessage.select()
    assert len(rows) == 1
    return rows[0]


async def test_a_login_code_goes_through_the_sdk_signed_as_the_provider_checks(database, sms_stand_in, tmp_path):
    (member,) = await owners(tmp_path, 1)
    phone = await phone_of(member)
    settings = sms_settings(database, sms_stand_in)

    await identity.request_login_code(phone, settings)  # no broker: delivered in this process

    (sent,) = sms_stand_in.to(phone)
    assert sms_stand_in.refusals == []
    assert (sent.template, sent.sign, len(sent.params), sent.params[1]) == ("1100001", "业主俱乐部", 2, "5")
    message = await only_message()
    assert sent.session_context == f"outbox:{message['id']}:1"
    assert (message["status"], message["channel"], message["attempts"]) == ("sent", "tencent", 1)
    assert sent.params[0] not in message["body"] + str(message["payload"])  # the code stays sealed at rest
    (attempt,) = await attempts(message["id"])
    assert (attempt["outcome"], attempt["code"], attempt["provider_ref"]) == ("sent", "Ok", sent.serial)
    # The owner logs in with the code the provider delivered.
    assert (await identity.verify_login_code(phone, sent.params[0], settings)).id == member


async def test_a_request_signed_with_another_key_is_refused_by_the_stand_in_and_the_message_fails(database, sms_stand_in, tmp_path):
    (member,) = await owners(tmp_path, 1)
    phone = await phone_of(member)
    settings = sms_settings(database, sms_stand_in, tencent_secret_key="not-the-key")

    await identity.request_login_code(phone, settings)

    assert sms_stand_in.sent == [] and sms_stand_in.refusals == ["AuthFailure.SignatureFailure: the signature does not match"]
    message = await only_message()
    assert message["status"] == "failed"  # login codes go by SMS only: nothing to fall back to
    assert "AuthFailure.SignatureFailure" in message["error"]
    assert [a["outcome"] for a in await attempts(message["id"])] == ["gave_up"]


async def test_a_5xx_is_retried_later_and_the_code_arrives_once(database, sms_stand_in, tmp_path):
    (member,) = await owners(tmp_path, 1)
    phone = await phone_of(member)
    settings = sms_settings(database, sms_stand_in, outbox_retry_seconds=1)
    sms_stand_in.fail_next(1)

    await identity.request_login_code(phone, settings)
    message = await only_message()
    assert (message["status"], message["attempts"]) == ("queued", 1)
    assert await outbox.deliver_message(message["id"]) == "queued"  # not due yet: nothing sent
    assert sms_stand_in.to(phone) == []

    await OutboxMessage.update({OutboxMessage.next_attempt_at: clock.now() - timedelta(seconds=1)}).where(
        OutboxMessage.id == message["id"]
    )
    assert await outbox.dispatch_due() == 1
    assert await outbox.deliver_message(message["id"]) == "sent"  # handed twice: sent once

    assert len(sms_stand_in.to(phone)) == 1
    assert [(a["outcome"], a["code"]) for a in await attempts(message["id"])] == [("retry", "ServerNetworkError"), ("sent", "Ok")]


async def test_a_throttled_number_backs_off_until_the_limit_lifts(database, sms_stand_in, tmp_path):
    (member,) = await owners(tmp_path, 1)
    phone = await phone_of(member)
    settings = sms_settings(database, sms_stand_in)
    sms_stand_in.throttle(phone, "LimitExceeded.PhoneNumberThirtySecondLimit")
    before = clock.now()

    await identity.request_login_code(phone, settings)

    message = await only_message()
    assert message["status"] == "queued"
    assert message["next_attempt_at"] >= before + timedelta(seconds=30)
    def sends() -> int:
        return sum(call["action"] == "SendSms" for call in sms_stand_in.calls)

    before_sends = sends()
    assert await outbox.dispatch_due() == 0  # not handed out again before the limit lifts
    assert await outbox.deliver_message(message["id"]) == "queued"
    assert sends() == before_sends and sms_stand_in.sent == []
    assert [(a["outcome"], a["code"]) for a in await attempts(message["id"])] == [
        ("throttled", "LimitExceeded.PhoneNumberThirtySecondLimit")
    ]


async def test_our_own_per_number_limit_throttles_before_the_provider_is_asked(database, sms_stand_in, tmp_path):
    first, second = await owners(tmp_path, 2)
    settings = sms_settings(database, sms_stand_in, sms_per_number_limit="1/day", sms_daily_limit="9999/day")
    phone = await phone_of(first)

    # Mid-window: a day's window ends at 00:00 UTC, and a run minutes before it would rightly keep
    # the code, which is still alive when the limit lifts.
    with clock.as_of(MID_WINDOW):
        await identity.request_login_code(phone, settings)
        await identity.request_login_code(phone, settings)
        await identity.request_login_code(await phone_of(second), settings)

        assert len(sms_stand_in.to(phone)) == 1 and len(sms_stand_in.sent) == 2
        # Held until tomorrow, long after the code is dead: given up (tests/care/test_sms_budget.py).
        over = await OutboxMessage.select().where(OutboxMessage.status == "expired")
        assert len(over) == 1 and "Limit.PerNumber" in over[0]["error"]


async def test_a_blacklisted_number_is_flagged_and_the_message_falls_back_to_email(database, sms_stand_in, tmp_path, monkeypatch):
    (member,) = await owners(tmp_path, 1)
    phone = await phone_of(member)
    await Member.update({Member.email: "owner0@example.com"}).where(Member.id == member)
    settings = sms_settings(database, sms_stand_in, smtp_host="127.0.0.1", channel_order="sms,email")
    mailed: list[tuple[str, str]] = []
    monkeypatch.setattr("loyalty.care.channels.EmailChannel._send_now", lambda self, m: mailed.append((m["To"], m["Subject"])))
    sms_stand_in.blacklist(phone)

    message_id = await outbox.message_member(member, kind="case_update", template="case_reply", texts=CASE_TEXTS, settings=settings)
    assert message_id is not None
    assert await outbox.deliver_message(message_id) == "sent"

    assert mailed == [("owner0@example.com", "您的反馈有新进展")]
    assert [(a["channel"], a["outcome"]) for a in await attempts(message_id)] == [("tencent", "blocked"), ("email", "sent")]
    assert await BlockedAddress.exists().where(BlockedAddress.key == f"tencent:{phone}")
    # The next message skips the flagged number from the start.
    again = await outbox.message_member(member, kind="case_update", template="case_reply", texts=CASE_TEXTS, settings=settings)
    row = await OutboxMessage.select(OutboxMessage.channel).where(OutboxMessage.id == again).first()
    assert row == {"channel": "email"}


async def test_delivery_receipts_are_pulled_and_kept_on_the_attempt(database, sms_stand_in, tmp_path):
    (member,) = await owners(tmp_path, 1)
    phone = await phone_of(member)
    sms_settings(database, sms_stand_in)
    message_id = await outbox.message_member(member, kind="case_update", template="case_reply", texts=CASE_TEXTS)
    assert message_id is not None and await outbox.deliver_message(message_id) == "sent"

    assert await sms.pull_receipts() == 1
    assert await sms.pull_receipts() == 0  # each report once
    await outbox.dispatch_due()  # the minute job pulls them too (none left)

    (attempt,) = await attempts(message_id)
    assert (attempt["receipt"], attempt["receipt_detail"]) == ("delivered", "用户短信送达成功")
    assert attempt["receipt_at"] is not None and sms_stand_in.to(phone)[0].serial == attempt["provider_ref"]


@pytest.mark.parametrize(("code", "status"), [
    ("Ok", "sent"), ("InternalError.Timeout", "retry"), ("ServerNetworkError", "retry"),
    ("LimitExceeded.PhoneNumberThirtySecondLimit", "throttled"), ("LimitExceeded.PhoneNumberDailyLimit", "throttled"),
    ("FailedOperation.PhoneNumberInBlacklist", "blocked"), ("InvalidParameterValue.IncorrectPhoneNumber", "blocked"),
    ("FailedOperation.TemplateIncorrectOrUnapproved", "gave_up"), ("AuthFailure.SignatureFailure", "gave_up"),
    ("FailedOperation.InsufficientBalanceInSmsPackage", "gave_up"), ("SomethingNew.Entirely", "retry"),
])
def test_the_providers_codes_map_to_what_the_outbox_does(code, status):
    assert sms.classify(code).status == status


def test_a_daily_limit_waits_until_beijing_midnight():
    from datetime import datetime

    at = datetime(2026, 12, 7, 23, 0, tzinfo=clock.LOCAL_ZONE)
    assert sms.classify("LimitExceeded.PhoneNumberDailyLimit", now=at).retry_after == 3601


def test_production_refuses_the_log_backend_and_an_incomplete_provider():
    base = {"LOYALTY_SECRET_KEY": TEST_SECRET}
    assert "demo" in (login_channel_problem(load_settings(base)) or "")
    assert login_channel_problem(load_settings(base, demo=True)) is None
    assert login_channel_problem(load_settings({**base, **stand_in_env(8123)})) is None
    incomplete = {**base, **stand_in_env(8123), "LOYALTY_SMS_TEMPLATES": "case_update=1"}
    with pytest.raises(SettingsError, match="login_code"):
        load_settings(incomplete)
    with pytest.raises(SettingsError, match="LOYALTY_SMS_TEMPLATES"):
        load_settings({**base, "LOYALTY_SMS_TEMPLATES": "greeting=1"})


def test_loyalty_serve_without_demo_refuses_to_start_with_the_log_backend(tmp_path):
    result = subprocess.run(
        [str(LOYALTY), "serve", "--port", "1"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={**os.environ, "LOYALTY_SECRET_KEY": TEST_SECRET, "LOYALTY_DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite"},
    )
    assert result.returncode != 0
    assert "LOYALTY_SMS_BACKEND=log" in result.stderr


# --- two real workers -------------------------------------------------------------------------

def two_workers(database_url: str, redis_url: str, stand_in: SmsStandIn, queue: str) -> list[subprocess.Popen[str]]:
    env = dict(
        os.environ, LOYALTY_DATABASE_URL=database_url, LOYALTY_BROKER_URL=redis_url, LOYALTY_SECRET_KEY=TEST_SECRET,
        LOYALTY_OUTBOX_RETRY_SECONDS="1", LOYALTY_SMS_PER_NUMBER_LIMIT="1000/day", **stand_in.env(),
    )
    return [
        subprocess.Popen(
            [str(LOYALTY), "worker", "--pool=solo", "-Q", queue, "-n", f"sms{n}@%h", "--without-heartbeat", "--without-gossip",
             "--without-mingle"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for n in (1, 2)
    ]


@pytest.mark.postgres_only
async def test_a_login_code_reaches_the_provider_once_under_two_workers_and_a_retry_after_a_5xx(
    database, redis_url, sms_stand_in, tmp_path
):
    (member,) = await owners(tmp_path, 1)
    phone = await phone_of(member)
    settings = sms_settings(database, sms_stand_in)
    sms_stand_in.fail_next(1)
    queue = f"test-sms-{os.getpid()}-{time.monotonic_ns()}"
    celery = Celery(broker=redis_url, backend=redis_url)
    workers = two_workers(database.url, redis_url, sms_stand_in, queue)
    try:
        # Queue the code without delivering it here, then let both workers race for it.
        original = jobs.enqueue

        async def hold(name: str, *args: Any) -> bool:
            return True

        jobs.enqueue = hold  # type: ignore[assignment]
        try:
            await identity.request_login_code(phone, settings)
        finally:
            jobs.enqueue = original  # type: ignore[assignment]
        message = await only_message()

        def deliver_everywhere() -> list[Any]:
            results = [celery.send_task("loyalty.care.deliver_message", args=[message["id"]], queue=queue) for _ in range(4)]
            return [result.get(timeout=60) for result in results]

        first = await asyncio.to_thread(deliver_everywhere)
        assert "sent" not in first and sms_stand_in.sent == []  # the 5xx: retried later, not lost
        assert set(first) <= {"queued", "sending"}  # "sending": the other worker had claimed it
        await asyncio.sleep(1.2)  # the retry's wait (LOYALTY_OUTBOX_RETRY_SECONDS=1)
        second = await asyncio.to_thread(deliver_everywhere)

        assert second.count("sent") >= 1 and set(second) <= {"sent", "sending"}
    finally:
        for worker in workers:
            worker.terminate()
        outputs = [worker.communicate(timeout=30)[0] for worker in workers]
        if sys.exc_info()[0] is not None:
            print("\n".join(outputs))
    assert len(sms_stand_in.to(phone)) == 1
    sent = await only_message()
    assert (sent["status"], sent["attempts"]) == ("sent", 2)
    assert [a["outcome"] for a in await attempts(sent["id"])] == ["retry", "sent"]
