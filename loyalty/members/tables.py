"""Projects (楼盘), units (期/幢/室), members and ownership."""

from piccolo.columns import (
    JSON,
    BigInt,
    Boolean,
    Bytea,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

STAGES = ("prospect", "pre_owner", "settling", "stable", "veteran")
GENDERS = ("female", "male", "unknown")
# `erased`: the owner's data was erased on request (loyalty.privacy); the row stays for the
# sales history (new buyers per month) but no longer makes its member an owner.
OWNERSHIP_STATUSES = ("active", "transferred", "erased")
IMPORT_STATUSES = ("queued", "running", "done", "failed")


class Project(Table):
    """A development (楼盘/项目)."""

    code = Varchar(length=32, unique=True)
    name = Varchar(length=100)
    name_en = Varchar(length=100, default="")
    city = Varchar(length=50, default="")
    created_at = Timestamptz(default=TimestamptzNow())


class Unit(Table):
    """One home: project, phase (期), building (幢), room (室). The address is unique per
    project (a unique index in migrations/members, since Piccolo's composite constraints
    do not yet work on SQLite)."""

    project = ForeignKey(references=Project, null=False, on_delete=OnDelete.restrict)
    phase = Varchar(length=20, default="")
    building = Varchar(length=20)
    room = Varchar(length=20)
    area_sqm = Numeric(digits=(10, 2), null=True, default=None)
    # Money is integer fen, never a float.
    contract_price_fen = BigInt(null=True, default=None)
    warranty_end = Date(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class Member(Table):
    """A person in the owner database. `stage` is derived from ownership dates by
    `members.stages`, refreshed on every import and daily by a job; nobody types it."""

    name = Varchar(length=100)
    phone = Varchar(length=20, unique=True)  # E.164
    email = Varchar(length=254, default="")  # where care messages go when set (else SMS)
    birthday = Date(null=True, default=None)
    gender = Varchar(length=10, default="unknown")
    language = Varchar(length=10, default="zh-CN")
    tags = JSON(default="[]")
    notes = Text(default="")
    stage = Varchar(length=16, default="prospect", index=True)
    # Logging out ends every session issued before this moment (sessions live in the cookie).
    sessions_revoked_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    # Set when the owner's personal data was erased on request (PIPL, loyalty.privacy): the
    # row stays, anonymised, so the ledger, sales and signups keep their member; sessions die.
    erased_at = Timestamptz(null=True, default=None)


class Ownership(Table):
    """Member ↔ unit. Co-owners are several rows for one unit; (member, unit) is unique."""

    member = ForeignKey(references=Member, null=False, index=True, on_delete=OnDelete.restrict)
    unit = ForeignKey(references=Unit, null=False, index=True, on_delete=OnDelete.restrict)
    contract_date = Date(null=True, default=None)
    delivery_date = Date(null=True, default=None)
    status = Varchar(length=16, default="active")
    created_at = Timestamptz(default=TimestamptzNow())


class OwnerImport(Table):
    """An owner file uploaded by staff, imported by a background job (`members.imports`),
    and the progress staff poll. The file waits in `content` until its import ends, then is
    deleted; what stays is counts and a bounded error report: row, column and reason, with
    no cell's value in it (a report outlives the file and must hold nobody's name or phone)."""

    file_name = Varchar(length=255)
    content = Bytea(default=b"")
    skip_bad_rows = Boolean(default=False)
    status = Varchar(length=10, default="queued", index=True)
    started_by = Integer(null=True, default=None)  # the staff account that uploaded it
    rows_total = Integer(null=True, default=None)  # known once the file is read
    rows_processed = Integer(default=0)  # rows read and checked so far
    rows_imported = Integer(default=0)
    rows_skipped = Integer(default=0)
    error_count = Integer(default=0)
    errors = JSON(default="[]")  # the first few row errors (members.imports.REPORTED_ERRORS)
    summary = JSON(default="{}")  # what was created and updated
    detail = Text(default="")  # why it failed, in a sentence
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    started_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)
