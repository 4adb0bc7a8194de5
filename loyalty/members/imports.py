"""Owner imports off the request path: an uploaded owner file is checked against the upload
limits, stored with a progress record (`OwnerImport`), and imported by a background job.

An import of 100,000 rows held the only web process for 30 seconds; now the upload answers
at once and the job reads the file in a thread, so the server keeps answering. The rules of
the import itself are `members.importer`'s: all or nothing unless skip-bad-rows, re-import
changes nothing. The `loyalty import-owners` command calls the importer directly.
"""

from __future__ import annotations

import logging
import re
import tempfile
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread

from loyalty import clock, db, jobs
from loyalty.errors import DomainError, ImportRejected, NotFound, UploadTooLarge
from loyalty.i18n import Message, _, translate
from loyalty.i18n import stored
from loyalty.members import importer
from loyalty.members.file_checks import FileLimits, check_owner_file
from loyalty.members.owner_file import read_owner_file
from loyalty.audit import service as audit
from loyalty.identity import service as identity
from loyalty.members.owner_file import projects_in
from loyalty.members.schemas import (
    ImportRowError, OwnerFilePreview, OwnerImportSummary, OwnerImportView, PreviewProject,
)
from loyalty.members.tables import OwnerImport, Project
from loyalty.settings import Settings

log = logging.getLogger("loyalty.members.imports")

JOB = "loyalty.members.import_owners"
# The error report keeps the first this many row errors (and counts them all): a file of
# 100,000 bad rows once answered with a 7.6 MB body.
REPORTED_ERRORS = 100
# A reason may quote the cell it is about ('1391234567' is not a valid phone number; the
# same phone has the name '王芳' in row 2). The report outlives the file, so quoted values go:
# a reason's text values (the cells) are stored as "…", its numbers (rows, limits) stay.
# Reasons and the failure's detail are stored as msgid and values (`loyalty.i18n.stored`),
# and rendered in the locale of whoever reads the report.
HIDDEN = "…"
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_SUMMARY = (
    "projects_created", "units_created", "units_updated", "members_created", "members_updated",
    "ownerships_created", "ownerships_updated",
)
_MB = 1024 * 1024
# A job is sent within a second of its upload; one still queued after this was never sent.
_NEVER_SENT = timedelta(minutes=2)


async def start_import(
    path: Path, *, file_name: str, skip_bad_rows: bool, staff_id: int | None, settings: Settings, locale: str = "zh-CN"
) -> OwnerImportView:
    """Queue the import of the owner file at `path` (the upload's form field `data`): refused
    at once if it is over a limit of the upload (size, rows, cell length, an .xlsx that
    unpacks to too much) or is not a .csv/.xlsx file; nothing of the owner database changes
    until the job runs. The file is read in a thread, never on the event loop."""
    size = path.stat().st_size
    if size > settings.import_max_file_bytes:
        raise upload_too_large(settings)
    limits = FileLimits.from_settings(settings)
    rows = await anyio.to_thread.run_sync(check_owner_file, path, limits, "data")
    content = await anyio.to_thread.run_sync(path.read_bytes)
    async with db.transaction():
        created = await OwnerImport.insert(
            OwnerImport(
                file_name=file_name[:255], content=content, skip_bad_rows=skip_bad_rows, started_by=staff_id,
                rows_total=rows,
            )
        ).returning(OwnerImport.id)
        await audit.record(
            action="owner_import.start", subject_kind="owner_import", subject_id=created[0]["id"], actor_id=staff_id,
            data={"file_name": file_name[:255], "rows": rows, "skip_bad_rows": skip_bad_rows},
        )
    import_id = created[0]["id"]
    await jobs.enqueue(JOB, import_id)  # after the commit: the job must find the row
    return await get_import(import_id, locale)


def upload_too_large(settings: Settings) -> UploadTooLarge:
    limit = settings.import_max_file_bytes
    return UploadTooLarge(
        _(
            "an owner file may have at most {size:,.1f} MB; split it, or run `loyalty import-owners` on the server",
            size=limit / _MB,
        ),
        field="data", limit=limit,
    )


