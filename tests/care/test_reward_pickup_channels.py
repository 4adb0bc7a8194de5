"""Rewards to collect (`reward_pickup`: a gift granted, a reward ready, a reminder) by WeChat
and SMS, as the other transactional kinds go: a WeChat template message with the subject and
the text for an owner who follows the account, else the approved SMS template for the kind
(no parameters: its words are the template's), through the stand-ins that check the
providers' signing."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from loyalty import jobs
from loyalty.care import outbox
from loyalty.care.tables import DeliveryAttempt, OutboxMessage
from loyalty.identity import wechat as binding
from loyalty.members.tables import Member
from loyalty.rewards import service
from tests.care.test_wechat_channel import OPENID, both_settings
from tests.rewards.builders import owners, reward, staff


@pytest.fixture(autouse=True)
def plain_settings_afterwards(database: Any) -> Iterator[None]:
    yield
    jobs.configure(database.settings())


async def _gift_message(tmp_path: Any, *, wechat: bool) -> tuple[int, int]:
    """A gift granted to one owner (bound to the WeChat account or not): (owner, message)."""
    (member,) = await owners(tmp_path, 1)
    if wechat:
        await binding.bind(member, OPENID)
    admin = await staff("admin1", "admin")
    gift = await reward(admin, prices={}, status="draft", name_zh="中秋月饼礼盒", pickup_place="云湖里售楼处")
    await service.grant(gift, staff_id=admin, occasion="2026 中秋")
    (message,) = await OutboxMessage.select(OutboxMessage.id).where(OutboxMessage.kind == "reward_pickup")
    return member, message["id"]


async def _outcomes(message_id: int) -> list[tuple[str, str]]:
    rows = await DeliveryAttempt.select(DeliveryAttempt.channel, DeliveryAttempt.outcome).where(
        DeliveryAttempt.message == message_id
    ).order_by(DeliveryAttempt.attempt)
    return [(row["channel"], row["outcome"]) for row in rows]


async def test_a_gift_reaches_a_bound_owner_as_the_reward_pickup_template_message(
    database, sms_stand_in, wechat_stand_in, tmp_path,
):
    both_settings(database, sms_stand_in, wechat_stand_in)
    _member, message_id = await _gift_message(tmp_path, wechat=True)

    await outbox.deliver_message(message_id)

    (sent,) = wechat_stand_in.messages
    assert (sent["touser"], sent["template_id"]) == (OPENID, "tmpl-reward-pickup")
    assert sent["data"]["first"]["value"] == "您有一份礼品待领取"
    assert "中秋月饼礼盒" in sent["data"]["keyword1"]["value"] and "云湖里售楼处" in sent["data"]["keyword1"]["value"]
    assert sms_stand_in.sent == []
    assert await _outcomes(message_id) == [("wechat", "sent")]


async def test_an_owner_without_wechat_gets_the_reward_pickup_sms_template(database, sms_stand_in, wechat_stand_in, tmp_path):
    both_settings(database, sms_stand_in, wechat_stand_in)
    member, message_id = await _gift_message(tmp_path, wechat=False)

    await outbox.deliver_message(message_id)

    phone = (await Member.select(Member.phone).where(Member.id == member).first())["phone"]  # type: ignore[index]
    (sms,) = sms_stand_in.to(phone)
    assert (sms.template, sms.params) == ("1100004", [])
    assert await _outcomes(message_id) == [("tencent", "sent")]


async def test_a_reward_ready_falls_back_to_sms_when_the_owner_unfollowed(database, sms_stand_in, wechat_stand_in, tmp_path):
    both_settings(database, sms_stand_in, wechat_stand_in)
    member, gift_message = await _gift_message(tmp_path, wechat=True)
    wechat_stand_in.unfollow(OPENID)
    (mine,) = await service.owner_redemptions(member)

    await service.mark_ready(mine["id"], await staff("counter1", "service"))
    (ready,) = await OutboxMessage.select(OutboxMessage.id).where(
        (OutboxMessage.kind == "reward_pickup") & (OutboxMessage.id != gift_message)
    )
    await outbox.deliver_message(ready["id"])

    assert wechat_stand_in.messages == []
    assert [sms.template for sms in sms_stand_in.sent] == ["1100004"]
    assert await _outcomes(ready["id"]) == [("wechat", "blocked"), ("tencent", "sent")]
