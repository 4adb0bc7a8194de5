"""CSV injection (OWASP): no cell of any file we hand out may run as a spreadsheet formula.

Staff, merchants and owners write text that ends up in exports (an event title, a store name,
a project name, an owner's name, a case title). Every export route is walked with such text
planted in the data; a text cell beginning with = + - @ tab or CR must come out with a leading
`'`, while numbers written as numbers (a reversal's -100) stay numbers (loyalty/exports.py).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import timedelta

import pytest
from piccolo.apps.user.tables import BaseUser

from loyalty import clock
from loyalty.app import create_app
from loyalty.cards.service import signer_for
from loyalty.care import cases
from loyalty.events import catalog
from loyalty.exports import FORMULA_LEADS, csv_text, safe_cell
from loyalty.members.tables import Member
from tests.events.builders import member_client
from tests.identity.builders import add_staff, log_in_staff
from tests.members_builders import import_rows
from tests.partner_api.builders import bearer, sale_body, sell, shop, static_code
from tests.security_world import event_draft

EVIL = {
    "project": '=HYPERLINK("http://evil.example","click")',
    "owner": "@SUM(1+1)*cmd|' /C calc'!A0",
    "event_zh": '=HYPERLINK("http://evil.example","报名")',
    "event_en": "+1+cmd|' /C calc'!A0",
    "merchant": "-2+3+cmd|' /C calc'!A0",
    "case": "=1+1 厨房漏水",  # a case's text is trimmed, so tab and CR leads are proven in the unit test
    "case_text": "@SUM(A1:A9) 水槽",
}
NUMBER = re.compile(r"-?\d+(\.\d+)?")
PHONE = "13800138001"


def formula_cells(name: str, text: str) -> list[str]:
    """Every cell of the CSV `text` a spreadsheet would run: formula-leading and not a number."""
    return [
        f"{name} row {row_number}: {cell!r}"
        for row_number, row in enumerate(csv.reader(io.StringIO(text.removeprefix("\ufeff"))), start=1)
        for cell in row
        if cell.startswith(FORMULA_LEADS) and not NUMBER.fullmatch(cell)
    ]


def test_text_leading_with_a_formula_character_is_escaped_and_numbers_stay_numbers():
    for lead in FORMULA_LEADS:
        assert safe_cell(f"{lead}1+1") == f"'{lead}1+1"
    assert safe_cell("云湖里 =1") == "云湖里 =1" and safe_cell("'=1") == "'=1"
    assert safe_cell(-100) == -100 and safe_cell(-0.5) == -0.5 and safe_cell(None) is None
    assert safe_cell("-100") == "'-100"  # a number that arrives as text is text
    rows = list(csv.reader(io.StringIO(csv_text(["amount", "note"], [[-100, "=1+1"]]).removeprefix("\ufeff"))))
    assert rows == [["amount", "note"], ["-100", "'=1+1"]]


async def test_no_cell_in_any_export_route_starts_with_a_formula_character_unescaped(database, settings, client, monkeypatch, tmp_path):
    monkeypatch.setattr(BaseUser, "_pbkdf2_iteration_count", 1_000)
    today = clock.today()
    await import_rows(tmp_path, [{
        "project_name": EVIL["project"], "name": EVIL["owner"], "phone": PHONE,
        "contract_date": "2020-01-01", "delivery_date": "2021-01-01",
    }])
    owner = await Member.select(Member.id, Member.name).where(Member.phone == f"+86{PHONE}").first()
    assert owner["name"] == EVIL["owner"], "the owner file did not keep the planted name"
    boss = await add_staff("boss", "admin")
    await log_in_staff(client, "boss")
    await catalog.create_event(
        event_draft(title_zh=EVIL["event_zh"], title_en=EVIL["event_en"], status="published"),
        boss.id,
    )
    await cases.open_case(owner["id"], "repair", EVIL["case"], EVIL["case_text"])
    till = await shop(EVIL["merchant"])
    code = await static_code(owner["id"], signer_for(settings))
    sold = await sell(client, bearer(till.key), "export-sale-1", sale_body(code, gross_fen=10_000))
    assert sold.status_code == 201, sold.text

    month = today.strftime("%Y-%m")
    window = {"start": (today - timedelta(days=31)).isoformat(), "end": (today + timedelta(days=31)).isoformat()}
    exports: dict[str, str] = {}
    for name in ("tiers", "referrals", "events", "merchants", "liability", "kpis"):
        response = await client.get(f"/api/v1/staff/dashboards/{name}.csv", params=window)
        assert response.status_code == 200, (name, response.text)
        exports[f"/api/v1/staff/dashboards/{name}.csv"] = response.text
    settlement = await client.get(f"/partner/v1/settlements/{month}.csv", headers=bearer(till.key))
    assert settlement.status_code == 200, settlement.text
    exports["/partner/v1/settlements/{month}.csv"] = settlement.text
    async with member_client(database, settings, PHONE) as me:
        archive = await me.get("/api/v1/me/data-export")
    assert archive.status_code == 200, archive.text
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zipped:
        for member in zipped.namelist():
            if member.endswith(".csv"):
                exports[f"/api/v1/me/data-export {member}"] = zipped.read(member).decode("utf-8")

    unsafe = [cell for name, text in exports.items() for cell in formula_cells(name, text)]
    assert not unsafe, "cells a spreadsheet would run:\n" + "\n".join(unsafe)
    everything = "\n".join(exports.values())
    for planted in EVIL.values():  # the text did reach the exports, escaped
        quoted = io.StringIO()
        csv.writer(quoted).writerow(["'" + planted])
        assert quoted.getvalue().strip("\r\n") in everything, f"{planted!r} never reached an export"
    assert settlement.headers["content-type"] == "text/csv; charset=utf-8"  # one charset, not two
    walked = {name.split(" ")[0] for name in exports}
    assert file_routes(settings, database) <= walked, "an export route this test does not walk"


def file_routes(settings, database) -> set[str]:
    """Every route that answers with a CSV or a zip: a new export route must join the walk."""
    app = create_app(settings, engine=database.engine)
    return {
        route.path
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        if any(kind in str(getattr(handler, "media_type", "")) for kind in ("csv", "zip"))
    }
