"""Nobody can add personal data the owner cannot see: every table of the app tied to members
(found by walking Piccolo's app registry: all loyalty/*/piccolo_app.py apps and Piccolo's own)
is in `loyalty.privacy.inventory.HOLDINGS`, with the export kind that carries it (or why it is
not exported) and what erasure does to it."""

from __future__ import annotations

from piccolo.columns import ForeignKey, Integer, Varchar
from piccolo.table import Table

from loyalty import db
from loyalty.care.tables import DeliveryAttempt
from loyalty.members.tables import Member
from loyalty.privacy import export
from loyalty.privacy.inventory import HOLDINGS, holding, tied_tables


def test_every_table_tied_to_members_is_exported_or_excluded_with_a_reason():
    tied = tied_tables(db.all_tables())

    missing = {table.__name__: why for table, why in tied.items() if holding(table) is None}

    assert not missing, (
        f"tables holding data about members that loyalty/privacy/inventory.py does not cover: {missing}. "
        "Add each to HOLDINGS with the export kind that carries it (and collect it in loyalty/privacy/export.py) "
        "or the reason it is not exported, and say what erasure does to its rows (loyalty/privacy/erasure.py)."
    )


def test_the_walk_finds_a_new_table_with_a_foreign_key_to_members_or_to_what_they_own():
    class Pet(Table, tablename="privacy_test_pet"):
        owner = ForeignKey(references=Member)
        name = Varchar()

    class PetPhoto(Table, tablename="privacy_test_pet_photo"):
        pet = ForeignKey(references=Pet)

    class Visitor(Table, tablename="privacy_test_visitor"):
        phone = Varchar()

    class Reminder(Table, tablename="privacy_test_reminder"):
        member = Integer()

    class Weather(Table, tablename="privacy_test_weather"):
        city = Varchar()

    tied = tied_tables([*db.all_tables(), Pet, PetPhoto, Visitor, Reminder, Weather])

    assert {Pet, PetPhoto, Visitor, Reminder} <= set(tied) and Weather not in tied
    assert tied[PetPhoto] == "pet → Pet"
    # An id kept under a name that is not its table's: a delivery attempt's `message` is an outbox message.
    assert tied[DeliveryAttempt] == "message holds a OutboxMessage id"


def test_the_inventory_names_only_tables_of_the_app_once_each():
    tables = [h.table for h in HOLDINGS]

    assert len(tables) == len(set(tables))
    assert set(tables) <= set(db.all_tables())


def test_every_holding_is_exported_or_says_why_not_and_says_what_erasure_does():
    for item in HOLDINGS:
        name = item.table.__name__
        assert item.on_erasure.strip(), f"{name}: say what erasure does to its rows"
        assert bool(item.exported_as) != bool(item.not_exported_because.strip()), (
            f"{name}: either the export kinds that carry it or the reason it is not exported, not both"
        )
        assert set(item.exported_as) <= set(export.KINDS), f"{name}: unknown export kinds {item.exported_as}"


def test_every_kind_of_the_export_carries_a_table_of_the_inventory():
    claimed = {kind for item in HOLDINGS for kind in item.exported_as}

    assert claimed == set(export.KINDS)