async def run_import(import_id: int) -> None:
    """The job: import one uploaded file, recording progress and the outcome on its record.
    Idempotent: it claims the import (queued → running) and leaves one that another run holds
    or has finished alone; a run that died is taken over once its claim is older than the
    job visibility timeout (a broker hands the job out again then), and starts over, which is
    safe because the import is all or nothing and re-importing a file changes nothing."""
    settings = jobs.current_settings()
    if not await _claim(import_id, settings):
        return
    stored = await OwnerImport.select(OwnerImport.file_name, OwnerImport.content, OwnerImport.skip_bad_rows).where(
        OwnerImport.id == import_id
    ).first()
    assert stored is not None  # claimed just now
    try:
        parsed = await anyio.to_thread.run_sync(
            partial(_read, stored["file_name"], bytes(stored["content"]), import_id, settings)
        )
        await OwnerImport.update(
            {OwnerImport.rows_total: parsed.total, OwnerImport.rows_processed: parsed.total}
        ).where(OwnerImport.id == import_id)
        report = await importer.import_parsed(parsed, skip_bad_rows=stored["skip_bad_rows"])
    except ImportRejected as rejected:
        errors = rejected.extra.get("errors", [])
        await _finish(import_id, "failed", detail=rejected.detail, errors=errors)
        return
    except DomainError as refused:  # the file as a whole: too many rows, unreadable, ...
        await _finish(import_id, "failed", detail=refused.detail, errors=[])
        return
    except Exception:
        await _finish(
            import_id, "failed", detail=_("The import stopped on an unexpected error; nothing was imported."), errors=[]
        )
        raise  # logged with its traceback by the job runner
    await _finish(
        import_id, "done", errors=[vars(error) for error in report.errors],
        rows_imported=report.imported_rows, rows_skipped=report.skipped_rows,
        summary={name: getattr(report, name) for name in _SUMMARY},
    )


async def resume_imports() -> int:
    """Beat: queue again the imports whose job never came (the broker was down at the upload:
    `jobs.enqueue` gave up) or whose worker died mid-import; returns how many. The job's claim
    makes a second delivery of one still on its way harmless."""
    now = clock.now()
    abandoned = now - timedelta(seconds=jobs.current_settings().job_visibility_timeout_seconds)
    stuck = await OwnerImport.select(OwnerImport.id).where(
        ((OwnerImport.status == "queued") & (OwnerImport.created_at < now - _NEVER_SENT))
        | ((OwnerImport.status == "running") & (OwnerImport.started_at < abandoned))
    )
    for row in stuck:
        await jobs.enqueue(JOB, row["id"])
    return len(stuck)


def _read(file_name: str, content: bytes, import_id: int, settings: Settings) -> Any:
    """In a worker thread: parse and check the file, reporting progress to the record."""
    suffix = Path(file_name).suffix.lower()

    def progress(rows: int) -> None:
        anyio.from_thread.run(_progress, import_id, rows)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"owners{suffix}"
        path.write_bytes(content)
        return read_owner_file(
            path, settings.default_region, limits=FileLimits.from_settings(settings), progress=progress
        )


async def _progress(import_id: int, rows: int) -> None:
    await OwnerImport.update({OwnerImport.rows_processed: rows}).where(OwnerImport.id == import_id)


async def _claim(import_id: int, settings: Settings) -> bool:
    now = clock.now()
    abandoned = now - timedelta(seconds=settings.job_visibility_timeout_seconds)
    claimed = await OwnerImport.update(
        {OwnerImport.status: "running", OwnerImport.started_at: now, OwnerImport.rows_processed: 0}
    ).where(
        (OwnerImport.id == import_id)
        & (
            (OwnerImport.status == "queued")
            | ((OwnerImport.status == "running") & (OwnerImport.started_at < abandoned))
        )
    ).returning(OwnerImport.id)
    return bool(claimed)


