"""Delivery channels behind one interface. `log` writes the message to the server log: the
demo and development channel, and how a demo owner reads their login code. SMS, e-mail and
WeChat adapters implement the same `send`."""

from __future__ import annotations

import logging
from typing import Protocol

from loyalty.phones import mask_phone

log = logging.getLogger("loyalty.outbox")


class Channel(Protocol):
    name: str

    async def send(self, recipient: str, body: str) -> None: ...


class LogChannel:
    """Prints the message to the log (the recipient masked), for demos and development."""

    name = "log"

    async def send(self, recipient: str, body: str) -> None:
        shown = mask_phone(recipient) if recipient.startswith("+") else recipient
        log.warning("message to %s: %s", shown, body)


CHANNELS: dict[str, Channel] = {"log": LogChannel()}


def channel(name: str) -> Channel:
    try:
        return CHANNELS[name]
    except KeyError:
        raise LookupError(f"no delivery channel named {name!r}") from None
