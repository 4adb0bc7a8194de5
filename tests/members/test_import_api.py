"""`POST /api/v1/staff/owner-imports`: admins upload an owner file (multipart field `data`)."""

from __future__ import annotations

import pytest

from loyalty.identity.service import create_staff
from tests.members.owner_files import NOTHING, counts, owner_row, write_owner_file

URL = "/api/v1/staff/owner-imports"


async def log_in(client, role: str) -> None:
    await create_staff(f"{role}1", "long-password-1", role)
    response = await client.post("/api/v1/auth/staff-sessions", json={"username": f"{role}1", "password": "long-password-1"})
    assert response.status_code == 201, response.text


def upload(path):
    return {"data": (path.name, path.read_bytes(), "application/octet-stream")}


async def test_admin_uploads_an_owner_file_and_gets_the_report(client, database, tmp_path):
    await log_in(client, "admin")
    path = write_owner_file(tmp_path / "业主.xlsx", [owner_row(), owner_row(name="李强", phone="13912345678")], chinese=True)

    response = await client.post(URL, files=upload(path))

    assert response.status_code == 201, response.text
    report = response.json()
    assert (report["rows"], report["members_created"], report["ownerships_created"], report["errors"]) == (2, 2, 2, [])
    assert await counts() == {"project": 1, "unit": 1, "member": 2, "ownership": 2}
    again = (await client.post(URL, files=upload(path))).json()
    assert again["members_created"] == again["members_updated"] == again["ownerships_created"] == 0


async def test_upload_with_a_bad_phone_is_a_422_problem_naming_row_and_column_and_imports_nothing(client, database, tmp_path):
    await log_in(client, "admin")
    path = write_owner_file(tmp_path / "owners.csv", [owner_row(), owner_row(name="李强", phone="1391234567", room="1202")])

    response = await client.post(URL, files=upload(path))

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"] == "/problems/import-rejected"
    assert [(error["row"], error["column"]) for error in problem["errors"]] == [(3, "phone")]
    assert await counts() == NOTHING


async def test_upload_with_skip_bad_rows_imports_the_good_rows(client, database, tmp_path):
    await log_in(client, "admin")
    path = write_owner_file(tmp_path / "owners.csv", [owner_row(), owner_row(name="李强", phone="1391234567", room="1202")])

    response = await client.post(URL, params={"skip_bad_rows": "true"}, files=upload(path))

    assert response.status_code == 201, response.text
    assert (response.json()["imported_rows"], response.json()["skipped_rows"]) == (1, 1)
    assert await counts() == {"project": 1, "unit": 1, "member": 1, "ownership": 1}


@pytest.mark.parametrize("role", ["sales", "service", "event_staff"])
async def test_only_admins_may_import_owners(client, database, tmp_path, role):
    await log_in(client, role)
    response = await client.post(URL, files=upload(write_owner_file(tmp_path / "owners.csv", [owner_row()])))
    assert response.status_code == 403
    assert await counts() == NOTHING


async def test_import_needs_a_staff_login(client, database, tmp_path):
    response = await client.post(URL, files=upload(write_owner_file(tmp_path / "owners.csv", [owner_row()])))
    assert response.status_code == 401
    assert await counts() == NOTHING


async def test_a_file_that_is_not_csv_or_xlsx_is_refused_naming_the_field(client, database, tmp_path):
    await log_in(client, "admin")
    path = tmp_path / "owners.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0 old excel")
    response = await client.post(URL, files=upload(path))
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "data", "reason": "upload a .csv or .xlsx file"}]
