"""Import the owner database from a file: all or nothing, upsert by phone + unit.

The seeds' first step is "build the old-owner database" from the spreadsheets each sales
office keeps. A file with any bad row imports nothing (unless the caller asks to skip bad
rows), and importing the same file again changes nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from loyalty import clock, db
from loyalty.errors import ImportRejected
from loyalty.i18n import Message, _, _n
from loyalty.cards import service as cards
from loyalty.members import service
from loyalty.members.owner_file import OwnerRow, ParsedFile, RowError, read_owner_file
from loyalty.members.tables import Member, Ownership, Project, Unit

Progress = Callable[[int], None]
_CHUNK = 500


@dataclass
class ImportReport:
    rows: int = 0
    imported_rows: int = 0
    skipped_rows: int = 0
    projects_created: int = 0
    units_created: int = 0
    units_updated: int = 0
    members_created: int = 0
    members_updated: int = 0
    ownerships_created: int = 0
    ownerships_updated: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(
            (
                self.projects_created,
                self.units_created,
                self.units_updated,
                self.members_created,
                self.members_updated,
                self.ownerships_created,
                self.ownerships_updated,
            )
        )

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


async def import_owners(
    path: Path, *, skip_bad_rows: bool = False, region: str = "CN", progress: Progress | None = None
) -> ImportReport:
    """Import a .csv/.xlsx owner file. Raises ImportRejected (with every row error) and writes
    nothing if any row is bad, unless `skip_bad_rows`, which imports the good rows and reports
    the rest. Projects must exist or have a name in the file; units, members and ownerships
    are created or updated in place."""
    return await import_parsed(read_owner_file(path, region), skip_bad_rows=skip_bad_rows, progress=progress)


async def import_parsed(
    parsed: ParsedFile, *, skip_bad_rows: bool = False, progress: Progress | None = None
) -> ImportReport:
    """Write what `owner_file.read_owner_file` accepted, by the rules of `import_owners`
    (the background import parses in a thread first, then calls this)."""
    report = ImportReport(rows=parsed.total, errors=parsed.errors)
    if parsed.errors and not skip_bad_rows:
        raise ImportRejected(_problems_in_rows(parsed.errors), errors=[_error_dict(error) for error in parsed.errors])
    report.skipped_rows = len({error.row for error in parsed.errors})
    async with db.transaction():
        projects = await _projects(parsed.rows, report)
        if report.errors and not skip_bad_rows:
            raise ImportRejected(
                _("Some project codes are unknown; nothing was imported."),
                errors=[_error_dict(error) for error in report.errors],
            )
        rows = _merge_person_fields([row for row in parsed.rows if row.project_code in projects])
        touched_members: set[int] = set()
        report.skipped_rows = len({error.row for error in report.errors})
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            units = await _units(chunk, projects, report)
            members = await _members(chunk, report)
            touched_members.update(members.values())
            await _ownerships(chunk, units, members, projects, report)
            report.imported_rows += len(chunk)
            if progress:
                progress(len(chunk))
        if report.changed:
            await service.refresh_stages(clock.today())
            await cards.on_contracts_changed(sorted(touched_members), clock.today())
    return report


def _problems_in_rows(errors: list[RowError]) -> Message:
    rows = len({error.row for error in errors})
    # i18n: {problems} is e.g. "3 problems"
    problems = _n("{count} problem", "{count} problems", len(errors))
    return _n(
        "{problems} in {count} row; nothing was imported.", "{problems} in {count} rows; nothing was imported.", rows,
        problems=problems,
    )


def _error_dict(error: RowError) -> dict[str, object]:
    """A row error for ImportRejected's `errors`: its reason still a Message, rendered by the
    reader (the job stores it as msgid and values, the command prints it in its locale)."""
    return {"row": error.row, "column": error.column, "reason": error.reason}


async def _projects(rows: list[OwnerRow], report: ImportReport) -> dict[str, int]:
    codes = {row.project_code for row in rows}
    existing = {
        row["code"]: row["id"]
        for row in await Project.select(Project.id, Project.code).where(Project.code.is_in(list(codes) or [""]))
    }
    # A new project needs its name on at least one row, wherever that row is in the file.
    names: dict[str, str] = {}
    for row in rows:
        if row.project_name:
            names.setdefault(row.project_code, row.project_name)
    for code in sorted(codes - existing.keys()):
        if code not in names:
            continue
        created = await Project.insert(Project(code=code, name=names[code])).returning(Project.id)
        existing[code] = created[0]["id"]
        report.projects_created += 1
    for row in rows:
        if row.project_code not in existing:
            report.errors.append(
                RowError(row.row, "project_code", _(
                    "project '{value}' does not exist; add project_name to create it", value=row.project_code
                ))
            )
    return existing


_PERSON_FIELDS = ("birthday", "gender", "language", "notes")


def _merge_person_fields(rows: list[OwnerRow]) -> list[OwnerRow]:
    """An owner of several units may have a birthday or hobbies on any of their rows: every
    row of one phone carries the first non-blank value of each field, and all their tags."""
    merged: dict[str, dict[str, object]] = {}
    tags: dict[str, list[str]] = {}
    for row in rows:
        person = merged.setdefault(row.phone, {})
        for name in _PERSON_FIELDS:
            value = getattr(row, name)
            if value not in (None, "") and name not in person:
                person[name] = value
        tags.setdefault(row.phone, [])
        tags[row.phone].extend(tag for tag in row.tags if tag not in tags[row.phone])
    for row in rows:
        for name, value in merged[row.phone].items():
            setattr(row, name, value)
        row.tags = list(tags[row.phone])
    return rows


def _unit_key(project_id: int, row: OwnerRow) -> tuple[int, str, str, str]:
    return (project_id, row.phase, row.building, row.room)


async def _units(rows: list[OwnerRow], projects: dict[str, int], report: ImportReport) -> dict[tuple[int, str, str, str], int]:
    project_ids = list({projects[row.project_code] for row in rows})
    found = await Unit.select(
        Unit.id, Unit.project, Unit.phase, Unit.building, Unit.room, Unit.area_sqm, Unit.contract_price_fen
    ).where(Unit.project.is_in(project_ids) & Unit.building.is_in(list({row.building for row in rows})))
    units = {(u["project"], u["phase"], u["building"], u["room"]): u for u in found}
    ids: dict[tuple[int, str, str, str], int] = {}
    for row in rows:
        key = _unit_key(projects[row.project_code], row)
        if key in ids:
            continue
        current = units.get(key)
        if current is None:
            created = await Unit.insert(
                Unit(
                    project=key[0],
                    phase=row.phase,
                    building=row.building,
                    room=row.room,
                    area_sqm=row.area_sqm,
                    contract_price_fen=row.contract_price_fen,
                )
            ).returning(Unit.id)
            ids[key] = created[0]["id"]
            report.units_created += 1
            continue
        ids[key] = current["id"]
        changes = {}
        if row.area_sqm is not None and current["area_sqm"] != row.area_sqm:
            changes[Unit.area_sqm] = row.area_sqm
        if row.contract_price_fen is not None and current["contract_price_fen"] != row.contract_price_fen:
            changes[Unit.contract_price_fen] = row.contract_price_fen
        if changes:
            await Unit.update(changes).where(Unit.id == current["id"])
            report.units_updated += 1
    return ids


async def _members(rows: list[OwnerRow], report: ImportReport) -> dict[str, int]:
    phones = list({row.phone for row in rows})
    found = {m["phone"]: m for m in await Member.select().where(Member.phone.is_in(phones)).output(load_json=True)}
    ids: dict[str, int] = {}
    for row in rows:
        if row.phone in ids:
            continue
        current = found.get(row.phone)
        if current is None:
            created = await Member.insert(
                Member(
                    name=row.name,
                    phone=row.phone,
                    birthday=row.birthday,
                    gender=row.gender or "unknown",
                    language=row.language or "zh-CN",
                    tags=service.clean_tags(row.tags),
                    notes=row.notes,
                )
            ).returning(Member.id)
            ids[row.phone] = created[0]["id"]
            report.members_created += 1
            continue
        ids[row.phone] = current["id"]
        # Blank cells never clear what an owner or staff already entered.
        wanted = {
            Member.name: row.name,
            Member.birthday: row.birthday,
            Member.gender: row.gender,
            Member.language: row.language,
            Member.tags: service.clean_tags(row.tags) or None,
            Member.notes: row.notes or None,
        }
        changes = {
            column: value
            for column, value in wanted.items()
            if value is not None and current[column._meta.name] != value
        }
        if changes:
            changes[Member.updated_at] = clock.now()
            await Member.update(changes).where(Member.id == current["id"])
            report.members_updated += 1
    return ids


async def _ownerships(
    rows: list[OwnerRow],
    units: dict[tuple[int, str, str, str], int],
    members: dict[str, int],
    projects: dict[str, int],
    report: ImportReport,
) -> None:
    member_ids = list(set(members.values()))
    found = {
        (o["member"], o["unit"]): o
        for o in await Ownership.select(
            Ownership.id, Ownership.member, Ownership.unit, Ownership.contract_date, Ownership.delivery_date, Ownership.status
        ).where(Ownership.member.is_in(member_ids))
    }
    for row in rows:
        member_id = members[row.phone]
        unit_id = units[_unit_key(projects[row.project_code], row)]
        current = found.get((member_id, unit_id))
        if current is None:
            await Ownership.insert(
                Ownership(
                    member=member_id, unit=unit_id, contract_date=row.contract_date, delivery_date=row.delivery_date
                )
            )
            report.ownerships_created += 1
            continue
        changes = {}
        if current["contract_date"] != row.contract_date:
            changes[Ownership.contract_date] = row.contract_date
        if row.delivery_date is not None and current["delivery_date"] != row.delivery_date:
            changes[Ownership.delivery_date] = row.delivery_date
        if current["status"] != "active":
            changes[Ownership.status] = "active"
        if changes:
            await Ownership.update(changes).where(Ownership.id == current["id"])
            report.ownerships_updated += 1
