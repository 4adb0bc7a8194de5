"""Builders for partner API tests: owners go in through the real owner import, merchants,
stores, schedules and keys through the merchants service, points through the points service.
Only a merchant's suspension is a direct update (its staff route needs a staff login).

Time is frozen by the `frozen` fixture at NOON on TODAY (Beijing time)."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from datetime import date, datetime, time as clock_time
from pathlib import Path
from typing import Any, AsyncIterator

import httpx

from loyalty import jobs
from loyalty.app import create_app
from loyalty.cards import service as cards
from loyalty.cards.codes import CodeSigner
from loyalty.clock import LOCAL_ZONE
from loyalty.members.tables import Member
from loyalty.merchants import service as merchants
from loyalty.merchants.tables import Merchant
from loyalty.points import service as points
from loyalty.settings import Settings
from tests.members_builders import import_rows

TODAY = date(2026, 6, 15)
BASE = "/partner/v1"

# One owner per tier (DESIGN.md "Tiers", default rules; TODAY = 2026-06-15):
GOLD = {"phone": "13800138001", "name": "李四", "contract_date": "2020-01-01", "delivery_date": "2021-01-01"}  # veteran stage
SILVER = {"phone": "13800138002", "name": "欧阳晓明", "contract_date": "2024-01-01", "delivery_date": "2025-01-01"}  # delivered
BLUE = {"phone": "13800138003", "name": "王五", "contract_date": "2025-03-01"}  # signed, not delivered


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    """A wall-clock moment in Beijing (where settlement months and schedule dates are)."""
    return datetime.combine(day, clock_time(hour, minute), LOCAL_ZONE)


async def owners(folder: Path, *rows: dict[str, str], points_balance: int = 0) -> list[int]:
    """Import owners in one file (each row its own unit; cards are issued by the import) and
    give each `points_balance` points; their member ids, in order."""
    await import_rows(folder, list(rows))
    ids = []
    for row in rows:
        found = await Member.select(Member.id).where(Member.phone == f"+86{row['phone']}").first()
        assert found is not None
        if points_balance:
            await points.earn(found["id"], points_balance, key=f"seed:{found['id']}", source_kind="test")
        ids.append(found["id"])
    return ids


async def owner(folder: Path, row: dict[str, str] = GOLD, *, points_balance: int = 0) -> int:
    return (await owners(folder, row, points_balance=points_balance))[0]


@dataclass
class Shop:
    """A merchant as its till sees it: stores by code, and one merchant-wide key."""

    merchant_id: int
    stores: dict[str, int]
    key: str
    key_id: int
    store_keys: dict[str, str] = field(default_factory=dict)

    @property
    def auth(self) -> dict[str, str]:
        return bearer(self.key)

    def store_auth(self, store_code: str) -> dict[str, str]:
        return bearer(self.store_keys[store_code])


async def shop(
    name: str = "森林装饰",
    *,
    stores: tuple[str, ...] = ("S1", "S2"),
    gold_bp: int = 1000,
    gold_cap_fen: int | None = 50_000,
    points_per_cny: int = 0,
    store_keys: bool = False,
) -> Shop:
    """A merchant with stores, a gold discount (10% capped at 500 CNY, valid since 2026-01-01)
    and a merchant-wide key; with `store_keys`, one key limited to each store too."""
    merchant_id = await merchants.create_merchant(name, "decoration", points_per_cny=points_per_cny)
    store_ids = {code: await merchants.add_store(merchant_id, code, f"{name}{code}店") for code in stores}
    if gold_bp:
        await merchants.set_discount(merchant_id, "gold", gold_bp, valid_from=date(2026, 1, 1), cap_fen=gold_cap_fen)
    key, key_id = await merchants.create_api_key(merchant_id)
    built = Shop(merchant_id=merchant_id, stores=store_ids, key=key, key_id=key_id)
    if store_keys:
        for code, store_id in store_ids.items():
            built.store_keys[code] = (await merchants.create_api_key(merchant_id, store_id=store_id))[0]
    return built


async def suspend_merchant(merchant_id: int) -> None:
    """The status column the key check reads (the staff route is tested in tests/merchants)."""
    updated = await Merchant.update({Merchant.status: "suspended"}).where(Merchant.id == merchant_id).returning(Merchant.id)
    assert updated


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def static_code(member_id: int, signer: CodeSigner) -> str:
    return await cards.static_code(member_id, signer)


async def dynamic_code(member_id: int, signer: CodeSigner, unix_time: float | None = None) -> str:
    return (await cards.dynamic_code(member_id, signer, time.time() if unix_time is None else unix_time)).code


def sale_body(
    code: str, *, store: str | None = "S1", gross_fen: int = 100_000, discount_fen: int = 0, points_to_redeem: int = 0
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "gross_fen": gross_fen, "discount_fen": discount_fen, "points_to_redeem": points_to_redeem}
    if store is not None:
        body["store"] = store
    return body


async def sell(http: httpx.AsyncClient, auth: dict[str, str], key: str, body: dict[str, Any]) -> httpx.Response:
    return await http.post(f"{BASE}/sales", json=body, headers={**auth, "Idempotency-Key": key})


async def reverse(
    http: httpx.AsyncClient, auth: dict[str, str], sale_id: int, key: str, amount_fen: int | None = None, reason: str = "退货 return"
) -> httpx.Response:
    body: dict[str, Any] = {"reason": reason}
    if amount_fen is not None:
        body["amount_fen"] = amount_fen
    return await http.post(f"{BASE}/sales/{sale_id}/reversals", json=body, headers={**auth, "Idempotency-Key": key})


async def balance(member_id: int) -> int:
    return (await points.balance(member_id)).available


def problem(response: httpx.Response) -> str:
    """The stable problem `type` of an error response (and it is a problem document)."""
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    return response.json()["type"]


@contextlib.asynccontextmanager
async def app_client(database: Any, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client on an app built for other settings (rate limits, Redis, point value), sharing
    the test's database engine. Afterwards jobs run in-process again, as in the rest of the
    suite (create_app points them at the broker it is given)."""
    app = create_app(settings, engine=database.engine)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            yield http
    finally:
        jobs.configure(database.settings())
