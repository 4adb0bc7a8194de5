"""The `log` SMS backend (LOYALTY_SMS_BACKEND=log): a production log must never hold a live
login code; only the demo, where the log is how one reads the code, shows the message."""

from __future__ import annotations

import logging

from loyalty import jobs
from loyalty.care import outbox

PHONE = "+8613800138000"
CODE_MESSAGE = "【业主俱乐部】您的登录验证码是 654321，5 分钟内有效"


async def _send_login_code(settings) -> None:
    jobs.configure(settings)  # what the app and the worker do: the deliverer reads its settings there
    message_id = await outbox.queue_message(
        kind="login_code", channel_name="log", recipient=PHONE, template="login_code", language="zh-CN",
        body=CODE_MESSAGE, settings=settings, sealed=True,
    )
    assert await outbox.deliver_message(message_id) == "sent"


async def test_outside_the_demo_the_log_backend_writes_the_masked_number_and_the_kind_never_the_code(database, settings, caplog):
    caplog.set_level(logging.DEBUG)
    assert not settings.demo

    await _send_login_code(settings)

    # every record but the SQLite driver's statement log (the driver's, and never at the app's INFO)
    text = "\n".join(record.getMessage() for record in caplog.records if record.name != "aiosqlite")
    assert "654321" not in text, "a live login code was written to the server log"
    assert PHONE not in text and "13800138000" not in text
    lines = [record.getMessage() for record in caplog.records if record.name == "loyalty.outbox"]
    assert any("+86138****8000" in line and "login_code" in line for line in lines), lines


async def test_in_the_demo_the_log_backend_shows_the_message_so_the_code_can_be_read(database, settings, caplog):
    caplog.set_level(logging.INFO)
    demo = settings.with_overrides(demo=True)

    await _send_login_code(demo)

    lines = [record.getMessage() for record in caplog.records if record.name == "loyalty.outbox"]
    assert any("+86138****8000" in line and "654321" in line for line in lines), lines
    assert all(PHONE not in line for line in lines)
