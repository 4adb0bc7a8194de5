"""Owner care: the outbox of messages, owners' opt-outs, feedback cases with their SLA clocks,
and satisfaction surveys."""

from piccolo.columns import JSON, BigInt, Boolean, Bytea, Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from loyalty.members.tables import Member, Project, Unit

# queued → sending → sent; a failed attempt goes back to queued with a later next_attempt_at
# until the attempts run out (failed); an owner's opt-out makes a message skipped.
OUTBOX_STATUSES = ("queued", "sending", "sent", "failed", "skipped", "expired")
# What a message is about: owners opt out per kind (the transactional ones cannot be refused).
MESSAGE_KINDS = (
    "login_code", "event_update", "case_update", "reward_pickup",  # transactional
    "birthday", "holiday", "warranty", "event_reminder", "points_expiry", "survey",
    "project_bulletin", "activity_news",  # staff's broadcasts to a segment (loyalty.care.broadcasts)
)
# A reward to collect is about the owner's own redemption (ready, about to expire), as an event update is.
TRANSACTIONAL = ("login_code", "event_update", "case_update", "reward_pickup")


class OutboxMessage(Table):
    """One message to one recipient, written in the same transaction as the change that
    causes it and delivered afterwards by a channel; never lost if delivery fails."""

    channel = Varchar(length=16)  # email, sms, wechat, log
    recipient = Varchar(length=255)
    member = Integer(null=True, default=None, index=True)
    kind = Varchar(length=24, default="event_update")
    template = Varchar(length=64)
    language = Varchar(length=10, default="zh-CN")
    subject = Varchar(length=200, default="")
    payload = JSON(default="{}")
    body = Text(default="")
    # Once per owner per occasion: e.g. "birthday:2026:17" (unique where set).
    dedupe_key = Varchar(length=120, null=True, default=None)
    status = Varchar(length=16, default="queued", index=True)
    attempts = Integer(default=0)
    error = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    scheduled_at = Timestamptz(default=TimestamptzNow(), index=True)  # not before (quiet hours)
    next_attempt_at = Timestamptz(default=TimestamptzNow())
    claimed_at = Timestamptz(null=True, default=None)
    sent_at = Timestamptz(null=True, default=None)


# What one attempt at one message came to (DeliveryAttempt.outcome):
# sent: the provider took it; retry: try this channel again later (a 5xx, a timeout, busy);
# throttled: the provider or our own limit said "not now" for this number; gave_up: this
# channel cannot send it (bad template, no credit); blocked: the address refuses us (an
# unsubscribed WeChat follower, a number on the provider's blacklist), flagged and skipped
# from then on, so the message falls back to the next channel.
ATTEMPT_OUTCOMES = ("sent", "retry", "throttled", "gave_up", "blocked")
CHANNELS = ("wechat", "sms", "email")  # the fallback order, unless an owner chose another


class DeliveryAttempt(Table):
    """One try at sending one outbox message through one channel, with the provider's answer
    and, later, its delivery receipt (SMS: the handset's report pulled from the provider)."""

    message = Integer(index=True)
    attempt = Integer(default=1)
    channel = Varchar(length=16)
    recipient = Varchar(length=255)
    outcome = Varchar(length=16, default="sent")
    code = Varchar(length=80, default="")  # the provider's code ("Ok", "LimitExceeded.…", "43004")
    detail = Text(default="")
    provider_ref = Varchar(length=120, default="", index=True)  # the provider's id (SMS SerialNo, WeChat msgid)
    started_at = Timestamptz(default=TimestamptzNow())
    finished_at = Timestamptz(null=True, default=None)
    receipt = Varchar(length=16, default="")  # "", delivered, undelivered
    receipt_detail = Varchar(length=200, default="")
    receipt_at = Timestamptz(null=True, default=None)


class BlockedAddress(Table):
    """An address a channel must not write to any more (`key` = "channel:address", unique):
    a number the provider reports as wrong or blacklisted, a follower who unsubscribed."""

    key = Varchar(length=280, unique=True)
    channel = Varchar(length=16)
    address = Varchar(length=255)
    reason = Varchar(length=200, default="")
    created_at = Timestamptz(default=TimestamptzNow())


