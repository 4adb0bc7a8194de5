"""An owner downloads everything held about them (PIPL art. 45): `GET /api/v1/me/data-export`
is a zip of data.json (a key per kind), one CSV per kind (UTF-8 with a BOM), the photos of
their cases and a README in the owner's language; no secrets, and nothing of another owner."""

from __future__ import annotations

import io
import json
import zipfile

import httpx

from loyalty.points.tables import LedgerEntry
from loyalty.privacy import export
from loyalty.privacy.export import KINDS, WITHHELD
from tests.events.builders import member_client
from tests.privacy.builders import (
    FRIEND_NAME,
    MY_E164,
    MY_EMAIL,
    MY_NAME,
    MY_OPENID,
    MY_PHONE,
    NEIGHBOUR_NAME,
    NEIGHBOUR_PHONE,
    World,
)

EXPORT = "/api/v1/me/data-export"


def unzip(response: httpx.Response) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


async def test_my_export_holds_every_kind_of_my_data_and_nothing_of_my_neighbour(database, settings, world: World):
    async with member_client(database, settings, MY_PHONE) as me:
        response = await me.get(EXPORT)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/zip")
    assert response.headers["content-disposition"].startswith(f'attachment; filename="owner-club-data-{world.me}-')
    files = unzip(response)
    photos = [name for name in files if name.startswith("photos/")]
    assert set(files) == {"README.txt", "data.json", *(f"csv/{kind}.csv" for kind in KINDS), *photos}
    data = json.loads(files["data.json"])
    assert list(data) == list(KINDS)
    assert [kind for kind, rows in data.items() if not rows] == [], "this owner has data of every kind"

    member = data["member"]
    assert (member["name"], member["phone"], member["email"]) == (MY_NAME, MY_E164, MY_EMAIL)
    assert (member["birthday"], member["gender"], member["tags"]) == ("1980-07-08", "male", ["钓鱼", "书法"])
    assert {(u["building"], u["room"]) for u in data["units"]} == {("1幢", "0101")}
    assert [p["code"] for p in data["projects"]] == ["HZ-YH"]
    assert [c["tier"] for c in data["cards"]] == ["platinum"]
    ledger = data["points_ledger"]
    assert sum(e["available_delta"] for e in ledger) == data["points_account"]["available"]
    assert len(ledger) == await LedgerEntry.count().where(LedgerEntry.member == world.me)
    assert [lead["name"] for lead in data["referrals_made"]] == [FRIEND_NAME]
    assert [(lead["id"], lead["stage"]) for lead in data["referrals_about_me"]] == [(world.lead_about_me, "signed")]
    sale = next(s for s in data["merchant_sales"] if s["id"] == world.sale_id)
    assert (sale["merchant_name"], sale["store_name"], sale["gross_fen"], sale["points_redeemed"]) == ("森林装饰", "森林装饰S1店", 100_000, 100)
    assert len(data["merchant_sales"]) == 1, "the neighbour's sale at the same shop is not mine"
    assert [r["amount_fen"] for r in data["merchant_sale_reversals"]] == [20_000]
    assert {s["event_title_zh"]: s["status"] for s in data["event_signups"]} == {"业主茶话会": "attended", "书法课": "waitlisted"}
    assert [(c["gate"], c["result"]) for c in data["event_check_ins"]] == [("东门", "checked_in")]
    assert [p["amount_fen"] for p in data["event_payments"]] == [8_800]
    assert [c["id"] for c in data["care_cases"]] == [world.case_id]
    assert [m["author_kind"] for m in data["care_case_messages"]] == ["member", "staff"]
    assert [s["comment"] for s in data["surveys"]] == [f"{MY_NAME}：师傅很专业"]
    assert [p["kind"] for p in data["message_preferences"]] == ["holiday"]
    assert [(c["kind"], c["channels"]) for c in data["message_channels"]] == [("*", "sms,email")]
    binding = data["wechat_binding"]
    assert (binding["member"], binding["openid"], bool(binding["bound_at"])) == (world.me, MY_OPENID, True)
    assert {"points.adjust", "tier.assign"} <= {a["action"] for a in data["audit_entries"]}

    # The photo is a file of its own, named in the rows.
    (photo,) = data["care_case_photos"]
    assert photos == [photo["file"]] and files[photo["file"]] == world.photo
    # Messages to my phone and to my e-mail address, and login codes never in readable form.
    recipients = {m["recipient"] for m in data["messages"]}
    assert recipients == {MY_E164, MY_EMAIL}
    codes = [m for m in data["messages"] if m["kind"] == "login_code"]
    assert codes and all(m["body"] == WITHHELD.render("zh-CN") == "（验证码不导出）" for m in codes)
    # Each try at delivering those messages, and only those.
    deliveries = data["message_deliveries"]
    assert {d["message"] for d in deliveries} <= {m["id"] for m in data["messages"]}
    assert {d["recipient"] for d in deliveries} <= {MY_E164, MY_EMAIL} and {d["outcome"] for d in deliveries} == {"sent"}

    everything = b"\n".join(files[name] for name in files if not name.startswith("photos/")).decode("utf-8")
    secrets = ("code_hash", "client_secret", "pi_privacy_1_secret_xyz", "key_hash", world.shop.key, "idempotency_key", "request_hash")
    # The digits shown under a paying QR code pay while alive, as the code does.
    for secret in (*secrets, world.typed_digits, "typed_code"):
        assert secret not in everything, f"{secret!r} must never be exported"
    for neighbours in (NEIGHBOUR_NAME, NEIGHBOUR_PHONE, f"{NEIGHBOUR_NAME}的建议"):
        assert neighbours not in everything, f"another owner's data ({neighbours!r}) is in my export"


