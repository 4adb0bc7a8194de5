"""/admin speaks the staff member's language: column labels and table names from our catalogue,
menu groups, the site name and piccolo-admin's own interface, chosen per request in the usual
order (the `lang` cookie of the switch, Accept-Language, zh-CN). The tables a
role sees and may change are the same in every language."""

from __future__ import annotations

import httpx
import pytest

from admin_ui.labels import COLUMNS, TABLE_COLUMNS, TABLES, column_words
from admin_ui.tables import role_tables, writable_tables
from loyalty.merchants import service as merchants
from loyalty.problems import SESSION_COOKIE
from tests.identity.builders import add_staff, log_in_staff

EN = {"Accept-Language": "en"}


async def _admin(client: httpx.AsyncClient, role: str = "admin") -> None:
    await add_staff("boss", role)
    await log_in_staff(client, "boss")


async def test_a_tables_schema_names_its_columns_and_the_table_in_chinese_by_default(client: httpx.AsyncClient):
    await _admin(client)
    schema = (await client.get("/admin/api/tables/event/schema/")).json()
    assert schema["properties"]["fee_platinum_fen"]["title"] == "铂金卡费用（分）"
    assert schema["properties"]["signup_closes_at"]["title"] == "报名截止时间"
    assert schema["extra"]["help_text"] == "活动"  # shown beside the table's heading
    member = (await client.get("/admin/api/tables/member/schema/", headers={"Accept-Language": "zh-CN,en;q=0.5"})).json()
    assert (member["properties"]["name"]["title"], member["properties"]["stage"]["title"]) == ("姓名", "业主阶段")


async def test_a_tables_schema_is_in_english_for_an_english_reader(client: httpx.AsyncClient):
    await _admin(client)
    schema = (await client.get("/admin/api/tables/event/schema/", headers=EN)).json()
    assert schema["properties"]["fee_platinum_fen"]["title"] == "Platinum card fee (fen)"
    assert schema["extra"]["help_text"] == "Events"
    client.cookies.set("lang", "en")  # the page's switch, with a browser asking for Chinese
    switched = (await client.get("/admin/api/tables/lead/schema/", headers={"Accept-Language": "zh-CN"})).json()
    assert switched["properties"]["protected_until"]["title"] == "Protected until"


async def test_the_staff_members_switch_wins_over_the_browser_and_a_late_session_cookie(client: httpx.AsyncClient):
    await _admin(client)
    session_before = client.cookies[SESSION_COOKIE]
    assert (await client.put("/api/v1/language", json={"language": "en"})).status_code == 200
    client.cookies.set(SESSION_COOKIE, session_before)  # a reply to a request sent before the switch
    schema = (await client.get("/admin/api/tables/card/schema/", headers={"Accept-Language": "zh-CN"})).json()
    assert schema["properties"]["tier"]["title"] == "Tier"
    assert (await client.put("/api/v1/language", json={"language": "zh-CN"})).status_code == 200
    schema = (await client.get("/admin/api/tables/card/schema/", headers=EN)).json()
    assert schema["properties"]["tier"]["title"] == "会员等级"


async def test_menu_groups_site_name_and_piccolos_own_words_follow_the_locale(client: httpx.AsyncClient):
    await _admin(client, "event_staff")
    assert set((await client.get("/admin/api/tables/grouped/")).json()["grouped"]) == {"活动"}
    assert set((await client.get("/admin/api/tables/grouped/", headers=EN)).json()["grouped"]) == {"Events"}
    assert (await client.get("/admin/public/meta/")).json()["site_name"] == "业主俱乐部"
    assert (await client.get("/admin/public/meta/", headers=EN)).json()["site_name"] == "Owner Club"
    # Only the reader's language is offered: piccolo-admin's picker keeps a choice in the browser
    # that our labels would not follow.
    chinese = (await client.get("/admin/public/translations/")).json()
    assert chinese["default_language_code"] == "zh-CN"
    assert [t["language_code"] for t in chinese["translations"]] == ["zh-CN"]
    words = (await client.get("/admin/public/translations/zh-CN/")).json()["translations"]
    assert words["Save"] == "保存"
    english = (await client.get("/admin/public/translations/", headers=EN)).json()
    assert (english["default_language_code"], [t["language_code"] for t in english["translations"]]) == ("en", ["en"])


@pytest.mark.parametrize("role", ["admin", "sales", "event_staff", "service"])
async def test_a_role_sees_the_same_tables_in_every_language(client: httpx.AsyncClient, role: str):
    await _admin(client, role)
    chinese = sorted((await client.get("/admin/api/tables/")).json())
    english = sorted((await client.get("/admin/api/tables/", headers=EN)).json())
    assert chinese == english == sorted(c.table_class._meta.tablename for c in role_tables()[role])
    assert writable_tables(role_tables("en")[role]) == writable_tables(role_tables("zh-CN")[role])


async def test_a_read_only_table_says_so_in_the_readers_language(client: httpx.AsyncClient):
    shop = await merchants.create_merchant("森林装饰", "decoration")
    await _admin(client)
    client.cookies.set("csrftoken", "t")
    path = f"/admin/api/tables/merchant/{shop}/"
    refused = await client.patch(path, json={"contact_name": "x"}, headers={"X-CSRFToken": "t"})
    assert refused.status_code == 405 and refused.json()["detail"].startswith("此记录在这里只读"), refused.text
    refused = await client.patch(path, json={"contact_name": "x"}, headers={"X-CSRFToken": "t", **EN})
    assert refused.json()["detail"].startswith("Read-only here"), refused.text


def test_every_admin_table_and_column_has_words():
    """A column without words would show piccolo's name for it ("Fee Platinum Fen")."""
    configs = [config for configs in role_tables().values() for config in configs]
    tables = {config.table_class._meta.tablename: config.table_class for config in configs}
    assert set(TABLES) == set(tables)
    unnamed = [
        f"{name}.{column._meta.name}" for name, table in tables.items() for column in table._meta.columns
        if column is not table._meta.primary_key and column_words(name, column._meta.name) is None
    ]
    assert unnamed == []
    named = {column._meta.name for table in tables.values() for column in table._meta.columns}
    assert set(COLUMNS) <= named, set(COLUMNS) - named  # no words kept for a column that is gone
    assert all(column in {c._meta.name for c in tables[table]._meta.columns} for table, column in TABLE_COLUMNS)
