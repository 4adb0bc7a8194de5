"""What the member and staff faces show of the owner database."""

from __future__ import annotations

from datetime import date, datetime

import msgspec



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
    status: str


class MemberProfile(msgspec.Struct):
    id: int
    name: str
    phone: str
    birthday: date | None
    gender: str
    language: str
    tags: list[str]
    stage: str
    stage_label: str
    units: list[OwnedUnit]


class ProfileUpdate(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """The fields an owner may change about themselves. Name and phone are identity: staff
    change those, so they are refused here as unknown fields."""

    birthday: date | None | msgspec.UnsetType = msgspec.UNSET
    gender: str | msgspec.UnsetType = msgspec.UNSET
    language: str | msgspec.UnsetType = msgspec.UNSET
    tags: list[str] | msgspec.UnsetType = msgspec.UNSET


class MemberSummary(msgspec.Struct):
    id: int
    name: str
    phone: str
    stage: str
    units: int


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
    file_name: str
    status: str
    skip_bad_rows: bool
    started_by: int | None
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