class ChannelChoice(Table):
    """An owner's channels for a kind of message ("*": every kind without its own row), in
    order of preference; a channel left out is one the owner does not want (for that kind)."""

    member = ForeignKey(references=Member, null=False, index=True, on_delete=OnDelete.cascade)
    kind = Varchar(length=24, default="*")
    channels = Varchar(length=40, default="wechat,sms,email")


class OptOut(Table):
    """An owner does not want messages of this kind (unique per member and kind)."""

    member = ForeignKey(references=Member, null=False, index=True, on_delete=OnDelete.cascade)
    kind = Varchar(length=24)
    created_at = Timestamptz(default=TimestamptzNow())


# Staff's messages to a group of owners (loyalty.care.broadcasts): what each kind goes out as in
# the outbox, so an owner's opt-out of that outbox kind is honoured. A greeting is a holiday
# greeting to whoever refused those, as the calendar's own greetings are.
BROADCAST_KINDS = {"bulletin": "project_bulletin", "activity_news": "activity_news", "greeting": "holiday"}
# draft → scheduled (confirmed, for later) → sending → sent; draft or scheduled → cancelled.
BROADCAST_STATUSES = ("draft", "scheduled", "sending", "sent", "cancelled")


class Broadcast(Table):
    """A message staff send to a segment of owners, in Chinese and English. It holds the segment's
    criteria, never the owners: who got it is the outbox (a row per owner, template
    `broadcast:<id>`), so a privacy export or erasure of an owner has nothing here to find."""

    kind = Varchar(length=16)  # a key of BROADCAST_KINDS
    title_zh = Varchar(length=100)
    title_en = Varchar(length=100, default="")
    body_zh = Text()
    body_en = Text(default="")
    segment = JSON(default="{}")  # loyalty.care.broadcasts.Segment as JSON
    send_at = Timestamptz(null=True, default=None)  # None: as soon as it is confirmed
    status = Varchar(length=12, default="draft", index=True)
    created_by = Integer()  # staff account
    created_at = Timestamptz(default=TimestamptzNow())
    confirmed_by = Integer(null=True, default=None)
    confirmed_at = Timestamptz(null=True, default=None)
    progressed_at = Timestamptz(null=True, default=None)  # the send run's last chunk (a run gone quiet is resumed)
    finished_at = Timestamptz(null=True, default=None)
    cancelled_by = Integer(null=True, default=None)
    cancelled_at = Timestamptz(null=True, default=None)
    audience = Integer(null=True, default=None)  # owners in the segment when it was sent
    queued = Integer(default=0)  # outbox messages it queued (not opted out, with a channel)


CASE_KINDS = ("complaint", "suggestion", "repair", "inquiry", "special_need")
# open → in_progress (first reply) → resolved (the result) → followed_up (the call after closing)
CASE_STATUSES = ("open", "in_progress", "resolved", "followed_up")
# How much a case weighs, set by the care desk (audited): a major one (a leak through a ceiling,
# a complaint that threatens to go public) is handled ahead of a normal one with the same deadline.
CASE_SEVERITIES = ("normal", "major")
AUTHORS = ("member", "staff")  # who opened a case (Case.opened_by), who wrote a message (CaseMessage.author_kind)


