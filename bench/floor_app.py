"""The floor of bench/partner_throughput.py and bench/checkin_burst.py: a bare Litestar app, no ORM,
no guard, no middleware.

    BENCH_FLOOR_DATABASE_URL=postgresql://... .venv/bin/python -m uvicorn --app-dir bench \
        floor_app:create --factory --host 127.0.0.1 --port P --workers 2 --log-level info

Four routes, each taking a small JSON body like the route it is the floor of:

- `POST /floor/verify` `{"card_id": n}`: one indexed asyncpg SELECT (`SELECT id, tier FROM card
  WHERE id = $1`), the floor of `POST /partner/v1/codes/verify`;
- `POST /floor/sales` `{"member": n}` with an `Idempotency-Key` header: one asyncpg transaction
  with one INSERT and one UPDATE (DESIGN.md's floor for a sale with points redemption), on the
  `floor_ledger` / `floor_account` tables the benchmark creates;
- `POST /floor/checkin` `{"ticket": n, "gate": "G1"}`: one asyncpg conditional UPDATE ... RETURNING
  (`UPDATE floor_ticket SET checked_in_at = now(), gate = $2 WHERE id = $1 AND checked_in_at IS NULL
  RETURNING id`), the floor of `POST /api/v1/staff/checkins`: a row found is `checked_in`, none is
  `already_checked_in`; on the `floor_ticket` table bench/checkin_burst.py creates;
- `POST /floor/sync` `{"scans": [{"ticket": n, "gate": "G1", "nonce": "..."}, ...]}`: that UPDATE for each
  scan of a batch on one connection, the floor of `POST /api/v1/staff/checkins/offline`.

The asyncpg pool is opened at start-up with the sizes `loyalty.db.start()` gives Piccolo's pool
(1 to 20 connections per worker), so both servers hold the same number of connections.
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from typing import AsyncIterator

import asyncpg
import msgspec
from litestar import Litestar, Request, post
from litestar.exceptions import NotFoundException


class CardId(msgspec.Struct, forbid_unknown_fields=True):
    card_id: int


class CardTier(msgspec.Struct):
    id: int
    tier: str


class FloorSale(msgspec.Struct, forbid_unknown_fields=True):
    member: int


class FloorSaleView(msgspec.Struct):
    id: int
    available: int


class FloorScan(msgspec.Struct, forbid_unknown_fields=True):
    ticket: int
    gate: str


class FloorScanView(msgspec.Struct):
    result: str
    ticket: int


class FloorSyncScan(msgspec.Struct, forbid_unknown_fields=True):
    ticket: int
    gate: str
    nonce: str


class FloorSync(msgspec.Struct, forbid_unknown_fields=True):
    scans: list[FloorSyncScan]


class FloorSyncView(msgspec.Struct):
    scans: list[FloorScanView]


POOL: asyncpg.Pool | None = None


@post("/floor/verify", status_code=200)
async def floor_verify(data: CardId) -> CardTier:
    assert POOL is not None
    row = await POOL.fetchrow("SELECT id, tier FROM card WHERE id = $1", data.card_id)
    if row is None:
        raise NotFoundException(f"no card {data.card_id}")
    return CardTier(id=row["id"], tier=row["tier"])


@post("/floor/sales", status_code=201)
async def floor_sale(data: FloorSale, request: Request) -> FloorSaleView:
    assert POOL is not None
    key = request.headers.get("idempotency-key", "")
    async with POOL.acquire() as connection, connection.transaction():
        entry = await connection.fetchval(
            "INSERT INTO floor_ledger (member, delta, idempotency_key) VALUES ($1, -100, $2) RETURNING id",
            data.member, key,
        )
        available = await connection.fetchval(
            "UPDATE floor_account SET available = available - 100 WHERE member = $1 RETURNING available", data.member
        )
    return FloorSaleView(id=entry, available=available)


@post("/floor/checkin", status_code=200)
async def floor_checkin(data: FloorScan) -> FloorScanView:
    assert POOL is not None
    won = await POOL.fetchval(
        "UPDATE floor_ticket SET checked_in_at = now(), gate = $2 WHERE id = $1 AND checked_in_at IS NULL RETURNING id",
        data.ticket, data.gate,
    )
    return FloorScanView(result="checked_in" if won is not None else "already_checked_in", ticket=data.ticket)


@post("/floor/sync", status_code=200)
async def floor_sync(data: FloorSync) -> FloorSyncView:
    """A batch of offline scans: the same conditional UPDATE per scan, one connection for the batch."""
    assert POOL is not None
    answers = []
    async with POOL.acquire() as connection:
        for scan in data.scans:
            won = await connection.fetchval(
                "UPDATE floor_ticket SET checked_in_at = now(), gate = $2 WHERE id = $1 AND checked_in_at IS NULL RETURNING id",
                scan.ticket, scan.gate,
            )
            answers.append(FloorScanView(result="checked_in" if won is not None else "already_checked_in", ticket=scan.ticket))
    return FloorSyncView(scans=answers)


@asynccontextmanager
async def lifespan(_: Litestar) -> AsyncIterator[None]:
    global POOL
    POOL = await asyncpg.create_pool(os.environ["BENCH_FLOOR_DATABASE_URL"], min_size=1, max_size=20)
    try:
        yield
    finally:
        await POOL.close()


def create() -> Litestar:
    return Litestar(route_handlers=[floor_verify, floor_sale, floor_checkin, floor_sync], lifespan=[lifespan], openapi_config=None)
