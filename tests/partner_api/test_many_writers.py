"""Many tills selling against one owner's points at the same moment, on both engines. On
SQLite the writers take turns (one write transaction at a time, each waiting for the one
before): nothing answers 503 or 500 merely because another sale holds the write lock. A 503
is for a database that really cannot be reached."""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter
from typing import Iterator

import httpx
import pytest

from loyalty import db
from loyalty.app import create_app
from loyalty.settings import load_settings
from tests.conftest import TEST_SECRET
from tests.partner_api.builders import GOLD, balance, bearer, dynamic_code, owner, problem, sale_body, sell, shop

SALES = 200
SEED_POINTS = 10_000
POINTS_PER_SALE = 100  # the seed pays for exactly half of the sales


async def test_two_hundred_concurrent_sales_take_turns_and_only_succeed_or_lack_points(client, frozen, tmp_path, signer):
    member = await owner(tmp_path, GOLD, points_balance=SEED_POINTS)
    a = await shop()
    codes = [await dynamic_code(member, signer) for _ in range(SALES)]  # one phone code per sale

    answers = await asyncio.gather(*(
        sell(client, a.auth, f"till-{n}", sale_body(codes[n], gross_fen=10_000, points_to_redeem=POINTS_PER_SALE))
        for n in range(SALES)
    ))

    statuses = Counter(r.status_code for r in answers)
    assert set(statuses) <= {201, 422}, {r.status_code: r.text for r in answers if r.status_code not in (201, 422)}
    assert {problem(r) for r in answers if r.status_code == 422} <= {"/problems/insufficient-points"}
    spent = sum(r.json()["points_redeemed"] for r in answers if r.status_code == 201)
    assert await balance(member) == SEED_POINTS - spent
    assert statuses == {201: SEED_POINTS // POINTS_PER_SALE, 422: SALES - SEED_POINTS // POINTS_PER_SALE}


@pytest.fixture
def keep_engine() -> Iterator[None]:
    """The test binds its own SQLite engine; put the suite's back."""
    before = db.engine()
    yield
    db.bind(before)


async def test_a_sqlite_file_that_cannot_be_opened_is_still_a_503(keep_engine, tmp_path):
    volume = tmp_path / "volume"
    volume.mkdir()
    url = f"sqlite:///{volume / 'loyalty.sqlite'}"
    engine = db.bind(db.engine_from_url(url))
    await db.migrate()
    app = create_app(load_settings({"LOYALTY_DATABASE_URL": url, "LOYALTY_SECRET_KEY": TEST_SECRET}), engine=engine)
    shutil.rmtree(volume)  # the volume went away (root opens any file: permissions would not stop this test)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        answer = await sell(http, bearer("ocm_live_" + "k" * 43), "till-1", sale_body("any-code", points_to_redeem=100))

    assert answer.status_code == 503, answer.text
    assert problem(answer) == "/problems/service-unavailable"
    assert int(answer.headers["retry-after"]) >= 1
