"""What the member and staff faces show of the owner database."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from loyalty.cards.tables import TIERS
from loyalty.members.stages import STAGES
from loyalty.members.tables import GENDERS, IMPORT_STATUSES, OWNERSHIP_STATUSES
from loyalty.openapi_contract import checked_enum
from loyalty.settings import LANGUAGES

STAGE_WORDS = ("prospect: no signed contract | pre_owner 准业主: signed, no home delivered yet | settling 磨合期: the "
               "first year after the first delivery | stable 稳定期: years two and three | veteran 老业主: from the "
               "fourth year on")
Stage = Annotated[Literal[STAGES], msgspec.Meta(description="the lifecycle stage: " + STAGE_WORDS, examples=["settling"])]
GENDER_WORDS = "female | male | unknown (not given)"
LANGUAGE_WORDS = "the language messages and labels use: zh-CN (Chinese) or en (English)"
Phone = Annotated[str, msgspec.Meta(description="mobile number, E.164", examples=["+8613800138000"])]


class OwnedUnit(msgspec.Struct):
    unit_id: int
    project_code: str
    project_name: str
    project_name_en: str
    phase: str
    building: str
    room: str
    area_sqm: str | None
    contract_date: date | None
    delivery_date: date | None
    status: Annotated[
        Literal[OWNERSHIP_STATUSES],
        msgspec.Meta(description="active: the member owns it | transferred: sold on (kept for the history) | erased: "
                     "the owner's data was erased", examples=["active"]),
    ]


class MemberProfile(msgspec.Struct):
    id: int
    name: Annotated[str, msgspec.Meta(examples=["张伟"])]
    phone: Phone
    birthday: date | None
    gender: Annotated[Literal[GENDERS], msgspec.Meta(description=GENDER_WORDS, examples=["female"])]
    language: Annotated[Literal[LANGUAGES], msgspec.Meta(description=LANGUAGE_WORDS, examples=["zh-CN"])]
    tags: list[str]
    stage: Stage
    stage_label: Annotated[str, msgspec.Meta(description="the stage's name in the caller's language",
                                             examples=["磨合期业主"])]
    units: list[OwnedUnit]


class ProfileUpdate(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """The fields an owner may change about themselves. Name and phone are identity: staff
    change those, so they are refused here as unknown fields."""

    birthday: date | None | msgspec.UnsetType = msgspec.UNSET
    gender: Annotated[str, checked_enum(GENDERS, GENDER_WORDS, "female")] | msgspec.UnsetType = msgspec.UNSET
    language: Annotated[str, checked_enum(LANGUAGES, LANGUAGE_WORDS, "en")] | msgspec.UnsetType = msgspec.UNSET
    tags: list[str] | msgspec.UnsetType = msgspec.UNSET


class MemberSummary(msgspec.Struct):
    id: int
    name: Annotated[str, msgspec.Meta(examples=["张伟"])]
    phone: Annotated[str, msgspec.Meta(description="mobile number, E.164; masked in the staff search (+86138****8000)",
                                       examples=["+86138****8000"])]
    stage: Stage
    units: Annotated[int, msgspec.Meta(description="homes the member owns now (active ownerships)")]
    tier: Annotated[
        Literal[TIERS] | None,
        msgspec.Meta(description="the current card's tier (platinum, gold, silver, blue); null without a card",
                     examples=["gold"]),
    ] = None
    card_number: Annotated[str | None, msgspec.Meta(description="the current card's number, masked",
                                                    examples=["8860 **** **** 1234"])] = None


class CoOwner(msgspec.Struct):
    member_id: int
    name: Annotated[str, msgspec.Meta(examples=["王芳"])]


class StaffOwnership(msgspec.Struct):
    """One of a member's contracts, as the staff member page shows it: the unit, its dates and
    price, its status, and the other members who own the same unit now."""

    ownership_id: int
    unit_id: int
    project_id: int
    project_code: str
    project_name: str
    project_name_en: str
    phase: str
    building: str
    room: str
    contract_date: date | None
    delivery_date: date | None
    contract_price_fen: Annotated[int | None, msgspec.Meta(description="the unit's contract price in fen (元 × 100)")]
    status: Annotated[
        Literal[OWNERSHIP_STATUSES],
        msgspec.Meta(description="active: the member owns it | transferred: sold on (kept for the history) | erased: "
                     "the owner's data was erased", examples=["active"]),
    ]
    co_owners: list[CoOwner]


class MemberPage(msgspec.Struct):
    items: list[MemberSummary]
    next_cursor: int | None


class OwnershipCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A signed contract entered by staff."""

    project_id: int
    building: str
    room: str
    contract_date: date
    phase: str = ""
    delivery_date: date | None = None
    contract_price_fen: int | None = None


class OwnershipTransfer(msgspec.Struct, forbid_unknown_fields=True):
    reason: str


class ImportRowError(msgspec.Struct):
    row: int
    column: str
    reason: str


class OwnerImportSummary(msgspec.Struct):
    """One uploaded owner file and how far its import has come. `status`: queued → running →
    done | failed. `rows_total` is counted at upload and made exact once the file is read;
    `rows_processed` counts rows read and checked; the rows are written in one transaction
    (all or nothing), so `rows_imported` is known when the import is done."""

    id: int
    file_name: Annotated[str, msgspec.Meta(examples=["2026年12月业主名册.xlsx"])]
    status: Annotated[
        Literal[IMPORT_STATUSES],
        msgspec.Meta(description="queued: waiting for a worker | running: being read and checked | done: imported "
                     "(see rows_imported) | failed: nothing imported (see detail and errors)", examples=["done"]),
    ]
    skip_bad_rows: bool
    started_by: int | None
    started_by_name: Annotated[str | None, msgspec.Meta(description="who uploaded it: the staff member's name")]
    rows_total: int | None
    rows_processed: int
    rows_imported: int
    rows_skipped: int
    error_count: int
    summary: dict[str, int]
    detail: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class OwnerImportView(OwnerImportSummary):
    """With the error report: the first `errors` of `error_count` (row, column, reason; the
    row and column say where to look in the file, the reason quotes no cell's value)."""

    errors: list[ImportRowError]


class PreviewProject(msgspec.Struct):
    code: Annotated[str, msgspec.Meta(examples=["HZ-JLW"])]
    name: Annotated[str, msgspec.Meta(description="as the file writes it, else as the club knows it", examples=["锦澜湾"])]
    name_en: str
    known: Annotated[bool, msgspec.Meta(description="false: the import will create this project")]


class OwnerFilePreview(msgspec.Struct):
    """What an owner file holds, before its import starts: the staff page asks with these
    words first. Nothing is stored; the rows are checked when the import runs."""

    file_name: str
    rows: Annotated[int, msgspec.Meta(description="non-empty rows below the header: the owners it holds at most")]
    projects: Annotated[list[PreviewProject], msgspec.Meta(description="the projects it names (at most 20)")]
