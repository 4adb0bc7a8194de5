"""Every enumeration a person reads, named in words: one table per enum, its value → the words.

The pages get these tables with their catalogue (`/i18n/{locale}.json`), exports and messages
take them through `enum_label`; `tests/i18n/test_enums.py` holds each table to its enum's values."""

from __future__ import annotations

from loyalty.i18n.catalog import translate
from loyalty.i18n.message import Message, _p

ENUMS: dict[str, dict[str, Message]] = {
    "tier": {
        "platinum": _p("tier", "Platinum"),
        "gold": _p("tier", "Gold"),
        "silver": _p("tier", "Silver"),
        "blue": _p("tier", "Blue"),
    },
    "owner_stage": {
        "prospect": _p("owner_stage", "Prospect"),
        "pre_owner": _p("owner_stage", "Pre-owner"),
        "settling": _p("owner_stage", "Settling-in owner"),
        "stable": _p("owner_stage", "Established owner"),
        "veteran": _p("owner_stage", "Veteran owner"),
    },
    "gender": {
        "female": _p("gender", "Female"),
        "male": _p("gender", "Male"),
        "unknown": _p("gender", "Unknown"),
    },
    "referral_stage": {
        "registered": _p("referral_stage", "Registered"),
        "visited": _p("referral_stage", "Visited"),
        "subscribed": _p("referral_stage", "Subscribed"),
        "signed": _p("referral_stage", "Signed"),
        "cancelled": _p("referral_stage", "Cancelled"),
    },
    "referral_beneficiary": {
        "referrer": _p("referral_beneficiary", "Referrer"),
        "new_owner": _p("referral_beneficiary", "New owner (the friend)"),
    },
    "event_kind": {
        "club_activity": _p("event_kind", "Club activity"),
        "owner_meetup": _p("event_kind", "Owner meetup"),
        "festival_gathering": _p("event_kind", "Festival gathering"),
        "site_open_day": _p("event_kind", "Site open day"),
        "decoration_seminar": _p("event_kind", "Decoration seminar"),
        "other": _p("event_kind", "Other"),
    },
    "reward_kind": {
        "gift": _p("reward_kind", "Gift"),
        "voucher": _p("reward_kind", "Voucher"),
        "event_seat": _p("reward_kind", "Event seat"),
        "service": _p("reward_kind", "Service"),
    },
    "reward_status": {
        "draft": _p("reward_status", "Draft"),
        "published": _p("reward_status", "Published"),
        "withdrawn": _p("reward_status", "Withdrawn"),
    },
    "redemption_status": {
        "reserved": _p("redemption_status", "Reserved"),
        "ready": _p("redemption_status", "Ready to collect"),
        "picked_up": _p("redemption_status", "Picked up"),
        "cancelled": _p("redemption_status", "Cancelled (points returned)"),
        "expired": _p("redemption_status", "Not collected in time (points returned)"),
    },
    "event_status": {
        "draft": _p("event_status", "Draft"),
        "published": _p("event_status", "Published"),
        "cancelled": _p("event_status", "Cancelled"),
    },
    # The Chinese festivals a series of gatherings may be drafted for (loyalty/events/series.py).
    "festival": {
        "spring_festival": _p("festival", "Spring Festival"),
        "lantern": _p("festival", "Lantern Festival"),
        "dragon_boat": _p("festival", "Dragon Boat Festival"),
        "qixi": _p("festival", "Qixi Festival"),
        "mid_autumn": _p("festival", "Mid-Autumn Festival"),
        "double_ninth": _p("festival", "Double Ninth Festival"),
    },
    "signup_status": {
        "pending_payment": _p("signup_status", "Awaiting payment (seat held)"),
        # A promoted seat whose payment is not ready yet (Stripe or the job queue was down).
        "payment_preparing": _p(
            "signup_status", "Preparing your payment (your seat is kept; the time to pay starts once it is ready)"
        ),
        "confirmed": _p("signup_status", "Confirmed"),
        "waitlisted": _p("signup_status", "On the waitlist"),
        "cancelled": _p("signup_status", "Cancelled"),
        "attended": _p("signup_status", "Attended"),
        "no_show": _p("signup_status", "Did not come"),
    },
    "checkin_result": {
        "checked_in": _p("checkin_result", "Checked in"),
        "already_checked_in": _p("checkin_result", "Already checked in"),
        "not_signed_up": _p("checkin_result", "Not signed up"),
        "wrong_event": _p("checkin_result", "Ticket for another event"),
        "cancelled": _p("checkin_result", "Signup cancelled"),
        "not_open_yet": _p("checkin_result", "Check-in not open yet"),
    },
    "case_kind": {
        "complaint": _p("case_kind", "Complaint"),
        "suggestion": _p("case_kind", "Suggestion"),
        "repair": _p("case_kind", "Repair request"),
        "inquiry": _p("case_kind", "Inquiry"),
        "special_need": _p("case_kind", "Special need"),
    },
    "case_status": {
        "open": _p("case_status", "Waiting for a reply"),
        "in_progress": _p("case_status", "In progress"),
        "resolved": _p("case_status", "Resolved"),
        "followed_up": _p("case_status", "Followed up"),
    },
    "case_severity": {
        "normal": _p("case_severity", "Normal"),
        "major": _p("case_severity", "Major"),
    },
    "case_clock": {
        "reply": _p("case_clock", "Reply due"),
        "result": _p("case_clock", "Result due"),
        "follow_up": _p("case_clock", "Follow-up due"),
    },
    "visit_kind": {
        "after_subscription": _p("visit_kind", "After subscription"),
        "after_signing": _p("visit_kind", "After signing"),
        "before_handover": _p("visit_kind", "Before handover"),
        "after_move_in": _p("visit_kind", "After moving in"),
        "after_repair": _p("visit_kind", "After a repair"),
        "after_major_repair": _p("visit_kind", "Two months after a major repair"),
        "after_complaint": _p("visit_kind", "After a complaint"),
        "monthly_plan": _p("visit_kind", "Monthly visit"),
        "care_elderly_alone": _p("visit_kind", "Care: elderly living alone"),
        "care_silent": _p("visit_kind", "Care: silent owner"),
        "care_315": _p("visit_kind", "Care: “315” after handover"),
        "care_315_interview": _p("visit_kind", "Care: “315” in-depth interview"),
    },
    "survey_kind": {
        "event": _p("survey_kind", "Event survey"),
        "case": _p("survey_kind", "Case survey"),
        "yearly": _p("survey_kind", "Yearly survey"),
    },
    "repair_item": {
        "water_leak": _p("repair_item", "Water leak"),
        "wall_crack": _p("repair_item", "Wall crack"),
        "door_window": _p("repair_item", "Door or window"),
        "electrical": _p("repair_item", "Electrical"),
        "plumbing": _p("repair_item", "Plumbing"),
        "other": _p("repair_item", "Other"),
    },
    "repair_state": {
        "reported": _p("repair_state", "Reported"),
        "in_repair": _p("repair_state", "In repair"),
        "awaiting_acceptance": _p("repair_state", "Awaiting acceptance"),
        "rework": _p("repair_state", "Rework"),
        "accepted": _p("repair_state", "Accepted"),
        "closed": _p("repair_state", "Closed"),
    },
    "repair_acceptor": {
        "owner": _p("repair_acceptor", "The owner"),
        "staff": _p("repair_acceptor", "Staff"),
    },
    "visit_status": {
        "open": _p("visit_status", "To do"),
        "done": _p("visit_status", "Done"),
    },
    "visit_outcome": {
        "reached": _p("visit_outcome", "Reached"),
        "not_reached": _p("visit_outcome", "Not reached"),
        "refused": _p("visit_outcome", "Refused"),
    },
    "improvement_source": {
        "survey": _p("improvement_source", "Survey"),
        "case": _p("improvement_source", "Case"),
        "visit": _p("improvement_source", "Return visit"),
    },
    "visit_scope": {
        "mine": _p("visit_scope", "Mine"),
        "unassigned": _p("visit_scope", "Unassigned"),
        "all": _p("visit_scope", "All"),
    },
    "staff_role": {
        "admin": _p("staff_role", "Administrator"),
        "sales": _p("staff_role", "Sales"),
        "event_staff": _p("staff_role", "Event staff"),
        "service": _p("staff_role", "Customer service"),
    },
    "liability_kind": {
        "available": _p("liability_kind", "Available"),
        "pending": _p("liability_kind", "Pending"),
        "total": _p("liability_kind", "Total"),
        "debt": _p("liability_kind", "Owed by members"),
    },
    "ledger_entry_kind": {
        "earn": _p("ledger_entry_kind", "Earned"),
        "redeem": _p("ledger_entry_kind", "Spent"),
        "expire": _p("ledger_entry_kind", "Expired"),
        "adjust": _p("ledger_entry_kind", "Adjusted by staff"),
        "reverse": _p("ledger_entry_kind", "Reversed"),
        "vest": _p("ledger_entry_kind", "Became available"),
        "void": _p("ledger_entry_kind", "Voided"),
    },
    # What a message to an owner is about (the outbox's kinds): the unsubscribe page, preferences.
    # Where a message to an owner stands (the outbox; staff read it in the admin).
    "outbox_status": {
        "queued": _p("outbox_status", "Waiting to send"),
        "sending": _p("outbox_status", "Sending"),
        "sent": _p("outbox_status", "Sent"),
        "failed": _p("outbox_status", "Failed"),
        "skipped": _p("outbox_status", "Not sent (opted out)"),
        "expired": _p("outbox_status", "Expired before sending"),
    },
    "message_kind": {
        "login_code": _p("message_kind", "login codes"),
        "event_update": _p("message_kind", "updates on your events"),
        "case_update": _p("message_kind", "updates on your feedback"),
        "birthday": _p("message_kind", "birthday greetings"),
        "holiday": _p("message_kind", "holiday greetings"),
        "warranty": _p("message_kind", "warranty reminders"),
        "event_reminder": _p("message_kind", "event reminders"),
        "points_expiry": _p("message_kind", "points expiry notices"),
        "survey": _p("message_kind", "satisfaction surveys"),
        "reward_pickup": _p("message_kind", "rewards to collect"),
        "project_bulletin": _p("message_kind", "project bulletins (construction progress, handover)"),
        "activity_news": _p("message_kind", "club activity news"),
    },
    # Staff's messages to a group of owners (the Messages page).
    "broadcast_kind": {
        "bulletin": _p("broadcast_kind", "Project bulletin"),
        "activity_news": _p("broadcast_kind", "Activity news"),
        "greeting": _p("broadcast_kind", "Holiday greeting"),
    },
    "broadcast_status": {
        "draft": _p("broadcast_status", "Draft"),
        "scheduled": _p("broadcast_status", "Scheduled"),
        "sending": _p("broadcast_status", "Sending"),
        "sent": _p("broadcast_status", "Sent"),
        "cancelled": _p("broadcast_status", "Cancelled"),
    },
    # The ways a message reaches an owner (their order is the owner's choice in the message settings).
    "channel": {
        "wechat": _p("channel", "WeChat"),
        "sms": _p("channel", "SMS"),
        "email": _p("channel", "E-mail"),
    },
    # What a tier rule measures (loyalty.cards.tables.CRITERION_KINDS), on the staff tier-rules page.
    "tier_rule_kind": {
        "units_owned": _p("tier_rule_kind", "Homes owned"),
        "delivered_units": _p("tier_rule_kind", "Homes handed over"),
        "contract_value_fen": _p("tier_rule_kind", "Total contract value"),
        "stage": _p("tier_rule_kind", "Owner stage reached"),
        "signed_referrals": _p("tier_rule_kind", "Referrals signed"),
    },
    "card_status": {
        "active": _p("card_status", "In use"),
        "suspended": _p("card_status", "Suspended"),
        "replaced": _p("card_status", "Replaced"),
    },
    "ownership_status": {
        "active": _p("ownership_status", "Owned"),
        "transferred": _p("ownership_status", "Sold on"),
        "erased": _p("ownership_status", "Data erased"),
    },
    # An owner import's progress (the staff page's owner import).
    "import_status": {
        "queued": _p("import_status", "Waiting to start"),
        "running": _p("import_status", "Checking the rows"),
        "done": _p("import_status", "Imported"),
        "failed": _p("import_status", "Nothing imported"),
    },
    # The columns of an owner file, as a row error names them (members/owner_file.py, COLUMNS).
    "owner_file_column": {
        "project_code": _p("owner_file_column", "Project code"),
        "project_name": _p("owner_file_column", "Project name"),
        "phase": _p("owner_file_column", "Phase"),
        "building": _p("owner_file_column", "Building"),
        "room": _p("owner_file_column", "Room"),
        "area_sqm": _p("owner_file_column", "Floor area"),
        "contract_price": _p("owner_file_column", "Contract price"),
        "name": _p("owner_file_column", "Owner's name"),
        "phone": _p("owner_file_column", "Mobile phone"),
        "birthday": _p("owner_file_column", "Date of birth"),
        "gender": _p("owner_file_column", "Gender"),
        "language": _p("owner_file_column", "Language"),
        "contract_date": _p("owner_file_column", "Contract date"),
        "delivery_date": _p("owner_file_column", "Delivery date"),
        "tags": _p("owner_file_column", "Hobbies"),
        "notes": _p("owner_file_column", "Notes"),
    },
    # Alliance merchants (the staff Merchants page).
    "merchant_category": {
        "decoration": _p("merchant_category", "Home decoration"),
        "dining": _p("merchant_category", "Dining"),
        "education": _p("merchant_category", "Education"),
        "health": _p("merchant_category", "Health"),
        "retail": _p("merchant_category", "Retail"),
        "services": _p("merchant_category", "Home services"),
        "other": _p("merchant_category", "Other"),
    },
    "merchant_status": {
        "active": _p("merchant_status", "Active"),
        "suspended": _p("merchant_status", "Suspended"),
    },
    "language": {
        "zh-CN": _p("language", "简体中文"),
        "en": _p("language", "English"),
    },
}


def enum_label(enum: str, value: str, locale: str) -> str:
    """The words for one value of `enum`; a value the table does not know is shown as it is
    (and fails `tests/i18n/test_enums.py` before it reaches anyone)."""
    message = ENUMS.get(enum, {}).get(value)
    return translate(message, locale) if message is not None else value


def enum_tables(locale: str) -> dict[str, dict[str, str]]:
    return {enum: {value: translate(message, locale) for value, message in values.items()} for enum, values in ENUMS.items()}


def enum_list(enum: str, values: list[str] | tuple[str, ...], locale: str, *, style: str = "standard") -> str:
    """Several values of `enum` in words, listed the reader's way (`金卡、银卡`, `Gold, Silver`)."""
    from loyalty.i18n.format import items

    return items([enum_label(enum, value, locale) for value in values], locale, style=style)
