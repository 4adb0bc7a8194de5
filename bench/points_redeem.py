"""Benchmark: a points redemption (ledger write) against its floor, on PostgreSQL.

The redemption is `loyalty.points.service.redeem` as every face calls it: lock the member's
account row, check the idempotency key, append the entry, draw from lots oldest first, update
the account. The floor is the least a ledger write can cost: one asyncpg transaction with one
INSERT and one UPDATE. Both run in the same process, same database, same concurrency, on
different members (one member would measure the lock queue, not the write).

    .venv/bin/python bench/points_redeem.py [--seconds 10] [--concurrency 16]

Target (DESIGN.md): the redemption reaches at least 40% of the floor's throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import time

import asyncpg

from loyalty import db
from loyalty.members.tables import Member
from loyalty.points import service as points

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_DB = "loyalty_bench_points"


async def _fresh_database() -> str:
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{BENCH_DB}"')
    await admin.close()
    return f"postgresql://postgres@127.0.0.1:5432/{BENCH_DB}"


async def _drop_database() -> None:
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    await admin.close()


_sequence = itertools.count()


async def _run_for(seconds: float, concurrency: int, operation) -> tuple[int, list[float]]:
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []

    async def worker(slot: int) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await operation(slot, next(_sequence))  # unique idempotency keys across runs
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(worker(slot) for slot in range(concurrency)))
    return len(latencies), latencies


def _summary(name: str, count: int, latencies: list[float], seconds: float) -> dict[str, float | str]:
    ordered = sorted(latencies)
    return {
        "name": name,
        "ops_per_s": round(count / seconds, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 2),
    }


async def main(seconds: float, concurrency: int) -> dict[str, object]:
    url = await _fresh_database()
    try:
        db.bind(db.engine_from_url(url))
        await db.start()
        await db.migrate()
        members = []
        for slot in range(concurrency):
            rows = await Member.insert(Member(name=f"业主{slot}", phone=f"+86138{slot:08d}")).returning(Member.id)
            members.append(rows[0]["id"])
            for lot in range(5):  # a few lots, so FIFO drawing has work to do
                await points.earn(members[-1], 2_000_000, key=f"seed:{slot}:{lot}", source_kind="bench")

        async def redeem(slot: int, n: int) -> None:
            await points.redeem(members[slot], 1, key=f"bench:{slot}:{n}", source_kind="bench", source_id=str(n))

        floor_pool = await asyncpg.create_pool(url, min_size=concurrency, max_size=concurrency)
        async with floor_pool.acquire() as connection:
            await connection.execute(
                "CREATE TABLE floor_account (member int PRIMARY KEY, available bigint NOT NULL);"
                "CREATE TABLE floor_ledger (id bigserial PRIMARY KEY, member int NOT NULL, delta bigint NOT NULL,"
                " idempotency_key text UNIQUE NOT NULL, created_at timestamptz NOT NULL DEFAULT now());"
            )
            await connection.executemany(
                "INSERT INTO floor_account VALUES ($1, 10000000)", [(m,) for m in members]
            )

        async def floor(slot: int, n: int) -> None:
            async with floor_pool.acquire() as connection, connection.transaction():
                await connection.execute(
                    "INSERT INTO floor_ledger (member, delta, idempotency_key) VALUES ($1, -1, $2)",
                    members[slot], f"floor:{slot}:{n}",
                )
                await connection.execute("UPDATE floor_account SET available = available - 1 WHERE member = $1", members[slot])

        await _run_for(1.0, concurrency, floor)  # warm-up both
        await _run_for(1.0, concurrency, redeem)
        floor_count, floor_latencies = await _run_for(seconds, concurrency, floor)
        redeem_count, redeem_latencies = await _run_for(seconds, concurrency, redeem)
        drifts = await points.audit_ledger()
        await floor_pool.close()
        await db.stop()
        floor_result = _summary("floor: asyncpg INSERT + UPDATE", floor_count, floor_latencies, seconds)
        redeem_result = _summary("points.redeem", redeem_count, redeem_latencies, seconds)
        return {
            "benchmark": "points_redeem",
            "concurrency": concurrency,
            "seconds": seconds,
            "floor": floor_result,
            "redeem": redeem_result,
            "ratio": round(float(redeem_result["ops_per_s"]) / float(floor_result["ops_per_s"]), 3),
            "target_ratio": 0.40,
            "ledger_drifts": len(drifts),
        }
    finally:
        await _drop_database()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--json", type=str, default=None, help="also write the figures to this file")
    args = parser.parse_args()
    result = json.dumps(asyncio.run(main(args.seconds, args.concurrency)), ensure_ascii=False, indent=2)
    print(result)
    if args.json:
        with open(args.json, "w") as handle:
            handle.write(result)
