"""The till's client (partner_api/client.py) against the real app: typed results, problem
details raised as PartnerError, Idempotency-Keys made, returned and reused on retries, pages
followed by cursor. The app runs in this event loop through httpx.ASGITransport; faults (a
dropped connection, a 503) are injected by a transport wrapped around it."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import datetime, timedelta
from typing import Any, AsyncIterator, Iterator

import httpx
import pytest
from litestar import Litestar

from loyalty.app import create_app
from loyalty.merchants.tables import Sale
from partner_api.client import (
    AsyncPartnerClient,
    Discount,
    FieldError,
    PartnerClient,
    PartnerError,
    PartnerUnreachable,
    problem_error,
)
from tests.partner_api.builders import GOLD, Shop, TODAY, balance, dynamic_code, owner, shop, static_code

BASE_URL = "http://testserver"
MONTH = TODAY.strftime("%Y-%m")


class Faults(httpx.AsyncBaseTransport):
    """Forwards to the app, after playing out a script of faults, one per request:
    "connect" (nothing reached the server), "lost" (the server did the work, the reply was
    lost on the way back), or an HTTP status the server never chose (a proxy's 503)."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport, script: list[str | int] | None = None, *, forever: str | int | None = None
    ) -> None:
        self.inner, self.script, self.forever = inner, list(script or []), forever
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        fault = self.script.pop(0) if self.script else self.forever
        if fault == "connect":
            raise httpx.ConnectError("connection refused", request=request)
        if isinstance(fault, int):
            return httpx.Response(fault, headers={"content-type": "text/html"}, text="<h1>Bad gateway</h1>", request=request)
        response = await self.inner.handle_async_request(request)
        if fault == "lost":
            await response.aread()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response

    @property
    def keys(self) -> list[str | None]:
        return [request.headers.get("Idempotency-Key") for request in self.requests]


class ThreadToLoop(httpx.BaseTransport):
    """Lets the blocking client, run in a worker thread, call the app on the test's event loop,
    where the database pool lives."""

    def __init__(self, app: Litestar, loop: asyncio.AbstractEventLoop) -> None:
        self.inner, self.loop = httpx.ASGITransport(app=app), loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def call() -> httpx.Response:
            response = await self.inner.handle_async_request(request)
            return httpx.Response(response.status_code, headers=response.headers, content=await response.aread())

        return asyncio.run_coroutine_threadsafe(call(), self.loop).result(timeout=30)


@pytest.fixture
def app(database, settings) -> Litestar:
    return create_app(settings, engine=database.engine)


@pytest.fixture
async def store(database, frozen) -> Shop:
    return await shop(points_per_cny=1)


@pytest.fixture
async def member(database, frozen, tmp_path) -> int:
    return await owner(tmp_path, GOLD, points_balance=5000)


@pytest.fixture
async def code(member, signer) -> str:
    """The printed card's code: it identifies (verify, sales without points)."""
    return await static_code(member, signer)


@pytest.fixture
async def paying(member, signer) -> str:
    """A code from the owner's phone: it pays with points, once."""
    return await dynamic_code(member, signer)


def faults(app: Litestar, script: list[str | int] | None = None, **kwargs: Any) -> Faults:
    return Faults(httpx.ASGITransport(app=app), script, **kwargs)


@pytest.fixture
async def club(app, store) -> AsyncIterator[AsyncPartnerClient]:
    async with AsyncPartnerClient(BASE_URL, store.key, transport=httpx.ASGITransport(app=app), backoff_seconds=0) as client:
        yield client


async def test_verify_gives_the_tier_the_discount_here_and_a_masked_name(club, code):
    offer = await club.verify(code)

    assert (offer.tier, offer.member_name, offer.code_kind) == ("gold", "李*", "static")
    assert offer.discount == Discount(percent_bp=1000, cap_fen=50_000)
    assert (offer.points_available, offer.points_per_cny) == (5000, 100)
    assert offer.tier_label_zh and offer.tier_label_en


async def test_a_sale_without_a_key_gets_a_uuid4_key_back_and_a_retry_with_it_sells_nothing_twice(club, paying, member):
    first = await club.create_sale(paying, 100_000, discount_fen=10_000, points_to_redeem=2000, store="S1")

    assert uuid.UUID(first.idempotency_key).version == 4
    assert not first.replayed
    sale = first.sale
    assert (sale.gross_fen, sale.discount_fen, sale.points_redeemed, sale.points_value_fen) == (100_000, 10_000, 2000, 2000)
    assert (sale.cash_fen, sale.points_earned, sale.points_balance_after) == (88_000, 880, 5000 - 2000)
    assert sale.points_earned_pending_until == TODAY + timedelta(days=7) and sale.earn_cap_reached is None
    assert isinstance(sale.created_at, datetime) and sale.created_at.tzinfo is not None

    again = await club.create_sale(
        paying, 100_000, discount_fen=10_000, points_to_redeem=2000, store="S1", idempotency_key=first.idempotency_key
    )

    assert again.replayed and again.sale == sale and again.idempotency_key == first.idempotency_key
    assert await balance(member) == 5000 - 2000