async def _finish(
    import_id: int, status: str, *, errors: list[dict[str, Any]], detail: Message | str = "", **counts: Any
) -> None:
    """Record the outcome and delete the stored file: the record keeps no owner's data."""
    await OwnerImport.update(
        {
            OwnerImport.status: status,
            OwnerImport.detail: stored.to_text(detail),
            OwnerImport.error_count: len(errors),
            OwnerImport.errors: [_reported(error) for error in errors[:REPORTED_ERRORS]],
            OwnerImport.content: b"",
            OwnerImport.finished_at: clock.now(),
            **{getattr(OwnerImport, name): value for name, value in counts.items()},
        }
    ).where(OwnerImport.id == import_id)


def _reported(error: dict[str, Any]) -> dict[str, Any]:
    return {"row": error["row"], "column": error["column"], "reason": stored.to_data(_without_cells(error["reason"]))}


def _without_cells(reason: Message | str) -> Message | str:
    if not isinstance(reason, Message):
        return _QUOTED.sub(HIDDEN, reason)
    values = {
        key: _without_cells(value) if isinstance(value, Message) else HIDDEN if isinstance(value, str) else value
        for key, value in reason.values.items()
    }
    return Message(reason.msgid, reason.plural, reason.count, reason.context, values)


_SUMMARY_COLUMNS = tuple(column for column in OwnerImport._meta.columns if column._meta.name not in ("content", "errors"))


async def get_import(import_id: int, locale: str) -> OwnerImportView:
    """One import with its progress and error report, in `locale`."""
    row = await OwnerImport.select(*_SUMMARY_COLUMNS, OwnerImport.errors).where(
        OwnerImport.id == import_id
    ).output(load_json=True).first()
    if row is None:
        raise NotFound(_("There is no owner import {id}.", id=import_id))
    errors = [
        ImportRowError(row=error["row"], column=error["column"], reason=translate(stored.from_data(error["reason"]), locale))
        for error in row.pop("errors")
    ]
    return OwnerImportView(**_plain(row, locale, await _names([row])), errors=errors)


async def list_imports(locale: str, limit: int = 20) -> list[OwnerImportSummary]:
    """The most recent imports first (without their error reports)."""
    rows = await OwnerImport.select(*_SUMMARY_COLUMNS).order_by(OwnerImport.id, ascending=False).limit(
        limit
    ).output(load_json=True)
    names = await _names(rows)
    return [OwnerImportSummary(**_plain(row, locale, names)) for row in rows]


def _plain(row: dict[str, Any], locale: str, names: dict[int, str]) -> dict[str, Any]:
    detail = translate(stored.from_text(row["detail"]), locale)
    return {
        **row, "skip_bad_rows": bool(row["skip_bad_rows"]), "detail": detail,
        "started_by_name": names.get(row["started_by"]) if row["started_by"] is not None else None,
    }


async def _names(rows: list[dict[str, Any]]) -> dict[int, str]:
    return await identity.staff_names({row["started_by"] for row in rows if row["started_by"] is not None})


async def preview(path: Path, *, file_name: str, settings: Settings) -> OwnerFilePreview:
    """What an uploaded owner file holds (its rows, the projects it names, which of them the club
    knows), checked against the upload limits as `start_import` checks it; nothing is stored.
    The staff page says this before the import starts."""
    limits = FileLimits.from_settings(settings)
    rows = await anyio.to_thread.run_sync(check_owner_file, path, limits, "data")
    named = await anyio.to_thread.run_sync(projects_in, path)
    known = {
        row["code"]: row for row in await Project.select(Project.code, Project.name, Project.name_en).where(
            Project.code.is_in([code for code, _name in named] or [""])
        )
    }
    projects = [
        PreviewProject(
            code=code, name=name or (known[code]["name"] if code in known else ""),
            name_en=known[code]["name_en"] if code in known else "", known=code in known,
        )
        for code, name in named
    ]
    return OwnerFilePreview(file_name=file_name, rows=rows, projects=projects)
