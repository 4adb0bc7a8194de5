"""Bulk e-mail (greetings, reminders, surveys) carries an unsubscribe link in its text and the
List-Unsubscribe headers (RFC 2369, one click per RFC 8058); service mail (a case reply) does
not. The link refuses that kind for that owner, without logging in; a forged one does nothing."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import httpx

from loyalty.app import create_app
from loyalty.care import outbox
from loyalty.care.tables import OptOut
from loyalty.members.tables import Member
from tests.events.builders import owners

HOLIDAY = {"zh-CN": ("中秋节快乐", "【业主俱乐部】业主0，中秋节快乐！")}
CASE = {"zh-CN": ("您的反馈有新进展", "【业主俱乐部】您的反馈有了新的回复，请登录查看。")}


async def mailed(database: Any, monkeypatch: Any, tmp_path: Any) -> tuple[int, list[EmailMessage], Any]:
    (member,) = await owners(tmp_path, 1)
    await Member.update({Member.email: "owner0@example.com"}).where(Member.id == member)
    settings = database.settings(smtp_host="127.0.0.1", quiet_hours="", public_url="https://club.example.com")
    from loyalty import jobs

    jobs.configure(settings)
    sent: list[EmailMessage] = []
    monkeypatch.setattr("loyalty.care.channels.EmailChannel._send_now", lambda self, message: sent.append(message))
    for kind, texts in (("holiday", HOLIDAY), ("case_update", CASE)):
        message_id = await outbox.message_member(member, kind=kind, template=kind, texts=texts, settings=settings)
        assert message_id is not None and await outbox.deliver_message(message_id) == "sent"
    return member, sent, settings


async def test_a_greeting_carries_a_one_click_unsubscribe_and_a_case_reply_does_not(database, monkeypatch, tmp_path):
    member, (greeting, reply), settings = await mailed(database, monkeypatch, tmp_path)

    link = greeting["List-Unsubscribe"].strip().strip("<>")
    assert link.startswith(f"https://club.example.com/api/v1/unsubscribe/{member}.holiday.")
    assert greeting["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"不想再收到此类消息？退订：{link}" in greeting.get_content()
    assert reply["List-Unsubscribe"] is None and "退订" not in reply.get_content()

    app = create_app(settings, engine=database.engine)
    path = link.removeprefix("https://club.example.com")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        page = await http.get(path, headers={"Accept-Language": "zh-CN"})
        assert not await OptOut.exists()  # opening the link changes nothing (mail scanners open links)
        forged = await http.post(path[:-3] + "xyz", data={"List-Unsubscribe": "One-Click"})
        assert not await OptOut.exists()
        done = await http.post(path, data={"List-Unsubscribe": "One-Click"}, headers={"Accept-Language": "zh-CN"})

    assert page.status_code == 200 and "不再接收业主俱乐部的节日祝福？" in page.text and "退订" in page.text
    assert "退订链接无效" in forged.text or "link is not valid" in forged.text
    assert done.status_code == 200 and "已退订，您将不再收到节日祝福。" in done.text
    assert await outbox.opt_outs(member) == ["holiday"]
