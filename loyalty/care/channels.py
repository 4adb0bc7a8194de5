"""Delivery channels behind one interface: `deliver(envelope) -> Outcome`.

- `email`: SMTP (stdlib smtplib in a worker thread), configured by LOYALTY_SMTP_*; bulk kinds
  carry an unsubscribe link and the List-Unsubscribe headers (one click, RFC 8058);
- `tencent`: SMS through Tencent Cloud SMS (loyalty.care.sms);
- `wechat`: template messages of the WeChat Official Account (loyalty.care.wechat);
- `log`: the demo's SMS backend: writes to the log, and is only ever the last resort.
The log writer puts the message itself (a login code!) in the log only under `--demo`, where
that is how one reads the code; anywhere else a log is kept, shipped and read by more people
than the owner, so it says only which kind of message went to which masked number.
A channel answers with an Outcome (sent, retry, throttled, gave_up, blocked); an exception
counts as `retry`. The outbox records each attempt and falls back to the next channel."""

from __future__ import annotations

import asyncio
import logging
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from dataclasses import dataclass, field
from typing import Protocol

from loyalty.phones import mask_phone
from loyalty.settings import Settings

log = logging.getLogger("loyalty.outbox")


class ChannelUnavailable(RuntimeError):
    """The channel is not configured here (e.g. no SMTP host)."""


@dataclass(frozen=True)
class Envelope:
    """One attempt at one outbox message, as a channel needs it."""

    message_id: int
    attempt: int
    kind: str
    recipient: str
    subject: str
    body: str
    language: str = "zh-CN"
    params: list[str] = field(default_factory=list)  # a provider template's parameters (SMS)
    member_id: int | None = None


@dataclass(frozen=True)
class Outcome:
    status: str  # one of loyalty.care.tables.ATTEMPT_OUTCOMES
    code: str = ""
    detail: str = ""
    provider_ref: str = ""
    retry_after: float | None = None  # throttled: seconds until the limit lifts


class Channel(Protocol):
    name: str

    def can_send(self, kind: str) -> bool: ...

    async def deliver(self, envelope: Envelope) -> Outcome: ...


class LogChannel:
    """Writes to the log that a message went out (the recipient masked); the message itself
    only when `show_body` (the demo)."""

    def __init__(self, name: str = "log", *, show_body: bool = False) -> None:
        self.name = name
        self.show_body = show_body

    async def send(self, recipient: str, subject: str, body: str, *, kind: str = "") -> None:
        shown = mask_phone(recipient) if recipient.startswith("+") else _mask_address(recipient)
        if self.show_body:
            log.warning("message (%s) to %s: %s", self.name, shown, body)
        else:
            log.warning("message (%s) to %s: a %s message (its text is shown only in the demo)", self.name, shown, kind or "care")

    def can_send(self, kind: str) -> bool:
        return True

    async def deliver(self, envelope: Envelope) -> Outcome:
        await self.send(envelope.recipient, envelope.subject, envelope.body, kind=envelope.kind)
        return Outcome("sent", code="log")


def _mask_address(recipient: str) -> str:
    """z***@example.com: enough to tell two owners apart in a log, not enough to write to one."""
    local, at, domain = recipient.partition("@")
    return f"{local[:1]}***{at}{domain}" if at else "****"


class EmailChannel:
    name = "email"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _message(self, recipient: str, subject: str, body: str, unsubscribe: str | None = None) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = recipient
        message["Subject"] = subject or "Owner Club 业主俱乐部"
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain="owner-club")
        if unsubscribe:
            # RFC 2369 and RFC 8058: mail clients show an "unsubscribe" button that POSTs here.
            message["List-Unsubscribe"] = f"<{unsubscribe}>"
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message.set_content(body)
        return message

    def _send_now(self, message: EmailMessage) -> None:
        settings = self.settings
        if not settings.smtp_host:
            raise ChannelUnavailable("e-mail is not configured (LOYALTY_SMTP_HOST)")
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            smtp.send_message(message)

    async def send(self, recipient: str, subject: str, body: str, *, kind: str = "") -> None:
        await asyncio.to_thread(self._send_now, self._message(recipient, subject, body))

    def can_send(self, kind: str) -> bool:
        return bool(self.settings.smtp_host)

    async def deliver(self, envelope: Envelope) -> Outcome:
        from loyalty.care.unsubscribe import bulk, footer, unsubscribe_url

        body, link = envelope.body, None
        if bulk(envelope.kind) and envelope.member_id is not None:
            link = unsubscribe_url(self.settings, envelope.member_id, envelope.kind)
            body = f"{body}\n\n{footer(envelope.language, link)}"
        try:
            await asyncio.to_thread(self._send_now, self._message(envelope.recipient, envelope.subject, body, link))
        except smtplib.SMTPRecipientsRefused as error:
            return Outcome("blocked", code="550", detail=str(error)[:300])
        except ChannelUnavailable as error:
            return Outcome("gave_up", code="unconfigured", detail=str(error))
        return Outcome("sent", code="250")


def channel(name: str, settings: Settings) -> Channel:
    if name == "email":
        return EmailChannel(settings)
    if name == "tencent":
        from loyalty.care.sms import TencentSmsChannel

        return TencentSmsChannel(settings)
    if name == "wechat":
        from loyalty.care.wechat import WechatChannel

        return WechatChannel(settings)
    if name in ("sms", "log"):
        return LogChannel(name, show_body=settings.demo)
    raise LookupError(f"no delivery channel named {name!r}")
