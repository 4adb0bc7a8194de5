"""What the privacy routes take and give."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec


class ErasureRequest(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[
        str,
        msgspec.Meta(
            max_length=1000, pattern="^[^\\x00]*$",
            description="why, e.g. the owner's written request of 2026-06-01 (audited; 2 characters at least)",
        ),
    ]


class ErasureReport(msgspec.Struct):
    """What an erasure changed, by count (nothing personal: it is also the audit entry's data)."""

    member_id: int
    erased_at: datetime
    name: str  # what the member is called from now on
    cards_revoked: int
    typed_codes_deleted: int
    ownerships_closed: int
    points_forfeited: int
    pending_points_forfeited: int
    leads_cancelled: int
    leads_anonymised: int
    office_visits_anonymised: int
    messages_redacted: int
    messages_cancelled: int
    delivery_attempts_redacted: int
    cases_redacted: int
    case_messages_redacted: int
    photos_deleted: int
    surveys_cleared: int
    return_visits_dropped: int  # calls not made yet: nobody calls an erased owner
    return_visits_cleared: int  # notes of the calls made cleared
    repairs_redacted: int  # what was wrong at their home cleared; item, states, rating kept (repair KPIs)
    login_codes_deleted: int
    opt_outs_deleted: int
    channel_choices_deleted: int
    wechat_bindings_deleted: int
    waitlist_places_cancelled: int
    texts_scrubbed: int  # ledger reasons, notes and audit entries that named the owner