async def test_a_reply_lost_after_the_sale_was_recorded_is_retried_with_the_same_key_and_replayed(app, store, paying, member):
    transport = faults(app, ["lost"])
    async with AsyncPartnerClient(BASE_URL, store.key, transport=transport, backoff_seconds=0) as till:
        result = await till.create_sale(paying, 50_000, points_to_redeem=1000, store="S1")

    assert len(transport.requests) == 2 and transport.keys == [result.idempotency_key] * 2
    assert result.replayed
    assert await Sale.count() == 1
    assert await balance(member) == 5000 - 1000  # the 490 earned are pending


@pytest.mark.parametrize("script", [["connect", "connect"], [503, 502], ["connect", 500]])
async def test_connection_errors_and_5xx_are_retried_with_the_same_key(app, store, code, script):
    transport = faults(app, script)
    async with AsyncPartnerClient(BASE_URL, store.key, transport=transport, backoff_seconds=0) as till:
        result = await till.create_sale(code, 20_000, store="S1", idempotency_key="till-7-receipt-0042")

    assert transport.keys == ["till-7-receipt-0042"] * 3
    assert not result.replayed and result.idempotency_key == "till-7-receipt-0042"
    assert await Sale.count() == 1


async def test_retries_are_bounded_and_the_last_failure_carries_the_key_to_retry_later(app, store, code):
    down = faults(app, forever="connect")
    async with AsyncPartnerClient(BASE_URL, store.key, transport=down, backoff_seconds=0, max_retries=2) as till:
        with pytest.raises(PartnerUnreachable) as unreachable:
            await till.create_sale(code, 20_000, store="S1")
    assert unreachable.value.attempts == 3 and len(down.requests) == 3
    assert unreachable.value.idempotency_key == down.keys[0] and len(set(down.keys)) == 1

    failing = faults(app, forever=503)
    async with AsyncPartnerClient(BASE_URL, store.key, transport=failing, backoff_seconds=0, max_retries=2) as till:
        with pytest.raises(PartnerError) as error:
            await till.create_sale(code, 20_000, store="S1")
    assert (error.value.status, error.value.type, error.value.detail) == (503, "about:blank", "<h1>Bad gateway</h1>")
    assert len(failing.requests) == 3 and error.value.idempotency_key == failing.keys[0]
    assert await Sale.count() == 0


async def test_a_refusal_is_a_partner_error_read_from_the_problem_details_and_not_retried(app, store, code):
    transport = faults(app)
    async with AsyncPartnerClient(BASE_URL, store.key, transport=transport, backoff_seconds=0, language="zh-CN") as till:
        with pytest.raises(PartnerError) as refused:
            await till.create_sale(code, 100_000, discount_fen=20_000, store="S1")

    error = refused.value
    assert (error.status, error.type) == (422, "/problems/discount-exceeds-schedule")
    assert error.slug == "discount-exceeds-schedule"
    assert error.title == "折扣超出该会员等级在本商家的优惠"
    assert error.errors[0].field == "discount_fen" and error.problem["allowed_fen"] == 10_000
    assert error.idempotency_key == transport.keys[0]
    assert len(transport.requests) == 1


async def test_a_bad_key_and_a_reused_key_are_typed_errors(app, club, store, code):
    async with AsyncPartnerClient(BASE_URL, "ocm_live_not-a-key", transport=httpx.ASGITransport(app=app)) as stranger:
        with pytest.raises(PartnerError) as unauthenticated:
            await stranger.verify(code)
    assert (unauthenticated.value.status, unauthenticated.value.slug) == (401, "not-authenticated")

    await club.create_sale(code, 10_000, store="S1", idempotency_key="receipt-1")
    with pytest.raises(PartnerError) as conflict:
        await club.create_sale(code, 99_000, store="S1", idempotency_key="receipt-1")
    assert (conflict.value.status, conflict.value.slug) == (409, "idempotency-conflict")

    with pytest.raises(PartnerError) as invalid:
        await club.create_sale(code, 0, store="S1")
    assert invalid.value.status == 400 and invalid.value.slug == "validation-error"
    assert [e.field for e in invalid.value.errors] == ["gross_fen"]


async def test_list_sales_follows_next_cursor_until_the_last_page(app, club, store, code):
    made = [(await club.create_sale(code, 10_000 + n, store="S1" if n % 2 else "S2")).sale.id for n in range(5)]
    transport = faults(app)
    async with AsyncPartnerClient(BASE_URL, store.key, transport=transport) as till:
        listed = [sale.id async for sale in till.list_sales(page_size=2)]
        in_s1 = [sale.gross_fen async for sale in till.list_sales(store="S1", start=TODAY, end=TODAY)]

    assert listed == made
    assert [r.url.params.get("cursor") for r in transport.requests[:3]] == [None, str(made[1]), str(made[3])]
    assert in_s1 == [10_001, 10_003]
    assert await club.get_sale(made[2]) == (await club.sales_page(cursor=made[1], page_size=1)).items[0]