class Case(Table):
    """Feedback or a complaint, with its three clocks: first reply, result, follow-up call."""

    member = ForeignKey(references=Member, null=False, index=True, on_delete=OnDelete.restrict)
    kind = Varchar(length=16)
    project = ForeignKey(references=Project, null=True, default=None, on_delete=OnDelete.restrict)
    unit = ForeignKey(references=Unit, null=True, default=None, on_delete=OnDelete.restrict)
    title = Varchar(length=200)
    text = Text()
    status = Varchar(length=16, default="open", index=True)
    severity = Varchar(length=10, default="normal")  # one of CASE_SEVERITIES
    opened_by = Varchar(length=10, default="member")  # one of AUTHORS
    opened_by_staff = Integer(null=True, default=None)
    assigned_to = Integer(null=True, default=None, index=True)  # staff account id
    opened_at = Timestamptz(default=TimestamptzNow(), index=True)
    first_reply_due = Timestamptz()
    result_due = Timestamptz()
    first_reply_at = Timestamptz(null=True, default=None)
    resolved_at = Timestamptz(null=True, default=None)
    result = Text(default="")
    follow_up_due = Timestamptz(null=True, default=None)
    followed_up_at = Timestamptz(null=True, default=None)
    follow_up_note = Text(default="")
    # When each clock was escalated (once each).
    reply_escalated_at = Timestamptz(null=True, default=None)
    result_escalated_at = Timestamptz(null=True, default=None)
    follow_up_escalated_at = Timestamptz(null=True, default=None)


class CaseMessage(Table):
    case = ForeignKey(references=Case, null=False, index=True, on_delete=OnDelete.cascade)
    author_kind = Varchar(length=10)  # one of AUTHORS
    author_id = Integer()
    text = Text()
    created_at = Timestamptz(default=TimestamptzNow())


class CasePhoto(Table):
    case = ForeignKey(references=Case, null=False, index=True, on_delete=OnDelete.cascade)
    content_type = Varchar(length=32)
    data = Bytea()
    size = Integer()
    created_at = Timestamptz(default=TimestamptzNow())


SURVEY_KINDS = ("event", "case", "yearly")
# The seeds' yearly dimensions, each on the five-point scale (5 = very satisfied).
DIMENSIONS = ("planning_design", "sales_service", "construction_quality", "customer_service", "property_management")


class Survey(Table):
    """One survey sent to one owner; answered once. `satisfaction` is the overall score of an
    event or case survey; a yearly survey scores the five dimensions."""

    member = ForeignKey(references=Member, null=False, index=True, on_delete=OnDelete.restrict)
    kind = Varchar(length=10)
    subject_id = Integer(default=0)  # the event or case; the year for a yearly survey
    project = Integer(null=True, default=None, index=True)  # for the KPIs per project
    sent_at = Timestamptz(default=TimestamptzNow(), index=True)
    answered_at = Timestamptz(null=True, default=None, index=True)
    satisfaction = Integer(null=True, default=None)
    planning_design = Integer(null=True, default=None)
    sales_service = Integer(null=True, default=None)
    construction_quality = Integer(null=True, default=None)
    customer_service = Integer(null=True, default=None)
    property_management = Integer(null=True, default=None)
    recommend = Integer(null=True, default=None)  # 0–10: would you recommend us?
    comment = Text(default="")


# Return visits (回访): a call to an owner at a moment of their journey, or in the monthly plan.
VISIT_KINDS = (
    "after_subscription", "after_signing", "before_handover", "after_move_in",
    "after_repair", "after_major_repair", "after_complaint", "monthly_plan",
    # the care plans (loyalty.care.care_plans)
    "care_elderly_alone", "care_silent", "care_315", "care_315_interview",
)
VISIT_STATUSES = ("open", "done")
VISIT_OUTCOMES = ("reached", "not_reached", "refused")


class ReturnVisit(Table):
    """One return visit to make, created once per (member, kind, source) by the visits job
    (loyalty.care.visits), and what came of it. `source` names what caused it: `lead:<id>`
    (a subscription), `ownership:<id>` (signing, handover, moving in), `case:<id>` (a repair or
    complaint closed), `plan:<YYYY-MM>` (the monthly plan). A subscribed lead is not a member
    yet: its visit has `lead` and no `member`."""

    member = ForeignKey(references=Member, null=True, default=None, index=True, on_delete=OnDelete.restrict)
    lead = Integer(null=True, default=None, index=True)
    kind = Varchar(length=24)
    source = Varchar(length=40)
    assigned_to = Integer(null=True, default=None, index=True)  # staff account id
    due_at = Timestamptz(index=True)
    status = Varchar(length=8, default="open", index=True)
    outcome = Varchar(length=12, null=True, default=None)
    notes = Text(default="")
    satisfaction = Integer(null=True, default=None)  # 1–5, when the owner was reached
    created_at = Timestamptz(default=TimestamptzNow())
    done_at = Timestamptz(null=True, default=None, index=True)
    done_by = Integer(null=True, default=None)  # staff account id


