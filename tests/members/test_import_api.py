"""`/api/v1/staff/owner-imports`: admins upload an owner file (multipart field `data`); it is
imported by a background job and they poll its progress (members/imports.py)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import tracemalloc
import zipfile
from pathlib import Path
from typing import AsyncIterator

import httpx
import pytest
from openpyxl import Workbook

from loyalty import jobs
from loyalty.app import create_app
from loyalty.identity.service import create_staff
from loyalty.members import imports
from loyalty.members.tables import OwnerImport
from tests.members.owner_files import NOTHING, counts, member_by_phone, owner_row, write_owner_file

URL = "/api/v1/staff/owner-imports"


async def log_in(client, role: str) -> None:
    await create_staff(f"{role}1", "long-password-1", role)
    response = await client.post("/api/v1/auth/staff-sessions", json={"username": f"{role}1", "password": "long-password-1"})
    assert response.status_code == 201, response.text


def upload(path: Path) -> dict:
    return {"data": (path.name, path.read_bytes(), "application/octet-stream")}


async def finished(client: httpx.AsyncClient, response: httpx.Response) -> dict:
    """The import a 202 answer queued, once its job (a task of this process: no broker) ended."""
    assert response.status_code == 202, response.text
    await jobs.settle()
    progress = await client.get(response.headers["location"])
    assert progress.status_code == 200, progress.text
    return progress.json()


@contextlib.asynccontextmanager
async def app_client(database, **overrides: object) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app with other settings (the limits), logged in as an admin."""
    app = create_app(database.settings(**overrides), engine=database.engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        await log_in(client, "admin")
        yield client


async def test_an_upload_answers_202_with_the_address_of_its_progress_and_the_import_ends_done_with_its_counts(
    client, database, tmp_path
):
    await log_in(client, "admin")
    path = write_owner_file(tmp_path / "业主.xlsx", [owner_row(), owner_row(name="李强", phone="13912345678")], chinese=True)

    response = await client.post(URL, files=upload(path))

    assert response.status_code == 202, response.text
    queued = response.json()
    assert response.headers["location"] == f"{URL}/{queued['id']}"
    assert (queued["file_name"], queued["rows_total"], queued["rows_imported"]) == ("业主.xlsx", 2, 0)
    done = await finished(client, response)
    assert (done["status"], done["rows_total"], done["rows_processed"], done["rows_imported"], done["rows_skipped"]) == (
        "done", 2, 2, 2, 0
    )
    assert (done["error_count"], done["errors"], done["detail"]) == (0, [], "")
    assert done["summary"]["members_created"] == done["summary"]["ownerships_created"] == 2
    assert done["started_at"] and done["finished_at"]
    assert await counts() == {"project": 1, "unit": 1, "member": 2, "ownership": 2}
    assert (await member_by_phone("+8613912345678"))["name"] == "李强"
    again = await finished(client, await client.post(URL, files=upload(path)))
    assert again["status"] == "done"
    assert again["summary"]["members_created"] == again["summary"]["members_updated"] == again["summary"]["ownerships_created"] == 0


async def test_the_stored_file_is_deleted_when_its_import_ends(client, database, tmp_path):
    await log_in(client, "admin")
    path = write_owner_file(tmp_path / "owners.csv", [owner_row()])

    response = await client.post(URL, files=upload(path))
    await finished(client, response)

    stored = await OwnerImport.select(OwnerImport.content).where(OwnerImport.id == response.json()["id"]).first()
    assert bytes(stored["content"]) == b""


async def test_a_file_with_a_bad_phone_ends_failed_naming_row_and_column_and_imports_nothing(client, database, tmp_path):
    await log_in(client, "admin")
    path = write_owner_file(tmp_path / "owners.csv", [owner_row(), owner_row(name="李强", phone="1391234567", room="1202")])

    response = await client.post(URL, files=upload(path))
    failed = await finished(client, response)
    in_english = (await client.get(response.headers["location"], headers={"Accept-Language": "en"})).json()

    assert failed["status"] == "failed"
    assert [(error["row"], error["column"]) for error in failed["errors"]] == [(3, "phone")]
    assert failed["error_count"] == 1 and failed["rows_imported"] == 0
    assert failed["detail"] == "1 行中共有 1 个问题，未导入任何数据。"  # the staff member's locale: zh-CN by default
    assert in_english["detail"] == "1 problem in 1 row; nothing was imported."
    assert await counts() == NOTHING


async def test_the_stored_error_report_quotes_no_cell_so_it_holds_no_owners_phone_or_name(client, database, tmp_path):
    await log_in(client, "admin")
    rows = [owner_row(), owner_row(name="李强", phone="1391234567", room="1202"), owner_row(name="王小芳", room="1203")]

    failed = await finished(client, await client.post(URL, files=upload(write_owner_file(tmp_path / "owners.csv", rows))))

    report = json.dumps(failed["errors"], ensure_ascii=False)
    assert [(error["row"], error["column"]) for error in failed["errors"]] == [(3, "phone"), (4, "phone")]
    assert "1391234567" not in report and "王芳" not in report and "王小芳" not in report


async def test_a_failed_import_of_many_bad_rows_reports_the_first_hundred_and_counts_them_all(client, database, tmp_path):
    await log_in(client, "admin")
    rows = [owner_row(name=f"业主{n}", phone=f"1380013{n:04d}", room=str(n), contract_date="不是日期") for n in range(300)]

    response = await client.post(URL, files=upload(write_owner_file(tmp_path / "owners.csv", rows)))
    failed = await finished(client, response)
    in_english = (await client.get(response.headers["location"], headers={"Accept-Language": "en"})).json()

    assert (failed["status"], failed["error_count"], len(failed["errors"])) == ("failed", 300, imports.REPORTED_ERRORS)
    # Stored as words and values, read in each reader's locale; the cell's value is never kept.
    assert failed["errors"][0] == {"row": 2, "column": "contract_date", "reason": "「…」不是日期（格式为 YYYY-MM-DD）"}
    assert in_english["errors"][0] == {"row": 2, "column": "contract_date", "reason": "'…' is not a date (write YYYY-MM-DD)"}
    assert await counts() == NOTHING


async def test_with_skip_bad_rows_the_good_rows_are_imported_and_the_bad_ones_reported(client, database, tmp_path):
    await log_in(client, "admin")
    path = write_owner_file(tmp_path / "owners.csv", [owner_row(), owner_row(name="李强", phone="1391234567", room="1202")])

    done = await finished(client, await client.post(URL, params={"skip_bad_rows": "true"}, files=upload(path)))

    assert (done["status"], done["skip_bad_rows"], done["rows_imported"], done["rows_skipped"]) == ("done", True, 1, 1)
    assert [(error["row"], error["column"]) for error in done["errors"]] == [(3, "phone")]
    assert await counts() == {"project": 1, "unit": 1, "member": 1, "ownership": 1}


@pytest.mark.postgres_only  # SQLite has one writer: a gate on writes would stop the upload's own row too
async def test_the_server_answers_while_an_import_runs_and_the_upload_does_not_wait_for_it(client, database, tmp_path):
    """The import is held at its first write to `member` by another connection's table lock:
    the upload still answers 202, /health and the progress answer, and only after the lock
    goes does the import end. (Before, the upload ran the import itself: it waited.)"""
    import asyncpg

    await log_in(client, "admin")
    path = write_owner_file(tmp_path / "owners.csv", [owner_row(name=f"业主{n}", phone=f"1380013{n:04d}", room=str(n)) for n in range(50)])
    gate = await asyncpg.connect(database.url)
    try:
        async with asyncio.timeout(60):  # a guard against a hang, not a measurement
            held = gate.transaction()
            await held.start()
            await gate.execute("LOCK TABLE member IN EXCLUSIVE MODE")  # reads pass, writes wait
            response = await client.post(URL, files=upload(path))
            assert response.status_code == 202, response.text
            location = response.headers["location"]
            while (progress := (await client.get(location)).json())["rows_processed"] < 50:
                await asyncio.sleep(0.01)  # until the job has read the file and waits at the lock

            health = await client.get("/health")

            assert health.status_code == 200
            assert progress["status"] == "running"
            assert (await client.get(location)).json()["status"] == "running"
            await held.rollback()
    finally:
        await gate.close()
    done = await finished(client, response)
    assert (done["status"], done["rows_imported"]) == ("done", 50)
    assert (await counts())["member"] == 50


async def test_the_list_shows_recent_imports_newest_first_without_their_error_reports(client, database, tmp_path):
    await log_in(client, "admin")
    good = write_owner_file(tmp_path / "good.csv", [owner_row()])
    bad = write_owner_file(tmp_path / "bad.csv", [owner_row(phone="1")])
    first = (await client.post(URL, files=upload(good))).json()["id"]
    second = (await client.post(URL, files=upload(bad))).json()["id"]
    await jobs.settle()

    listed = (await client.get(URL)).json()

    assert [(item["id"], item["file_name"], item["status"]) for item in listed] == [
        (second, "bad.csv", "failed"), (first, "good.csv", "done")
    ]
    assert "errors" not in listed[0] and listed[0]["error_count"] == 1


async def test_an_import_that_does_not_exist_is_404(client, database):
    await log_in(client, "admin")
    assert (await client.get(f"{URL}/999999")).status_code == 404


async def test_running_the_job_again_for_a_finished_import_changes_nothing(client, database, tmp_path):
    await log_in(client, "admin")
    response = await client.post(URL, files=upload(write_owner_file(tmp_path / "owners.csv", [owner_row()])))
    done = await finished(client, response)

    await imports.run_import(done["id"])

    assert (await client.get(response.headers["location"])).json() == done


@pytest.mark.parametrize("role", ["sales", "service", "event_staff"])
async def test_only_admins_may_import_owners_or_see_imports(client, database, tmp_path, role):
    await log_in(client, role)
    response = await client.post(URL, files=upload(write_owner_file(tmp_path / "owners.csv", [owner_row()])))
    assert response.status_code == 403
    assert (await client.get(URL)).status_code == 403
    assert (await client.get(f"{URL}/1")).status_code == 403
    assert await counts() == NOTHING
    assert await OwnerImport.count() == 0


async def test_import_needs_a_staff_login(client, database, tmp_path):
    response = await client.post(URL, files=upload(write_owner_file(tmp_path / "owners.csv", [owner_row()])))
    assert response.status_code == 401
    assert (await client.get(URL)).status_code == 401
    assert await counts() == NOTHING


async def test_a_file_that_is_not_csv_or_xlsx_is_refused_naming_the_field(client, database, tmp_path):
    await log_in(client, "admin")
    path = tmp_path / "owners.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0 old excel")
    response = await client.post(URL, files=upload(path))
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "data", "reason": "请上传 .csv 或 .xlsx 文件"}]