async def test_the_csv_files_open_in_excel_and_the_readme_says_what_each_file_is(database, settings, world: World):
    data = await export.collect(world.me)
    archive = export.archive(data)
    with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
        readme = opened.read("README.txt").decode("utf-8-sig")
        sales = opened.read("csv/merchant_sales.csv")
        member = opened.read("csv/member.csv").decode("utf-8-sig").splitlines()
    with zipfile.ZipFile(io.BytesIO(export.archive(data, locale="en").content)) as opened:
        readme_en = opened.read("README.txt").decode("utf-8-sig")

    assert sales.startswith(b"\xef\xbb\xbf"), "UTF-8 with a BOM, like the dashboards' CSVs"
    assert sales.decode("utf-8-sig").splitlines()[0].split(",")[:3] == ["id", "merchant", "store"]
    assert member[0].startswith("id,name,phone") and MY_NAME in member[1] and '"[""钓鱼"", ""书法""]"' in member[1]
    # The README is in the owner's language (Chinese unless they chose English), kind by kind.
    for kind, what in KINDS.items():
        assert f"csv/{kind}.csv" in readme and what.render("zh-CN") in readme and what.render("en") in readme_en
    assert "csv/member.csv（1 条）：会员资料（姓名、手机、邮箱、生日、标签、备注、阶段）" in readme
    assert "csv/member.csv (1 row): Your profile: name, phone, e-mail, birthday, tags, notes, stage" in readme_en
    assert "个人信息保护法" in readme and "Personal Information Protection Law" not in readme
    assert "Personal Information Protection Law" in readme_en and "个人信息保护法" not in readme_en


async def test_the_export_is_in_the_language_the_owner_chose(database, settings, world: World):
    async with member_client(database, settings, MY_PHONE) as me:
        chinese = unzip(await me.get(EXPORT))
        assert (await me.put("/api/v1/language", json={"language": "en"})).status_code == 200
        english = unzip(await me.get(EXPORT))

    assert "业主俱乐部 · 个人信息副本" in chinese["README.txt"].decode("utf-8-sig")
    assert "Owner Club · a copy of your personal data" in english["README.txt"].decode("utf-8-sig")
    codes = [m for m in json.loads(english["data.json"])["messages"] if m["kind"] == "login_code"]
    assert codes and {m["body"] for m in codes} == {"(login code withheld)"}


async def test_the_export_needs_a_member_session(client):
    response = await client.get(EXPORT)

    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
