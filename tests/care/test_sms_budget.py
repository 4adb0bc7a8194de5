"""Issue #23: what the SMS limits count, and that a held login code is never sent dead."""

from __future__ import annotations

from datetime import timedelta

from loyalty import clock
from loyalty.care import outbox
from loyalty.care.tables import DeliveryAttempt, OutboxMessage
from loyalty.identity import service as identity
from tests.care.test_sms_channel import phone_of, sms_settings
from tests.events.builders import owners

MID_WINDOW = clock.now().replace(hour=4, minute=0, second=0, microsecond=0)  # 12:00 Beijing today


async def test_messages_held_by_the_per_number_limit_do_not_use_up_the_days_budget(database, sms_stand_in, tmp_path):
    a, b = await owners(tmp_path, 2)
    settings = sms_settings(database, sms_stand_in, sms_per_number_limit="1/day", sms_daily_limit="3/day")
    phone_a, phone_b = await phone_of(a), await phone_of(b)

    for _ in range(4):
        await identity.request_login_code(phone_a, settings)
    await identity.request_login_code(phone_b, settings)

    assert len(sms_stand_in.to(phone_a)) == 1 and len(sms_stand_in.to(phone_b)) == 1
    held = await OutboxMessage.select(OutboxMessage.error).where(OutboxMessage.status != "sent")
    assert len(held) == 3 and all("Limit.PerNumber" in row["error"] for row in held)


async def test_a_message_the_provider_refused_gives_its_count_back(database, sms_stand_in, tmp_path):
    a, b = await owners(tmp_path, 2)
    settings = sms_settings(database, sms_stand_in, sms_daily_limit="1/day")
    phone_a = await phone_of(a)
    sms_stand_in.throttle(phone_a, "LimitExceeded.PhoneNumberThirtySecondLimit")

    await identity.request_login_code(phone_a, settings)
    await identity.request_login_code(await phone_of(b), settings)

    assert len(sms_stand_in.sent) == 1  # b's code: a's refused send did not take the day's only message


async def test_a_login_code_held_past_its_expiry_is_given_up_not_sent_dead(database, sms_stand_in, tmp_path):
    (member,) = await owners(tmp_path, 1)
    settings = sms_settings(database, sms_stand_in, sms_per_number_limit="1/day", sms_daily_limit="9999/day")
    phone = await phone_of(member)

    # Mid-window: a day's window ends at 00:00 UTC, and a run minutes before it would rightly keep
    # the code, which is still alive when the limit lifts.
    with clock.as_of(MID_WINDOW):
        await identity.request_login_code(phone, settings)
        await identity.request_login_code(phone, settings)  # held until tomorrow by the per-number limit

        rows = await OutboxMessage.select(OutboxMessage.status, OutboxMessage.error).order_by(OutboxMessage.id)
        assert [row["status"] for row in rows] == ["sent", "expired"]
        assert "Limit.PerNumber" in rows[1]["error"]
        assert len(sms_stand_in.sent) == 1


async def test_a_login_code_due_after_its_expiry_is_not_sent(database, sms_stand_in, tmp_path):
    (member,) = await owners(tmp_path, 1)
    settings = sms_settings(database, sms_stand_in)
    phone = await phone_of(member)
    sms_stand_in.throttle(phone, "LimitExceeded.PhoneNumberThirtySecondLimit")
    await identity.request_login_code(phone, settings)
    message = (await OutboxMessage.select(OutboxMessage.id, OutboxMessage.status))[0]
    assert message["status"] == "queued"  # 30 s: well inside the code's minutes
    sms_stand_in.reset()

    with clock.as_of(clock.now() + timedelta(seconds=settings.login_code_ttl_seconds + 1)):
        assert await outbox.deliver_message(message["id"]) == "expired"

    assert sms_stand_in.sent == []
    assert await DeliveryAttempt.count().where(DeliveryAttempt.message == message["id"]) == 1


async def test_the_providers_daily_limit_gives_a_login_code_up(database, sms_stand_in, tmp_path):
    (member,) = await owners(tmp_path, 1)
    settings = sms_settings(database, sms_stand_in)
    phone = await phone_of(member)
    sms_stand_in.throttle(phone, "LimitExceeded.PhoneNumberDailyLimit")

    await identity.request_login_code(phone, settings)

    assert (await OutboxMessage.select(OutboxMessage.status))[0]["status"] == "expired"
