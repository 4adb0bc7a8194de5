"""Redis down: the tills keep selling, owners keep logging in, and the messages they caused
wait in the outbox, then go out exactly once when Redis is back.

The app is configured with a Redis of the test's own (tests/faults/services.py), which the
test first leaves up, then stops answering (SIGSTOP: connections are accepted and never
answered, the worst case for a client), then kills (SIGKILL: the job it held for a worker is
lost with it). Meanwhile every request must answer as usual and quickly (the bound below only
catches a hang; it is not a timing target):
- partner verify and sale: the shared rate limit fails open with a warning; each process
  keeps limiting each key on its own, so a flood on one key is still refused
  (loyalty/ops/rate_limits.py);
- a login code request, a login with it, and a cancelled signup that gives the seat to a
  waitlisted owner: each queues an outbox message, and the job that would deliver it cannot
  be sent, which is logged (loyalty/jobs.py) and leaves the message `queued`.
Then Redis starts again on the same port, empty, with a real worker: the outbox dispatcher
(sent as beat sends it) hands out the three waiting messages, including the one whose job
died with Redis, and each is delivered once: `sent` after one attempt, written once by its
channel (the worker's log), and a second dispatch finds nothing left to send.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import redis
from celery import Celery

from loyalty import clock
from loyalty.cards import service as cards
from loyalty.care.tables import OutboxMessage
from loyalty.events import signups
from loyalty.events.tables import Signup
from loyalty.phones import mask_phone
from loyalty.points import service as points
from tests.events.builders import event, owners, phone
from tests.faults.services import PrivateRedis, private_redis
from tests.faults.workers import loyalty_worker
from tests.identity.builders import latest_code, message_text
from tests.partner_api.builders import BASE, app_client, dynamic_code, sale_body, shop, static_code

pytestmark = pytest.mark.postgres_only

HANG = 5.0  # seconds: an answer slower than this is a request hanging on Redis
LIMIT = 10  # per key and day (a day: no window ends during the test)


class Remember(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def warnings() -> Iterator[dict[str, Remember]]:
    """What the rate limit and the job dispatcher log (the app's logging set-up replaces the
    root handlers, so pytest's caplog would not see it)."""
    handlers = {name: Remember() for name in ("loyalty.rate_limits", "loyalty.jobs")}
    for name, handler in handlers.items():
        logging.getLogger(name).addHandler(handler)
    yield handlers
    for name, handler in handlers.items():
        logging.getLogger(name).removeHandler(handler)


@pytest.fixture
def broker() -> Iterator[PrivateRedis]:
    with private_redis() as server:
        yield server


class Timed:
    """An HTTP client that remembers how long each answer took."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.seconds: list[tuple[str, float]] = []

    async def __call__(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        started = time.monotonic()
        response = await self.http.request(method, url, **kwargs)
        self.seconds.append((f"{method} {url}", time.monotonic() - started))
        return response


async def full_event_with_a_waitlist(settings: Any, first: int, waiting: int) -> tuple[int, int]:
    """A free event with one seat, taken by `first`, and `waiting` on its waitlist; the
    signup ids. The worker runs in real time, so the event is a week from the real now."""
    now = clock.now()
    event_id = await event(
        capacity=1, starts_at=now + timedelta(days=7), ends_at=now + timedelta(days=7, hours=3),
        signup_opens_at=now - timedelta(days=1), signup_closes_at=now + timedelta(days=6),
        cancel_deadline=now + timedelta(days=5),
    )
    [seat] = await signups.sign_up(first, event_id, settings=settings)
    [waits] = await signups.sign_up(waiting, event_id, settings=settings, join_waitlist=True)
    return seat, waits


async def outbox() -> list[dict[str, Any]]:
    return await OutboxMessage.select().order_by(OutboxMessage.id)


async def until_sent(count: int, deadline_seconds: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + deadline_seconds
    while (rows := await outbox()) and [r["status"] for r in rows] != ["sent"] * count and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return rows


def queued_jobs(broker: PrivateRedis) -> int:
    client = redis.Redis.from_url(broker.url)
    try:
        return client.llen("celery")
    finally:
        client.close()


async def test_with_redis_stuck_then_dead_tills_and_owners_are_served_and_messages_go_out_once_it_is_back(
    database, broker, warnings, tmp_path
):
    settings = database.settings(broker_url=broker.url, partner_rate_limit=f"{LIMIT}/day", quiet_hours="")
    owner, other, waiting = await owners(tmp_path, 3)
    await points.earn(owner, 1_000, key="seed", source_kind="test")
    seat, waits = await full_event_with_a_waitlist(settings, owner, waiting)
    till, flooder = await shop("森林装饰"), await shop("洪水商店")
    code = await static_code(owner, cards.signer_for(settings))
    paying = await dynamic_code(owner, cards.signer_for(settings))  # points pay with the phone's one-time code
    verify = {"json": {"code": code}, "headers": till.auth}

    async with app_client(database, settings) as http:
        call = Timed(http)

        # Redis up: the limit is counted in Redis, and a login code's delivery job waits in it.
        counted = await call("POST", f"{BASE}/codes/verify", **verify)
        assert (counted.status_code, counted.headers.get("ratelimit-limit")) == (200, str(LIMIT))
        assert (await call("POST", "/api/v1/auth/login-codes", json={"phone": f"+86{phone(1)}"})).status_code == 202
        assert queued_jobs(broker) == 1
        call.seconds.clear()

        broker.pause()  # up, accepting connections, never answering
        stuck = [
            await call("POST", f"{BASE}/codes/verify", **verify),
            await call("POST", f"{BASE}/sales", json=sale_body(paying, points_to_redeem=100), headers={**till.auth, "Idempotency-Key": "s1"}),
            await call("POST", "/api/v1/auth/login-codes", json={"phone": f"+86{phone(0)}"}),
        ]
        broker.kill()  # gone, and the job it held with it
        login = await call("POST", "/api/v1/auth/sessions", json={"phone": f"+86{phone(0)}", "code": await latest_code(f"+86{phone(0)}")})
        cancelled = await call("POST", f"/api/v1/me/signups/{seat}/cancellation")
        dead = [login, cancelled, await call("POST", f"{BASE}/codes/verify", **verify)]
        flood = [await call("GET", f"{BASE}/sales", headers=flooder.auth) for _ in range(LIMIT + 2)]

    assert [r.status_code for r in stuck] == [200, 201, 202], [r.text for r in stuck]
    assert [r.status_code for r in dead] == [201, 200, 200], [r.text for r in dead]
    slowest = max(call.seconds, key=lambda timed: timed[1])
    assert slowest[1] < HANG, f"{slowest[0]} took {slowest[1]:.1f} s: a request hung on Redis"
    assert (await points.balance(owner)).available == 900  # the sale took its points
    assert "ratelimit-limit" not in stuck[0].headers  # counted by this process alone: no shared numbers

    # The rate limit failed open, loudly, and still limited the flood in this process.
    assert [r.status_code for r in flood] == [200] * LIMIT + [429] * 2
    assert 1 <= int(flood[-1].headers["retry-after"]) <= 24 * 3600
    assert any("rate limit storage unavailable" in message for message in warnings["loyalty.rate_limits"].messages)

    # The messages wait in the outbox: the new owner's seat, two login codes.
    assert (await Signup.select(Signup.status).where(Signup.id == waits).first())["status"] == "confirmed"
    waiting_rows = await outbox()
    assert [(r["template"], r["status"], r["attempts"]) for r in waiting_rows] == [
        ("login_code", "queued", 0), ("login_code", "queued", 0), ("event_promoted", "queued", 0),
    ]
    not_sent = [m for m in warnings["loyalty.jobs"].messages if "loyalty.care.deliver_message" in m and "not sent" in m]
    assert len(not_sent) == 2, warnings["loyalty.jobs"].messages

    # Redis back (empty), a worker, and the dispatcher as beat sends it.
    broker.start()
    client = Celery(broker=broker.url, backend=broker.url)
    with loyalty_worker(database.url, broker.url, tmp_path / "worker.log", env={"LOYALTY_QUIET_HOURS": ""}) as worker:
        handed = await asyncio.to_thread(client.send_task("loyalty.care.dispatch_due").get, timeout=60)
        sent = await until_sent(3)
        handed_again = await asyncio.to_thread(client.send_task("loyalty.care.dispatch_due").get, timeout=60)
    output = worker.output()

    assert handed == 3 and handed_again == 0
    assert [(r["status"], r["attempts"], r["error"]) for r in sent] == [("sent", 1, "")] * 3, output[-3000:]
    for row in sent:  # each written once by its channel: the masked number, never the text (not a demo)
        assert output.count(f"message (log) to {mask_phone(row['recipient'])}: ") == 1, output[-3000:]
        assert message_text(row) not in output
