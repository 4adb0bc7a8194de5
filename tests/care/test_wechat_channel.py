"""WeChat Official Account against its stand-in (tests/wechat_server.py): template messages,
the access token shared across processes in Redis, fallback to SMS when the owner unfollowed,
the server callback's signature."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from loyalty import clock, jobs
from loyalty.app import create_app
from loyalty.care import outbox, wechat
from loyalty.care.tables import BlockedAddress, DeliveryAttempt, OutboxMessage
from loyalty.identity import wechat as binding
from loyalty.members.tables import Member
from loyalty.settings import Settings, load_settings
from tests.conftest import TEST_SECRET
from tests.events.builders import owners

CASE_TEXTS = {"zh-CN": ("您的反馈有新进展", "【业主俱乐部】您的反馈「电梯异响」有了新的回复，请登录查看。")}
OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"


def both_settings(database: Any, sms_stand_in: Any, wechat_stand_in: Any, **overrides: Any) -> Settings:
    settings = load_settings({
        "LOYALTY_DATABASE_URL": database.url, "LOYALTY_SECRET_KEY": TEST_SECRET, "LOYALTY_QUIET_HOURS": "",
        "LOYALTY_SMS_PER_NUMBER_LIMIT": "1000/day", **sms_stand_in.env(), **wechat_stand_in.env(),
    }).with_overrides(**overrides)
    jobs.configure(settings)
    return settings


@pytest.fixture(autouse=True)
def plain_settings_afterwards(database: Any) -> Iterator[None]:
    yield
    jobs.configure(database.settings())


async def bound_owner(tmp_path: Any) -> int:
    (member,) = await owners(tmp_path, 1)
    await binding.bind(member, OPENID)
    return member


async def case_reply(member: int) -> int:
    """Queue a case reply to the owner and deliver it (as the job would, once committed)."""
    message_id = await outbox.message_member(member, kind="case_update", template="case_reply", texts=CASE_TEXTS)
    assert message_id is not None
    await outbox.deliver_message(message_id)
    return message_id


async def attempts(message_id: int) -> list[tuple[str, str]]:
    rows = await DeliveryAttempt.select(DeliveryAttempt.channel, DeliveryAttempt.outcome).where(
        DeliveryAttempt.message == message_id
    ).order_by(DeliveryAttempt.attempt)
    return [(row["channel"], row["outcome"]) for row in rows]


async def test_a_case_reply_reaches_a_bound_owner_as_a_template_message(database, sms_stand_in, wechat_stand_in, tmp_path):
    member = await bound_owner(tmp_path)
    both_settings(database, sms_stand_in, wechat_stand_in)

    message_id = await case_reply(member)

    assert message_id is not None
    (sent,) = wechat_stand_in.messages
    assert (sent["touser"], sent["template_id"]) == (OPENID, "tmpl-case-update")
    assert sent["data"]["first"]["value"] == "您的反馈有新进展"
    assert sent["data"]["keyword1"]["value"] == CASE_TEXTS["zh-CN"][1]
    assert sms_stand_in.sent == []
    assert await attempts(message_id) == [("wechat", "sent")]


async def test_an_owner_who_blocked_the_account_gets_the_message_by_sms(database, sms_stand_in, wechat_stand_in, tmp_path):
    member = await bound_owner(tmp_path)
    both_settings(database, sms_stand_in, wechat_stand_in)
    wechat_stand_in.unfollow(OPENID)

    message_id = await case_reply(member)

    assert wechat_stand_in.messages == []
    phone = (await Member.select(Member.phone).where(Member.id == member).first())["phone"]  # type: ignore[index]
    (sms,) = sms_stand_in.to(phone)
    assert sms.template == "1100002"
    assert await attempts(message_id) == [("wechat", "blocked"), ("tencent", "sent")]  # type: ignore[arg-type]
    assert await BlockedAddress.exists().where(BlockedAddress.key == f"wechat:{OPENID}")
    row = await OutboxMessage.select(OutboxMessage.status, OutboxMessage.channel).where(OutboxMessage.id == message_id).first()
    assert row == {"status": "sent", "channel": "tencent"}


async def test_a_kind_without_a_wechat_template_goes_by_sms(database, sms_stand_in, wechat_stand_in, tmp_path):
    member = await bound_owner(tmp_path)
    both_settings(database, sms_stand_in, wechat_stand_in, wechat_templates="holiday=tmpl-holiday")

    message_id = await case_reply(member)

    assert wechat_stand_in.messages == [] and len(sms_stand_in.sent) == 1
    assert await attempts(message_id) == [("tencent", "sent")]  # type: ignore[arg-type]


async def test_an_owner_who_chose_sms_for_a_kind_gets_it_by_sms(database, sms_stand_in, wechat_stand_in, tmp_path):
    from loyalty.care.tables import ChannelChoice

    member = await bound_owner(tmp_path)
    both_settings(database, sms_stand_in, wechat_stand_in)
    await ChannelChoice.insert(ChannelChoice(member=member, kind="case_update", channels="sms"))

    await case_reply(member)

    assert wechat_stand_in.messages == [] and len(sms_stand_in.sent) == 1


async def test_a_case_update_still_reaches_an_owner_whose_chosen_channels_cannot(database, sms_stand_in, wechat_stand_in, tmp_path):
    from loyalty.care.tables import ChannelChoice

    member = await bound_owner(tmp_path)
    both_settings(database, sms_stand_in, wechat_stand_in)
    await ChannelChoice.insert(ChannelChoice(member=member, kind="*", channels="email"))  # no address: cannot

    message_id = await case_reply(member)

    assert len(wechat_stand_in.messages) == 1 and sms_stand_in.sent == []
    assert await attempts(message_id) == [("wechat", "sent")]


async def test_an_expired_token_is_fetched_again_and_the_message_still_goes_once(database, sms_stand_in, wechat_stand_in, tmp_path):
    member = await bound_owner(tmp_path)
    both_settings(database, sms_stand_in, wechat_stand_in)
    await case_reply(member)
    issued = wechat_stand_in.tokens_issued
    wechat_stand_in.expire_tokens()

    message_id = await case_reply(member)

    assert len(wechat_stand_in.messages) == 2 and wechat_stand_in.tokens_issued == issued + 1
    assert await attempts(message_id) == [("wechat", "sent")]  # type: ignore[arg-type]


async def test_the_access_token_is_shared_across_processes_in_redis_and_refreshed_before_it_expires(
    database, redis_url, wechat_stand_in, sms_stand_in
):
    settings = both_settings(database, sms_stand_in, wechat_stand_in, broker_url=redis_url)
    import redis

    redis.Redis.from_url(redis_url).delete(wechat._key(settings))

    tokens = await asyncio.gather(*(wechat.access_token(settings) for _ in range(5)))
    # Another process (a second worker) reads the same token from Redis.
    other = subprocess.run(
        [sys.executable, "-c", "import asyncio, sys; from loyalty.care import wechat; from loyalty.settings import load_settings;"
         "print(asyncio.run(wechat.access_token(load_settings())))"],
        env={**os.environ, **wechat_stand_in.env(), "LOYALTY_SECRET_KEY": TEST_SECRET, "LOYALTY_BROKER_URL": redis_url},
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.strip()

    assert len(set(tokens)) == 1 and other == tokens[0]
    assert wechat_stand_in.tokens_issued == 1
    # Within REFRESH_MARGIN of its end the next caller fetches a new one, for everyone.
    shared = json.loads(redis.Redis.from_url(redis_url).get(wechat._key(settings)))
    shared["expires_at"] = time.time() + wechat.REFRESH_MARGIN_SECONDS - 10
    redis.Redis.from_url(redis_url).set(wechat._key(settings), json.dumps(shared))
    renewed = await wechat.access_token(settings)
    assert renewed != tokens[0] and wechat_stand_in.tokens_issued == 2
    assert await wechat.access_token(settings) == renewed


def signed(token: str, timestamp: str | None = None, nonce: str | None = None) -> dict[str, str]:
    timestamp = timestamp or str(int(clock.now().timestamp()))
    nonce = nonce or uuid.uuid4().hex
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce}


async def test_the_server_callback_answers_only_signed_calls_and_an_unfollow_blocks_the_openid(
    database, sms_stand_in, wechat_stand_in
):
    from tests.wechat_server import TOKEN

    settings = both_settings(database, sms_stand_in, wechat_stand_in)
    app = create_app(settings, engine=database.engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        good = await http.get("/api/v1/wechat/callback", params={**signed(TOKEN), "echostr": "1234567890"})
        forged = await http.get("/api/v1/wechat/callback", params={**signed("not-our-token"), "echostr": "1"})
        event = (f"<xml><ToUserName>gh_club</ToUserName><FromUserName>{OPENID}</FromUserName><CreateTime>1</CreateTime>"
                 "<MsgType>event</MsgType><Event>{}</Event></xml>")
        unsigned = await http.post("/api/v1/wechat/callback", content=event.format("unsubscribe"))
        assert not await BlockedAddress.exists()
        unfollow = await http.post("/api/v1/wechat/callback", params=signed(TOKEN), content=event.format("unsubscribe"))
        assert await BlockedAddress.exists().where(BlockedAddress.key == f"wechat:{OPENID}")
        follow = await http.post("/api/v1/wechat/callback", params=signed(TOKEN), content=event.format("subscribe"))

    assert (good.status_code, good.text) == (200, "1234567890")
    assert forged.status_code == 400 and unsigned.status_code == 400
    assert unfollow.text == follow.text == "success"
    assert not await BlockedAddress.exists()