# Repairs (维修): a repair record the front desk fills in within minutes of an owner's report, the
# works, the acceptance (by the owner or by staff), rework, and the owner's rating after closing.
REPAIR_ITEMS = ("water_leak", "wall_crack", "door_window", "electrical", "plumbing", "other")
# reported → in_repair → awaiting_acceptance → accepted → closed; awaiting_acceptance → rework
# (not accepted: the works are redone) → awaiting_acceptance again.
REPAIR_STATES = ("reported", "in_repair", "awaiting_acceptance", "rework", "accepted", "closed")
ACCEPTORS = ("owner", "staff")  # who accepted the works (Repair.accepted_by)


class Repair(Table):
    """One repair at one owner's unit. `second_repair_of` is the earlier repair of the same unit
    and item within the setting's window (a second repair: the first one did not hold)."""

    member = ForeignKey(references=Member, null=False, index=True, on_delete=OnDelete.restrict)
    unit = ForeignKey(references=Unit, null=False, index=True, on_delete=OnDelete.restrict)
    project = Integer(null=True, default=None, index=True)  # the unit's, kept for the KPIs per project
    item = Varchar(length=16)  # one of REPAIR_ITEMS
    description = Text(default="")
    major_works = Boolean(default=False)
    contractor = Varchar(length=100)
    supervisor = Varchar(length=100, default="")
    ambassador = Integer(null=True, default=None, index=True)  # the client ambassador: a staff account
    contract_sum_fen = BigInt(default=0)
    reported_at = Timestamptz(index=True)  # when the owner reported it
    recorded_at = Timestamptz()  # when the front desk filled in the form
    recorded_by = Integer()
    intake_due = Timestamptz()  # reported_at + the intake minutes
    intake_late = Boolean(default=False)
    second_repair_of = Integer(null=True, default=None)
    state = Varchar(length=20, default="reported", index=True)
    rework_count = Integer(default=0)
    accepted_by = Varchar(length=8, null=True, default=None)  # one of ACCEPTORS
    accepted_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None, index=True)
    satisfaction = Integer(null=True, default=None)  # 1–5, the owner's, after closing
    rated_at = Timestamptz(null=True, default=None)


# A cluster of open cases of one kind in one project (and one building, when the cases name a
# unit) within the warning window: the service lead is told once per cluster.
class GroupWarning(Table):
    key = Varchar(length=120, unique=True)  # kind:project:building:first case id (once per cluster)
    kind = Varchar(length=16)  # the cases' kind (CASE_KINDS)
    project = Integer(null=True, default=None, index=True)
    building = Varchar(length=20, default="")  # "" when the cases name no unit
    case_ids = JSON(default="[]")
    first_case_at = Timestamptz()
    last_case_at = Timestamptz()
    raised_at = Timestamptz(index=True)
    acknowledged_by = Integer(null=True, default=None)
    acknowledged_at = Timestamptz(null=True, default=None)


# Where an improvement action's “what the owners said” came from (optional).
IMPROVEMENT_SOURCES = ("survey", "case", "visit")


class ImprovementAction(Table):
    """One of the “315” plan's five improvement actions for a handover batch: a project and the Beijing
    month its homes were handed over (loyalty.care.improvements)."""

    project = ForeignKey(references=Project, null=False, index=True)
    batch_month = Varchar(length=7, index=True)  # YYYY-MM, Beijing: the month the batch was handed over
    title = Varchar(length=200)
    owners_said = Text(default="")  # what the owners said that the action answers
    source_kind = Varchar(length=8, null=True, default=None)  # IMPROVEMENT_SOURCES
    source_id = Integer(null=True, default=None)
    owner_staff = Integer()  # the staff account who carries it out
    due_on = Date()
    done_at = Timestamptz(null=True, default=None)
    result = Text(default="")
    created_by = Integer()
    created_at = Timestamptz(default=TimestamptzNow())
