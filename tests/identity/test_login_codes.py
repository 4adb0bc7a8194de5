"""Member login with a one-time code: loyalty.identity.service.request_login_code / verify_login_code."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from loyalty.errors import InvalidField, LoginCodeExpired, LoginCodeInvalid, TooManyAttempts
from loyalty.identity import service
from loyalty.identity.tables import LoginCode
from tests.identity.builders import (
    message_text,
    MEMBER_PHONE,
    STRANGER_PHONE,
    add_member,
    latest_code,
    messages_to,
    wrong_code,
)

T0 = datetime(2030, 3, 1, 9, 0, tzinfo=timezone.utc)


async def test_a_login_code_is_six_digits_sent_to_the_members_phone_and_stored_only_as_its_hmac(member_id, settings):
    await service.request_login_code(MEMBER_PHONE, settings)

    messages = await messages_to(MEMBER_PHONE)
    assert len(messages) == 1
    assert messages[0]["template"] == "login_code"
    code = await latest_code()
    assert len(code) == 6 and code.isdigit()
    # Sealed at rest: whoever reads the outbox (staff in /admin, a backup) never sees the code.
    assert str(messages[0]["body"]).startswith("sealed:v1:") and code not in str(messages[0]["body"])
    rows = await LoginCode.select()
    assert len(rows) == 1
    assert all(code not in str(value) for value in rows[0].values())
    expected = hmac.new(settings.secret_key.encode(), f"{MEMBER_PHONE}:{code}".encode(), hashlib.sha256).hexdigest()
    assert rows[0]["code_hash"] == expected


async def test_the_code_message_is_in_the_members_language(database, settings):
    await add_member(name="Emma Lee", language="en")

    await service.request_login_code(MEMBER_PHONE, settings)

    body = message_text((await messages_to(MEMBER_PHONE))[0])
    assert body.startswith("[Owner Club] Your login code is ")
    assert (await messages_to(MEMBER_PHONE))[0]["language"] == "en"


async def test_a_phone_written_nationally_or_with_spaces_finds_the_same_member(member_id, settings):
    await service.request_login_code("138 0013 8000", settings)

    member = await service.verify_login_code("+86 138-0013-8000", await latest_code(MEMBER_PHONE), settings)

    assert member.id == member_id


async def test_an_unknown_phone_gets_the_same_answer_and_no_message(member_id, settings):
    assert await service.request_login_code(STRANGER_PHONE, settings) is None

    assert await messages_to(STRANGER_PHONE) == []
    # The request is recorded (so throttling treats every phone alike) but no code can open it.
    for guess in ("000000", "123456"):
        with pytest.raises(LoginCodeInvalid):
            await service.verify_login_code(STRANGER_PHONE, guess, settings)


async def test_an_unknown_phone_is_throttled_exactly_like_a_members_phone(member_id, settings):
    """Otherwise a second request tells strangers who is an owner: a member's phone gets 429,
    an unknown phone 202 (request_login_code promises the same answer for both)."""
    throttled = settings.with_overrides(login_code_min_interval_seconds=60)
    outcomes: dict[str, str] = {}
    with time_machine.travel(T0, tick=False):
        for phone in (MEMBER_PHONE, STRANGER_PHONE):
            await service.request_login_code(phone, throttled)
            try:
                await service.request_login_code(phone, throttled)
                outcomes[phone] = "accepted"
            except TooManyAttempts:
                outcomes[phone] = "throttled"

    assert outcomes[MEMBER_PHONE] == "throttled"
    assert outcomes[STRANGER_PHONE] == outcomes[MEMBER_PHONE]


async def test_a_second_code_within_the_minimum_interval_is_refused_and_retry_after_is_long_enough(member_id, settings):
    throttled = settings.with_overrides(login_code_min_interval_seconds=60)
    with time_machine.travel(T0, tick=False) as traveller:
        await service.request_login_code(MEMBER_PHONE, throttled)
        traveller.shift(timedelta(seconds=20))

        with pytest.raises(TooManyAttempts) as refused:
            await service.request_login_code(MEMBER_PHONE, throttled)
        assert 40 <= refused.value.retry_after <= 41

        traveller.shift(timedelta(seconds=refused.value.retry_after))
        await service.request_login_code(MEMBER_PHONE, throttled)

    assert len(await messages_to(MEMBER_PHONE)) == 2


async def test_no_more_than_login_codes_per_hour_codes_are_sent_to_one_phone_in_any_hour(member_id, settings):
    hourly = settings.with_overrides(login_codes_per_hour=3)
    with time_machine.travel(T0, tick=False) as traveller:
        for _ in range(3):
            await service.request_login_code(MEMBER_PHONE, hourly)
            traveller.shift(timedelta(minutes=10))

        with pytest.raises(TooManyAttempts) as refused:
            await service.request_login_code(MEMBER_PHONE, hourly)
        # The first code (T0) leaves the hour window at T0+1h; it is now T0+30min.
        assert 30 * 60 <= refused.value.retry_after <= 30 * 60 + 1

        traveller.shift(timedelta(seconds=refused.value.retry_after - 5))
        with pytest.raises(TooManyAttempts):
            await service.request_login_code(MEMBER_PHONE, hourly)

        traveller.shift(timedelta(seconds=5))
        await service.request_login_code(MEMBER_PHONE, hourly)

    assert len(await messages_to(MEMBER_PHONE)) == 4


async def test_the_right_code_logs_the_member_in(member_id, settings):
    await service.request_login_code(MEMBER_PHONE, settings)

    member = await service.verify_login_code(MEMBER_PHONE, await latest_code(), settings)

    assert (member.id, member.name) == (member_id, "王芳")


async def test_a_used_code_cannot_log_in_again(member_id, settings):
    await service.request_login_code(MEMBER_PHONE, settings)
    code = await latest_code()
    await service.verify_login_code(MEMBER_PHONE, code, settings)

    with pytest.raises(LoginCodeInvalid):
        await service.verify_login_code(MEMBER_PHONE, code, settings)


async def test_a_code_is_refused_when_none_was_requested(member_id, settings):
    with pytest.raises(LoginCodeInvalid):
        await service.verify_login_code(MEMBER_PHONE, "123456", settings)


async def test_a_wrong_code_is_refused_and_says_how_many_attempts_are_left(member_id, settings):
    await service.request_login_code(MEMBER_PHONE, settings)
    code = await latest_code()

    lefts = []
    for _ in range(2):
        with pytest.raises(LoginCodeInvalid) as wrong:
            await service.verify_login_code(MEMBER_PHONE, wrong_code(code), settings)
        lefts.append(wrong.value.extra["attempts_left"])

    assert lefts == [settings.login_code_max_attempts - 1, settings.login_code_max_attempts - 2]
    assert (await service.verify_login_code(MEMBER_PHONE, code, settings)).id == member_id


async def test_a_code_that_is_not_six_digits_is_refused_without_costing_an_attempt(member_id, settings):
    await service.request_login_code(MEMBER_PHONE, settings)

    for malformed in ("12345", "1234567", "12a456", ""):
        with pytest.raises(InvalidField) as refused:
            await service.verify_login_code(MEMBER_PHONE, malformed, settings)
        assert refused.value.field == "code"

    assert (await LoginCode.select(LoginCode.attempts).first())["attempts"] == 0


async def test_a_code_works_until_its_ttl_and_not_after(member_id, settings):
    with time_machine.travel(T0, tick=False) as traveller:
        await service.request_login_code(MEMBER_PHONE, settings)
        traveller.shift(timedelta(seconds=settings.login_code_ttl_seconds - 1))
        assert (await service.verify_login_code(MEMBER_PHONE, await latest_code(), settings)).id == member_id

        await service.request_login_code(MEMBER_PHONE, settings)
        traveller.shift(timedelta(seconds=settings.login_code_ttl_seconds))
        with pytest.raises(LoginCodeExpired):
            await service.verify_login_code(MEMBER_PHONE, await latest_code(), settings)


async def test_after_max_wrong_guesses_even_the_right_code_is_refused(member_id, settings):
    await service.request_login_code(MEMBER_PHONE, settings)
    code = await latest_code()
    for _ in range(settings.login_code_max_attempts):
        with pytest.raises(LoginCodeInvalid):
            await service.verify_login_code(MEMBER_PHONE, wrong_code(code), settings)

    with pytest.raises(TooManyAttempts) as refused:
        await service.verify_login_code(MEMBER_PHONE, code, settings)

    assert refused.value.retry_after >= 0
    assert (await LoginCode.select(LoginCode.attempts).first())["attempts"] == settings.login_code_max_attempts


async def test_a_new_code_works_after_the_old_one_was_locked_by_wrong_guesses(member_id, settings):
    await service.request_login_code(MEMBER_PHONE, settings)
    old = await latest_code()
    for _ in range(settings.login_code_max_attempts):
        with pytest.raises(LoginCodeInvalid):
            await service.verify_login_code(MEMBER_PHONE, wrong_code(old), settings)

    await service.request_login_code(MEMBER_PHONE, settings)

    assert (await service.verify_login_code(MEMBER_PHONE, await latest_code(), settings)).id == member_id


@pytest.mark.postgres_only
async def test_forty_concurrent_wrong_guesses_never_get_more_than_max_attempts_answers(member_id, settings):
    await service.request_login_code(MEMBER_PHONE, settings)
    code = await latest_code()

    results = await asyncio.gather(
        *(service.verify_login_code(MEMBER_PHONE, wrong_code(code), settings) for _ in range(40)),
        return_exceptions=True,
    )

    kinds = [type(result).__name__ for result in results]
    assert kinds.count("LoginCodeInvalid") == settings.login_code_max_attempts, kinds
    assert kinds.count("TooManyAttempts") == 40 - settings.login_code_max_attempts, kinds
    assert (await LoginCode.select(LoginCode.attempts).first())["attempts"] == settings.login_code_max_attempts
    with pytest.raises(TooManyAttempts):
        await service.verify_login_code(MEMBER_PHONE, code, settings)


@pytest.mark.postgres_only
async def test_ten_concurrent_logins_with_the_right_code_succeed_exactly_once(member_id, settings):
    await service.request_login_code(MEMBER_PHONE, settings)
    code = await latest_code()

    results = await asyncio.gather(
        *(service.verify_login_code(MEMBER_PHONE, code, settings) for _ in range(10)), return_exceptions=True
    )

    winners = [result for result in results if isinstance(result, service.MemberIdentity)]
    assert len(winners) == 1, results
    assert all(isinstance(result, LoginCodeInvalid) for result in results if result not in winners), results
