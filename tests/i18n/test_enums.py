"""Each table of loyalty.i18n.enums names exactly the values its enumeration has in the code: a
value added in the code without words would reach a reader as its identifier, and words kept for
a value that is gone hide the change. The values are imported from where the code keeps them."""

from __future__ import annotations

import re
import typing

import pytest

from loyalty.cards.tables import CARD_STATUSES, CRITERION_KINDS, TIERS
from loyalty.care.cases import CLOCK_NAMES
from loyalty.care.tables import (
    ACCEPTORS, IMPROVEMENT_SOURCES, REPAIR_ITEMS, REPAIR_STATES,
    BROADCAST_KINDS, CASE_SEVERITIES, BROADCAST_STATUSES, CASE_KINDS, CASE_STATUSES, CHANNELS, MESSAGE_KINDS, OUTBOX_STATUSES, VISIT_KINDS,
    VISIT_OUTCOMES, VISIT_STATUSES, SURVEY_KINDS,
)
from loyalty.care.visits import SCOPES as VISIT_SCOPES
from loyalty.dashboards.service import LIABILITY_KINDS
from loyalty.events.schemas import CheckinView
from loyalty.events.tables import EVENT_KINDS, EVENT_STATUSES, SIGNUP_STATUSES
from loyalty.i18n import LOCALES
from loyalty.i18n.catalog import translate
from loyalty.i18n.enums import ENUMS, enum_label, enum_tables
from loyalty.events.series import FESTIVALS
from loyalty.identity.tables import ROLES
from loyalty.members.tables import GENDERS, OWNERSHIP_STATUSES
from loyalty.members.owner_file import COLUMNS as OWNER_FILE_COLUMNS
from loyalty.members.tables import IMPORT_STATUSES
from loyalty.merchants.tables import CATEGORIES as MERCHANT_CATEGORIES
from loyalty.members.tables import STAGES as OWNER_STAGES
from loyalty.points.tables import ENTRY_KINDS
from loyalty.referrals.tables import BENEFICIARIES, LEAD_STAGES
from loyalty.rewards.tables import REDEMPTION_STATUSES, REWARD_KINDS, REWARD_STATUSES
from loyalty.settings import LANGUAGES


def _literal_values(struct: type, field: str) -> tuple[str, ...]:
    """The values of a `Literal` field of a msgspec struct (under its `Annotated` description)."""
    hint = typing.get_type_hints(struct, include_extras=True)[field]
    while typing.get_origin(hint) is typing.Annotated:
        hint = typing.get_args(hint)[0]
    return typing.get_args(hint)


ENUM_VALUES: dict[str, tuple[str, ...]] = {
    "tier": TIERS,
    "owner_stage": OWNER_STAGES,
    "gender": GENDERS,
    "referral_stage": LEAD_STAGES,
    "referral_beneficiary": BENEFICIARIES,
    "event_kind": EVENT_KINDS,
    "event_status": EVENT_STATUSES,
    "festival": tuple(FESTIVALS),
    "reward_kind": REWARD_KINDS,
    "reward_status": REWARD_STATUSES,
    "redemption_status": REDEMPTION_STATUSES,
    # `payment_preparing` is shown for a promoted seat whose payment is not ready yet
    # (loyalty/events/api.py); it is not stored as a status.
    "signup_status": (*SIGNUP_STATUSES, "payment_preparing"),
    "checkin_result": _literal_values(CheckinView, "result"),
    "case_kind": CASE_KINDS,
    "case_status": CASE_STATUSES,
    "case_severity": CASE_SEVERITIES,
    "case_clock": CLOCK_NAMES,
    "visit_kind": VISIT_KINDS,
    "survey_kind": SURVEY_KINDS,
    "visit_status": VISIT_STATUSES,
    "visit_outcome": VISIT_OUTCOMES,
    "visit_scope": VISIT_SCOPES,
    "repair_item": REPAIR_ITEMS,
    "repair_state": REPAIR_STATES,
    "repair_acceptor": ACCEPTORS,
    "improvement_source": IMPROVEMENT_SOURCES,
    "staff_role": ROLES,
    "liability_kind": LIABILITY_KINDS,
    "ledger_entry_kind": ENTRY_KINDS,
    "language": LANGUAGES,
    "message_kind": MESSAGE_KINDS,
    "outbox_status": OUTBOX_STATUSES,
    "channel": CHANNELS,
    "broadcast_kind": tuple(BROADCAST_KINDS),
    "broadcast_status": BROADCAST_STATUSES,
    "tier_rule_kind": CRITERION_KINDS,
    "card_status": CARD_STATUSES,
    "ownership_status": OWNERSHIP_STATUSES,
    "import_status": IMPORT_STATUSES,
    "owner_file_column": tuple(OWNER_FILE_COLUMNS),
    "merchant_category": MERCHANT_CATEGORIES,
    "merchant_status": ("active", "suspended"),
}
_CJK = re.compile(r"[\u3400-\u9fff]")


def test_every_enum_table_is_held_to_its_enum():
    assert set(ENUMS) == set(ENUM_VALUES)


@pytest.mark.parametrize("enum", sorted(ENUM_VALUES))
def test_an_enum_table_names_exactly_its_enums_values(enum: str):
    assert sorted(ENUMS[enum]) == sorted(set(ENUM_VALUES[enum]))


@pytest.mark.parametrize("enum", sorted(ENUM_VALUES))
def test_every_value_has_chinese_words(enum: str):
    """Language names are written in their own language, so only they may stay Latin."""
    untranslated = [
        value for value, words in ENUMS[enum].items()
        if not _CJK.search(translate(words, "zh-CN")) and enum != "language"
    ]
    assert untranslated == []


def test_the_tables_render_in_each_locale():
    assert enum_label("tier", "platinum", "zh-CN") == "铂金卡"
    assert enum_label("tier", "platinum", "en") == "Platinum"
    assert enum_label("tier", "diamond", "zh-CN") == "diamond"  # unknown: shown as it is
    for locale in LOCALES:
        tables = enum_tables(locale)
        assert {enum: sorted(values) for enum, values in tables.items()} == {
            enum: sorted(values) for enum, values in ENUMS.items()
        }
        assert all(text for values in tables.values() for text in values.values())
