"""Sealed message bodies (login codes): encrypted in the outbox, opened only to send."""

from __future__ import annotations

import pytest

from loyalty import jobs
from loyalty.care import outbox
from loyalty.care.sealing import PREFIX, seal, unseal
from loyalty.care.tables import OutboxMessage

SECRET = "a-secret-key-that-is-long-enough-0123456789"


def test_a_sealed_body_opens_only_with_its_secret():
    sealed = seal("【业主俱乐部】您的登录验证码是 123456", SECRET)
    assert sealed.startswith(PREFIX) and "123456" not in sealed
    assert unseal(sealed, SECRET) == "【业主俱乐部】您的登录验证码是 123456"
    assert unseal("plain text stays as it is", SECRET) == "plain text stays as it is"
    with pytest.raises(ValueError, match="another LOYALTY_SECRET_KEY"):
        unseal(sealed, SECRET[::-1])


async def test_the_channel_gets_the_opened_body_and_the_row_keeps_it_sealed(database, settings, caplog):
    caplog.set_level("INFO")
    settings = settings.with_overrides(demo=True)  # only the demo's log channel shows the body
    jobs.configure(settings)  # what the app and the worker do: the deliverer reads the secret there
    message_id = await outbox.queue_message(
        kind="login_code", channel_name="log", recipient="+8613800138000", template="login_code", language="zh-CN",
        body="您的登录验证码是 654321", settings=settings, sealed=True,
    )
    assert await outbox.deliver_message(message_id) == "sent"

    row = await OutboxMessage.select(OutboxMessage.body, OutboxMessage.status).where(OutboxMessage.id == message_id).first()
    assert row["status"] == "sent" and "654321" not in row["body"]
    assert "您的登录验证码是 654321" in caplog.text  # the demo's log channel stands in for the SMS gateway
