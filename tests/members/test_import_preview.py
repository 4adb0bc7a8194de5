"""The staff page's owner import asks before it starts: `POST /api/v1/staff/owner-imports/previews`
says how many rows a file holds and which projects it names, storing nothing; and the recent
imports say who started each (members/imports.py)."""

from __future__ import annotations

from pathlib import Path

from loyalty import jobs
from loyalty.audit.service import entries_for
from loyalty.identity.service import create_staff
from loyalty.members.tables import OwnerImport, Project
from tests.members.owner_files import NOTHING, counts, owner_row, write_owner_file

URL = "/api/v1/staff/owner-imports"
DOCS = Path(__file__).resolve().parents[2] / "docs"


async def log_in(client, role: str, name: str = "") -> int:
    staff = await create_staff(f"{role}1", "long-password-1", role, display_name=name)
    response = await client.post("/api/v1/auth/staff-sessions", json={"username": f"{role}1", "password": "long-password-1"})
    assert response.status_code == 201, response.text
    return staff.id


def upload(path: Path) -> dict:
    return {"data": (path.name, path.read_bytes(), "application/octet-stream")}


async def test_the_sample_files_preview_says_20_rows_of_two_new_projects_and_stores_nothing(client, database):
    await log_in(client, "admin")

    for sample in ("sample-owners.csv", "sample-owners.xlsx"):
        response = await client.post(f"{URL}/previews", files=upload(DOCS / sample))

        assert response.status_code == 200, response.text
        assert response.json() == {
            "file_name": sample, "rows": 20,
            "projects": [
                {"code": "HZ-JLW", "name": "锦澜湾", "name_en": "", "known": False},
                {"code": "HZ-YHF", "name": "云杭府", "name_en": "", "known": False},
            ],
        }
    assert await OwnerImport.count() == 0
    assert await counts() == NOTHING


async def test_the_preview_names_a_known_project_as_the_club_knows_it(client, database, tmp_path):
    await log_in(client, "admin")
    await Project.insert(Project(code="GV", name="观澜", name_en="Garden View"))
    path = write_owner_file(tmp_path / "owners.csv", [owner_row(project_code="GV", project_name="")])

    response = await client.post(f"{URL}/previews", files=upload(path))

    assert response.json()["projects"] == [{"code": "GV", "name": "观澜", "name_en": "Garden View", "known": True}]


async def test_the_preview_refuses_what_the_import_refuses_naming_the_field(client, database, tmp_path):
    await log_in(client, "admin")
    (tmp_path / "owners.txt").write_text("not an owner file")

    response = await client.post(f"{URL}/previews", files=upload(tmp_path / "owners.txt"))

    assert response.status_code == 422
    assert response.json()["type"] == "/problems/invalid-field"
    assert [error["field"] for error in response.json()["errors"]] == ["data"]


async def test_only_admins_may_preview(client, database):
    await log_in(client, "sales")

    response = await client.post(f"{URL}/previews", files=upload(DOCS / "sample-owners.csv"))

    assert response.status_code == 403


async def test_recent_imports_say_who_started_each_and_the_start_is_audited(client, database):
    admin = await log_in(client, "admin", name="王管理")

    started = await client.post(URL, files=upload(DOCS / "sample-owners.csv"))
    await jobs.settle()
    listed = (await client.get(URL)).json()

    assert started.status_code == 202, started.text
    assert [(row["file_name"], row["status"], row["started_by"], row["started_by_name"]) for row in listed] == [
        ("sample-owners.csv", "done", admin, "王管理")
    ]
    assert (await client.get(started.headers["location"])).json()["started_by_name"] == "王管理"
    [entry] = await entries_for("owner_import", started.json()["id"])
    assert (entry["action"], entry["actor_id"], entry["data"]["rows"]) == ("owner_import.start", admin, 20)
