"""Named texts: the sentences services put together (tier reasons, message bodies, why an owner
cannot sign up), as catalogue messages keyed by what they say. Enumerations are in
`loyalty.i18n.enums`; the words themselves are in the catalogues (`loyalty/i18n/locales`)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from loyalty.i18n import DEFAULT_LOCALE, Message, _, _n, negotiate, translate
from loyalty.i18n.enums import enum_label
from loyalty.i18n.format import money

LABELS: dict[str, Message] = {
    "criterion.units_owned": _n("owns at least {need} home", "owns at least {need} homes", 0),
    "criterion.delivered_units": _n("at least {need} home delivered", "at least {need} homes delivered", 0),
    "criterion.contract_value_fen": _("total purchases of at least {need}"),
    "criterion.stage": _("owner stage reaches '{need}'"),
    "criterion.signed_referrals": _n("at least {need} signed referral in the last {months} months", "at least {need} signed referrals in the last {months} months", 0),
    "why.rule": _("You are {tier} because you meet: {rule} (you: {have})."),
    "why.assignment": _("You are {tier}, assigned by staff: {reason} (until {ends_on})."),
    "why.kept": _("You keep {tier} until the yearly review ({review_on})."),
    "points.expiring": _("[Owner Club] {points} of your points expire on {date}. Use them before then."),
    "why_not.tier": _("Only for {tiers} members"),
    "why_not.stage": _("Only for: {stages}"),
    "why_not.project": _("Only for owners at {projects}"),
    "why_not.not_open_yet": _("Sign-up opens at {at}"),
    "why_not.closed": _("Sign-up closed at {at}"),
    "why_not.full": _("Full: you can join the waitlist"),
    "event_full.none": _("No seats left (of {capacity}): you can join the waitlist"),
    "event_full.party": _n("Only {left} seat left, not enough for a party of {party}: you can join the waitlist", "Only {left} seats left, not enough for a party of {party}: you can join the waitlist", 0),
    "why_not.already": _("You have signed up"),
    "why_not.payments": _("Online payment is not available; ask customer service"),
    "why_not.cancelled": _("The event is cancelled"),
    "notice.promoted": _("[Owner Club] Good news: a place at '{title}' ({at}) is yours."),
    "notice.promoted_pay": _("[Owner Club] A place at '{title}' is held for you for {minutes} minutes: please pay to confirm it."),
    "care.birthday.subject": _("Happy birthday"),
    "care.birthday": _("[Owner Club] Happy birthday, {name}! Thank you for being with us."),
    "care.holiday.subject": _("Happy {holiday}"),
    "care.holiday": _("[Owner Club] Happy {holiday}, {name}! Best wishes to you and your family."),
    "care.warranty.subject": _("Your home's warranty ends soon"),
    "care.warranty": _("[Owner Club] The warranty of your home {unit} ends on {date}. Please report anything that needs repair before then."),
    "care.reminder.subject": _("Event reminder"),
    "care.reminder": _("[Owner Club] Reminder: '{title}' is at {at}, {venue}. Bring your ticket."),
    "care.case.subject": _("News about your feedback"),
    "care.case.reply": _("[Owner Club] There is a reply to your feedback '{title}'. Log in to read it."),
    "care.case.resolved": _("[Owner Club] Your feedback '{title}' is resolved: {result}"),
    "care.survey.subject": _("How did we do?"),
    "care.survey.event": _("[Owner Club] Thank you for coming to '{title}'! Please rate it (one minute)."),
    "care.survey.case": _("[Owner Club] Your feedback '{title}' is resolved. Please rate how we handled it."),
    "care.survey.yearly": _("[Owner Club] Our {year} owner satisfaction survey is open. We value your opinion."),
    # To the assignee (or the service team) when a case's clock runs out.
    "care.overdue.subject": _("Overdue case #{case_id}"),
    "care.overdue.reply": _("Case #{case_id} '{title}' has had no first reply in time."),
    "care.overdue.result": _("Case #{case_id} '{title}' has no result in time."),
    "care.overdue.follow_up": _("Case #{case_id} '{title}' was resolved but the follow-up call is overdue."),
    # To the service staff when open cases of one kind gather in one project or building.
    "care.group_warning.subject": _("Group complaint warning: {count} {kind} cases at {where}"),
    "care.group_warning.body": _("{count} open cases of the kind '{kind}' at {where} were opened within a short time. Please look at them together on the service desk and acknowledge the warning."),
    "login_code.sms": _("[Owner Club] Your login code is {code}. It expires in {minutes} minutes. Do not share it."),
}
# Old label keys that name an enumeration value: "tier.gold" is ENUMS["tier"]["gold"].
_ENUM_KEYS = {
    "tier": "tier", "stage": "owner_stage", "gender": "gender", "event_kind": "event_kind",
    "signup_status": "signup_status", "checkin": "checkin_result", "case_kind": "case_kind", "case_status": "case_status",
    "visit_kind": "visit_kind", "visit_outcome": "visit_outcome",
}
# Which value picks the plural form of a counted text.
_COUNTED_BY = {"criterion.units_owned": "need", "criterion.delivered_units": "need", "criterion.signed_referrals": "need",
               "event_full.party": "left"}


def message(key: str, **values: Any) -> Message:
    """The named text `key` with its values, still to be rendered in the reader's locale."""
    text = LABELS[key]
    if text.plural is not None:
        text = replace(text, count=int(values[_COUNTED_BY[key]]))
    return text.format(**values)


def label(key: str, language: str, **values: object) -> str:
    """The named text (or enumeration value, `tier.gold`) in `language`."""
    prefix, _, value = key.partition(".")
    if prefix in _ENUM_KEYS and key not in LABELS:
        return enum_label(_ENUM_KEYS[prefix], value, language)
    return translate(message(key, **values), language)


def cny(fen: int, language: str) -> str:
    """Integer fen in the reader's way of writing money (`loyalty.i18n.format.money`)."""
    return money(fen, language)


def pick_language(accept_language: str | None, default: str = DEFAULT_LOCALE) -> str:
    """zh-CN or en from an Accept-Language header (by q-value); anything Chinese is zh-CN."""
    return negotiate(accept_language) or default
