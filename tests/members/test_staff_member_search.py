"""The staff members page's API: search by name, phone, card number or unit (phones masked in the
list), and a member's contracts with their co-owners."""

from __future__ import annotations

import pytest

from loyalty.cards.tables import Card
from tests.cards.builders import import_owner, member_id, pre_owner_unit
from tests.identity.builders import add_staff, log_in_staff
from tests.members_builders import import_rows

MEMBERS = "/api/v1/staff/members"


@pytest.fixture
async def owners(database, tmp_path) -> dict[str, int]:
    wang = await import_owner(tmp_path, [pre_owner_unit(building="9幢", room="1201")], phone="13800138001", name="王芳")
    li = await import_owner(tmp_path, [pre_owner_unit(building="3幢", room="0702")], phone="13900139002", name="李雷")
    # 韩梅 co-owns 王芳's home
    await import_rows(tmp_path, [{"phone": "13700137003", "name": "韩梅", "building": "9幢", "room": "1201",
                                  "contract_date": "2025-03-01"}])
    return {"wang": wang, "li": li, "han": await member_id("13700137003")}


async def as_staff(client, role: str) -> None:
    staff = await add_staff(f"{role}-1".replace("_", "-"), role)
    await log_in_staff(client, staff.username)


async def found(client, text: str) -> list[str]:
    response = await client.get(MEMBERS, params={"search": text})
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


async def test_search_finds_by_name_phone_card_number_and_unit(client, owners):
    await as_staff(client, "service")
    card = (await Card.select(Card.number).where(Card.member == owners["li"]).first())["number"]

    assert await found(client, "芳") == ["王芳"]
    assert await found(client, "139") == ["李雷"]
    assert await found(client, card) == ["李雷"]
    assert await found(client, f"{card[:4]} {card[4:8]} {card[8:12]} {card[12:]}") == ["李雷"]
    # A bare room number also matches the digits of a card number, and card numbers are random:
    # any other owner found by "0702" must have those digits in their card.
    by_room = await found(client, "0702")
    assert "李雷" in by_room
    others = {row["number"] for row in await Card.select(Card.number).where(Card.member != owners["li"])}
    assert len(by_room) - 1 == len({n for n in others if "0702" in n} & others)
    assert await found(client, "3幢-0702") == ["李雷"]
    assert await found(client, "9幢-1201") == ["王芳", "韩梅"]
    assert await found(client, "赵") == []


async def test_the_search_masks_phones_and_shows_the_card(client, owners):
    await as_staff(client, "sales")

    response = await client.get(MEMBERS, params={"search": "王"})

    item = response.json()["items"][0]
    assert item["phone"] == "+86138****8001"
    assert "13800138001" not in response.text
    assert item["tier"] == "blue" and item["card_number"].startswith("8860 **** **** ")
    assert item["units"] == 1


async def test_a_member_page_lists_contracts_with_co_owners(client, owners):
    await as_staff(client, "service")

    response = await client.get(f"{MEMBERS}/{owners['wang']}/ownerships")

    assert response.status_code == 200, response.text
    [contract] = response.json()
    assert (contract["building"], contract["room"], contract["status"]) == ("9幢", "1201", "active")
    assert contract["co_owners"] == [{"member_id": owners["han"], "name": "韩梅"}]
    assert contract["ownership_id"] > 0


async def test_a_transferred_co_owner_is_no_longer_listed(client, owners):
    await as_staff(client, "service")
    [han_contract] = (await client.get(f"{MEMBERS}/{owners['han']}/ownerships")).json()

    transfer = await client.post(f"/api/v1/staff/ownerships/{han_contract['ownership_id']}/transfer", json={"reason": "卖给他人"})

    assert transfer.status_code == 204, transfer.text
    [contract] = (await client.get(f"{MEMBERS}/{owners['wang']}/ownerships")).json()
    assert contract["co_owners"] == []
    assert (await client.get(f"{MEMBERS}/{owners['han']}/ownerships")).json()[0]["status"] == "transferred"


@pytest.mark.parametrize("role", ["event_staff"])
async def test_roles_without_members_are_refused_the_contracts(client, owners, role):
    await as_staff(client, role)
    assert (await client.get(f"{MEMBERS}/{owners['wang']}/ownerships")).status_code == 403


async def test_contracts_of_an_unknown_member_are_not_found(client, owners):
    await as_staff(client, "admin")
    assert (await client.get(f"{MEMBERS}/99999/ownerships")).status_code == 404