async def test_reversals_return_what_is_left_and_get_sale_shows_it(club, paying, member):
    sale = (await club.create_sale(paying, 100_000, points_to_redeem=2000, store="S1")).sale

    part = await club.reverse_sale(sale.id, 25_000, reason="退货 one item")
    rest = await club.reverse_sale(sale.id, reason="退货 the rest")
    replay = await club.reverse_sale(sale.id, reason="退货 the rest", idempotency_key=rest.idempotency_key)

    assert (part.reversal.amount_fen, part.reversal.points_returned, part.reversal.sale_id) == (25_000, 500, sale.id)
    assert (rest.reversal.amount_fen, rest.reversal.points_returned) == (75_000, 1500)
    assert replay.replayed and replay.reversal == rest.reversal
    assert (await club.get_sale(sale.id)).reversed_fen == 100_000
    assert await balance(member) == 5000
    with pytest.raises(PartnerError) as nothing_left:
        await club.reverse_sale(sale.id, 1)
    assert nothing_left.value.slug == "reversal-exceeds-sale"


async def test_the_settlement_as_json_and_as_csv_say_the_same(club, code, paying):
    await club.create_sale(paying, 100_000, discount_fen=10_000, points_to_redeem=2000, store="S1")
    await club.create_sale(code, 30_000, store="S2")

    statement = await club.settlement(TODAY)
    rows = list(csv.DictReader(io.StringIO((await club.settlement_csv(MONTH)).decode("utf-8-sig"))))

    assert statement.month == MONTH and statement.sales == 2
    assert (statement.points_value_owed_fen, statement.discount_fen) == (2000, 10_000)
    assert [(line.store_code, line.gross_fen) for line in statement.lines] == [("S1", 100_000), ("S2", 30_000)]
    assert [(row["store_code"], int(row["gross_fen"]), int(row["points_value_fen"])) for row in rows] == [
        ("S1", 100_000, 2000), ("S2", 30_000, 0),
    ]
    with pytest.raises(PartnerError) as bad_month:
        await club.settlement("June")
    assert (bad_month.value.status, bad_month.value.slug) == (400, "validation-error")  # malformed, not refused


async def test_the_blocking_client_sells_retries_and_lists_like_the_async_one(app, store, code, paying, member):
    dropped = iter([True])

    class DropOnce(ThreadToLoop):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = super().handle_request(request)
            if next(dropped, False):
                raise httpx.ReadError("connection reset by peer", request=request)
            return response

    slept: list[float] = []
    till = PartnerClient(
        f"{BASE_URL}/partner/v1/", store.key, transport=DropOnce(app, asyncio.get_running_loop()), sleep=slept.append
    )

    def at_the_till() -> tuple[Any, ...]:
        with till:
            offer = till.verify(code)
            sold = till.create_sale(paying, 100_000, discount_fen=10_000, points_to_redeem=1000, store="S2")
            listed = list(till.list_sales(page_size=1))
            return offer, sold, listed, till.settlement_csv(MONTH)

    offer, sold, listed, statement = await asyncio.to_thread(at_the_till)

    assert offer.tier == "gold" and offer.points_available == 5000
    assert slept == [0.25], "the dropped verify was retried once, after the first backoff"
    assert not sold.replayed and listed == [sold.sale]
    assert statement.startswith("\ufeff".encode()) and b"S2" in statement
    assert await balance(member) == 5000 - 1000  # the 890 earned are pending


def test_an_error_page_that_is_not_problem_details_still_gives_status_and_detail():
    html = httpx.Response(502, text="<html>upstream down</html>", headers={"Retry-After": "7"})
    problem = httpx.Response(
        422, json={"type": "/problems/store-not-found", "title": "No such store", "status": 422, "detail": "no store 'S9'",
                   "errors": [{"field": "store", "reason": "no store 'S9'", "source": "body"}]},
    )

    proxy_error, refusal = problem_error(html), problem_error(problem, "k-1")

    assert (proxy_error.status, proxy_error.type, proxy_error.retry_after) == (502, "about:blank", 7)
    assert proxy_error.title == "Bad Gateway" and "upstream down" in proxy_error.detail
    assert (refusal.slug, refusal.idempotency_key) == ("store-not-found", "k-1")
    assert refusal.errors == [FieldError("store", "no store 'S9'", "body")]


def test_the_blocking_client_honours_retry_after_but_never_waits_longer_than_its_cap():
    answers: Iterator[httpx.Response] = iter([
        httpx.Response(
            429, headers={"Retry-After": "2"}, json={"type": "/problems/rate-limited", "title": "Too many", "status": 429}
        ),
        httpx.Response(503, headers={"Retry-After": "3600"}),
        httpx.Response(200, json={"items": [], "next_cursor": None}),
    ])
    slept: list[float] = []
    transport = httpx.MockTransport(lambda _: next(answers))
    with PartnerClient(BASE_URL, "ocm_live_x", transport=transport, sleep=slept.append) as till:
        assert list(till.list_sales()) == []
    assert slept == [2.0, 5.0]
