"""The notification outbox: every message to an owner is a row first, delivered afterwards."""

from __future__ import annotations

from typing import Any

from loyalty import clock, db
from loyalty.care.channels import channel
from loyalty.care.tables import OutboxMessage


async def queue_message(
    *, channel_name: str, recipient: str, template: str, language: str, body: str, payload: dict[str, Any] | None = None
) -> int:
    """Write a message to the outbox (inside the caller's transaction, if any); returns its id.
    The caller enqueues `loyalty.care.deliver_message` once its transaction has committed."""
    rows = await OutboxMessage.insert(
        OutboxMessage(
            channel=channel_name,
            recipient=recipient,
            template=template,
            language=language,
            body=body,
            payload=payload or {},
        )
    ).returning(OutboxMessage.id)
    return rows[0]["id"]


async def deliver_message(message_id: int) -> str:
    """Send one queued message through its channel; returns its status. Idempotent: a sent
    message is never sent again; a failure is recorded and the message stays retryable."""
    async with db.transaction():
        claimed = await OutboxMessage.update(
            {OutboxMessage.attempts: OutboxMessage.attempts + 1}
        ).where((OutboxMessage.id == message_id) & (OutboxMessage.status != "sent")).returning(
            OutboxMessage.channel, OutboxMessage.recipient, OutboxMessage.body
        )
    if not claimed:
        return "sent"
    row = claimed[0]
    try:
        await channel(row["channel"]).send(row["recipient"], row["body"])
    except Exception as error:  # noqa: BLE001 - any channel failure is recorded on the row for retry
        await OutboxMessage.update(
            {OutboxMessage.status: "failed", OutboxMessage.error: f"{type(error).__name__}: {error}"[:1000]}
        ).where(OutboxMessage.id == message_id)
        raise
    await OutboxMessage.update({OutboxMessage.status: "sent", OutboxMessage.sent_at: clock.now(), OutboxMessage.error: ""}).where(
        OutboxMessage.id == message_id
    )
    return "sent"
