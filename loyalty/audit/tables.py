from piccolo.columns import JSON, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class AuditEntry(Table):
    """Append-only: written in the same transaction as the change it records."""

    actor_kind = Varchar(length=10)  # staff | member | system
    actor_id = Integer(null=True, default=None)
    action = Varchar(length=40, index=True)  # e.g. card.suspend, tier.assign
    subject_kind = Varchar(length=20)
    subject_id = Integer(index=True)
    reason = Text(default="")
    data = JSON(default="{}")
    at = Timestamptz(index=True)
