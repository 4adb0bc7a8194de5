"""Delivery channels behind one interface: `send(recipient, subject, body)`.

- `email`: SMTP (stdlib smtplib in a worker thread), configured by LOYALTY_SMTP_*;
- `sms`, `wechat`: adapters that write to the log until a provider is contracted, the place a
  provider's client goes;
- `log`: the same log writer, for messages that are only ever shown in the log.
The log writer puts the message itself (a login code!) in the log only under `--demo`, where
that is how one reads the code; anywhere else a log is kept, shipped and read by more people
than the owner, so it says only which kind of message went to which masked number.
A channel raises on failure; the outbox records the error and retries."""

from __future__ import annotations

import asyncio
import logging
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol

from loyalty.phones import mask_phone
from loyalty.settings import Settings

log = logging.getLogger("loyalty.outbox")


class ChannelUnavailable(RuntimeError):
    """The channel is not configured here (e.g. no SMTP host)."""


class Channel(Protocol):
    name: str

    async def send(self, recipient: str, subject: str, body: str, *, kind: str = "") -> None: ...


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


def _mask_address(recipient: str) -> str:
    """z***@example.com: enough to tell two owners apart in a log, not enough to write to one."""
    local, at, domain = recipient.partition("@")
    return f"{local[:1]}***{at}{domain}" if at else "****"


class EmailChannel:
    name = "email"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _message(self, recipient: str, subject: str, body: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = recipient
        message["Subject"] = subject or "Owner Club 业主俱乐部"
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain="owner-club")
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


def channel(name: str, settings: Settings) -> Channel:
    if name == "email":
        return EmailChannel(settings)
    if name in ("sms", "wechat", "log"):
        return LogChannel(name, show_body=settings.demo)
    raise LookupError(f"no delivery channel named {name!r}")


def route(email: str, settings: Settings) -> str:
    """Where a care message to an owner goes: e-mail when they have an address and SMTP is
    configured, else SMS (the configured SMS backend)."""
    return "email" if email and settings.smtp_host else settings.sms_backend
