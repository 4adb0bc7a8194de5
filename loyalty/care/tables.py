from piccolo.columns import JSON, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

OUTBOX_STATUSES = ("queued", "sent", "failed")


class OutboxMessage(Table):
    """One message to one recipient, written in the same transaction as the change that
    causes it and delivered afterwards by a channel; never lost if delivery fails."""

    channel = Varchar(length=16)  # sms, email, wechat, log
    recipient = Varchar(length=255)
    template = Varchar(length=64)
    language = Varchar(length=10, default="zh-CN")
    payload = JSON(default="{}")
    body = Text(default="")
    status = Varchar(length=16, default="queued", index=True)
    attempts = Integer(default=0)
    error = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    sent_at = Timestamptz(null=True, default=None)