async def test_a_form_without_the_file_is_a_422_naming_the_field_not_a_500(client, database):
    await log_in(client, "admin")
    response = await client.post(URL, data={"note": "not a file"}, files={"other": ("x.txt", b"x", "text/plain")})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "data"


# --- the limits -----------------------------------------------------------------------------

def refused(response: httpx.Response, status: int, kind: str) -> dict:
    assert response.status_code == status, response.text
    problem = response.json()
    assert problem["type"] == f"/problems/{kind}"
    assert [error["field"] for error in problem["errors"]] == ["data"]
    assert len(response.content) < 2000  # a refusal is a sentence, never the file's rows
    return problem


async def test_a_file_over_the_size_limit_is_a_413_naming_the_field_and_nothing_is_stored(database, tmp_path):
    rows = [owner_row(name=f"业主{n}", phone=f"1380013{n:04d}", room=str(n)) for n in range(100)]
    path = write_owner_file(tmp_path / "owners.csv", rows)
    async with app_client(database, import_max_file_bytes=path.stat().st_size - 1) as client:
        problem = refused(await client.post(URL, files=upload(path)), 413, "upload-too-large")
    assert problem["limit"] == path.stat().st_size - 1
    assert await OwnerImport.count() == 0


async def test_a_file_over_the_size_limit_sent_without_a_length_is_refused_naming_the_field(database, tmp_path):
    path = write_owner_file(tmp_path / "owners.csv", [owner_row(name=f"业主{n}", phone=f"1380013{n:04d}", room=str(n)) for n in range(100)])
    form = httpx.Request("POST", "http://testserver", files=upload(path))
    body = form.read()

    async def chunks():  # no Content-Length: the size is only known by counting
        for start in range(0, len(body), 1024):
            yield body[start : start + 1024]

    async with app_client(database, import_max_file_bytes=2000) as client:
        response = await client.post(URL, content=chunks(), headers={"content-type": form.headers["content-type"]})
    refused(response, 413, "upload-too-large")
    assert await OwnerImport.count() == 0


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
async def test_a_file_with_more_rows_than_allowed_is_refused_at_upload_naming_the_field(database, tmp_path, suffix):
    rows = [owner_row(name=f"业主{n}", phone=f"1380013{n:04d}", room=str(n)) for n in range(4)]
    path = write_owner_file(tmp_path / f"owners{suffix}", rows)
    async with app_client(database, import_max_rows=3) as client:
        problem = refused(await client.post(URL, files=upload(path)), 422, "too-many-rows")
    assert problem["limit"] == 3
    assert await OwnerImport.count() == 0 and await counts() == NOTHING


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
async def test_a_cell_longer_than_allowed_is_refused_at_upload_naming_the_field(client, database, tmp_path, suffix):
    await log_in(client, "admin")
    path = write_owner_file(tmp_path / f"owners{suffix}", [owner_row(), owner_row(name="李强", phone="13912345678", notes="备" * 1001)])
    problem = refused(await client.post(URL, files=upload(path)), 422, "cell-too-long")
    assert problem["limit"] == 1000
    assert await OwnerImport.count() == 0


HUGE_CELL_CHARS = 300 * 1024 * 1024


@pytest.fixture(scope="module")
def xlsx_with_a_300_mb_cell(tmp_path_factory) -> Path:
    """A real workbook whose shared strings hold one 300 MB cell: ~300 KB on disk, as in the
    finding. Written piece by piece, so the test itself never holds the cell either."""
    workbook = Workbook()
    workbook.active.append(["project_code", "name"])
    workbook.active.append(["JLW", "王芳"])
    plain = io.BytesIO()
    workbook.save(plain)
    path = tmp_path_factory.mktemp("bomb") / "owners.xlsx"
    with zipfile.ZipFile(io.BytesIO(plain.getvalue())) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bomb:
        for item in source.infolist():
            if item.filename != "xl/sharedStrings.xml":
                bomb.writestr(item, source.read(item))
        with bomb.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="3" uniqueCount="3">')
            part.write("<si><t>project_code</t></si><si><t>name</t></si><si><t>".encode())
            piece = b"A" * (1024 * 1024)
            for _ in range(HUGE_CELL_CHARS // len(piece)):
                part.write(piece)
            part.write(b"</t></si></sst>")
    assert path.stat().st_size < 1024 * 1024
    return path


async def post_measuring_memory(client: httpx.AsyncClient, path: Path) -> tuple[httpx.Response, int]:
    tracemalloc.start()
    try:
        response = await client.post(URL, files=upload(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return response, peak


async def test_an_xlsx_that_unpacks_to_more_than_allowed_is_refused_before_it_is_parsed(
    client, database, xlsx_with_a_300_mb_cell
):
    await log_in(client, "admin")
    response, peak = await post_measuring_memory(client, xlsx_with_a_300_mb_cell)
    refused(response, 413, "upload-too-large")
    assert peak < 30 * 1024 * 1024, f"{peak:,} bytes"
    assert await OwnerImport.count() == 0


async def test_an_xlsx_with_a_300_mb_cell_is_refused_without_reading_the_cell_into_memory(database, xlsx_with_a_300_mb_cell):
    """With the zip-bomb ceiling out of the way, the cell itself is refused as it streams by."""
    async with app_client(database, import_max_unpacked_bytes=2 * HUGE_CELL_CHARS) as client:
        response, peak = await post_measuring_memory(client, xlsx_with_a_300_mb_cell)
    refused(response, 422, "cell-too-long")
    assert peak < 30 * 1024 * 1024, f"{peak:,} bytes"
    assert await OwnerImport.count() == 0


async def test_an_import_whose_job_was_never_sent_is_sent_again_by_the_beat_and_ends_done(client, database, tmp_path):
    """With the broker down at the upload `jobs.enqueue` gives up and the import stays queued;
    `resume_imports` (beat, every 5 minutes) finds it. Built as that upload left it."""
    from datetime import timedelta

    from loyalty import clock

    await log_in(client, "admin")
    path = write_owner_file(tmp_path / "owners.csv", [owner_row()])
    created = await OwnerImport.insert(
        OwnerImport(file_name="owners.csv", content=path.read_bytes(), created_at=clock.now() - timedelta(minutes=10))
    ).returning(OwnerImport.id)
    just_uploaded = await OwnerImport.insert(OwnerImport(file_name="new.csv", content=path.read_bytes())).returning(OwnerImport.id)

    assert await imports.resume_imports() == 1
    await jobs.settle()

    assert (await client.get(f"{URL}/{created[0]['id']}")).json()["status"] == "done"
    assert (await client.get(f"{URL}/{just_uploaded[0]['id']}")).json()["status"] == "queued"  # its own job is on its way
    assert (await counts())["member"] == 1
