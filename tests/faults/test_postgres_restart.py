"""PostgreSQL restarted in the middle of a sales load.

Tills keep recording sales (some paid partly with points) against a real `loyalty serve`
process while its PostgreSQL is restarted (`pg_ctl restart -m fast`), and later stopped for
two seconds and started again. Every answer must be a recorded sale (201) or a clean refusal:
503 problem details with `Retry-After`, never a 500 and never a hang. Replaying each refused
sale with its Idempotency-Key and body completes it exactly once (a sale whose COMMIT went
through but whose answer was lost replays as 200), replaying a recorded sale returns the same
sale, and afterwards the ledger has each sale's entries exactly once, every balance equals its
ledger, and `loyalty audit-ledger` finds no drift.

The PostgreSQL is the test's own (tests/faults/services.py), never the shared one. The app
runs as a real server process (`loyalty serve`), so its connection pool lives through the
restart as in production, in another process than the tills.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterator

import asyncpg
import asyncpg.transaction
import httpx
import pytest

from loyalty import db
from loyalty.cards import codes as card_codes, service as cards
from loyalty.cards.tables import TIERS
from loyalty.merchants import service as merchants
from loyalty.merchants.tables import Sale
from loyalty.points import service as points
from loyalty.points.tables import LedgerEntry
from loyalty.settings import load_settings
from tests.sms_server import SERVER_SMS_ENV
from tests.conftest import TEST_SECRET
from tests.faults.services import PrivatePostgres, free_port, private_postgres
from tests.partner_api.builders import GOLD, owners

SALES = "/partner/v1/sales"
PROBLEM_JSON = "application/problem+json"
TILLS = 6
RESTARTS = 3
SEED_POINTS = 1_000_000
ANSWER_TIMEOUT = httpx.Timeout(10.0, connect=5.0)  # a till that waits longer calls it a hang
OWNER_ROWS = [{**GOLD, "phone": f"1380013810{n}", "name": name} for n, name in enumerate(("李四", "王五", "赵六"))]
SERVER_ENV = {
    "LOYALTY_SECRET_KEY": TEST_SECRET,  # the card codes the tills scan are signed with it
    "LOYALTY_PARTNER_RATE_LIMIT": "1000000/minute",  # the load, not the limit, is under test
    "LOYALTY_LOG_FORMAT": "json",
    **SERVER_SMS_ENV,  # `serve` needs a login-code channel; none is sent here
}


# --- the world: a private PostgreSQL, migrated and filled; the app serving it ---------------


@dataclass
class World:
    pg: PrivatePostgres
    key: str
    merchant_id: int
    codes: list[str]  # one static card code per owner
    members: list[int]
    signer: Any = None  # signs the phone's one-time codes that sales with points need
    base_url: str = ""
    server_log: Path = Path()


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    with private_postgres() as pg:
        yield pg


@pytest.fixture
async def world(postgres: PrivatePostgres, tmp_path: Path) -> AsyncIterator[World]:
    """Migrated like any deployment; three owners with cards and points, a merchant with a
    store, a 10% discount for every tier, one point per CNY earned, and a key."""
    previous = db.engine()
    db.bind(db.engine_from_url(postgres.url))
    await db.start()
    try:
        await db.migrate()
        members = await owners(tmp_path, *OWNER_ROWS, points_balance=SEED_POINTS)
        merchant_id = await merchants.create_merchant("森林装饰", "decoration", points_per_cny=1)
        await merchants.add_store(merchant_id, "S1", "森林装饰S1店")
        for tier in TIERS:
            await merchants.set_discount(merchant_id, tier, 1000, valid_from=date(2020, 1, 1))
        key, _ = await merchants.create_api_key(merchant_id, label="fault test")
        signer = cards.signer_for(load_settings({"LOYALTY_DATABASE_URL": postgres.url, "LOYALTY_SECRET_KEY": TEST_SECRET}))
        codes = [await cards.static_code(member, signer) for member in members]
        yield World(pg=postgres, key=key, merchant_id=merchant_id, codes=codes, members=members, signer=signer)
    finally:
        await db.stop()
        db.bind(previous)


@pytest.fixture
async def served(world: World, tmp_path: Path) -> AsyncIterator[World]:
    """`loyalty serve` on a free loopback port, pointed at the private PostgreSQL."""
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("LOYALTY_")}
    env.update(SERVER_ENV, LOYALTY_DATABASE_URL=world.pg.url)
    world.server_log = tmp_path / "server.log"
    with world.server_log.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "loyalty.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )
    world.base_url = f"http://127.0.0.1:{port}"
    try:
        await _until_serving(world, server)
        yield world
    finally:
        server.terminate()
        try:
            await asyncio.to_thread(server.wait, 15)
        except subprocess.TimeoutExpired:
            server.kill()
            await asyncio.to_thread(server.wait, 15)


async def _until_serving(world: World, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient(base_url=world.base_url, timeout=2) as http:
        while True:
            assert server.poll() is None, f"loyalty serve exited ({server.returncode}):\n{_tail(world.server_log)}"
            assert time.monotonic() < deadline, f"loyalty serve did not answer within 30 s:\n{_tail(world.server_log)}"
            try:
                answer = await http.get(SALES, params={"limit": 1}, headers=_auth(world))
                if answer.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)


def _auth(world: World) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.key}"}


def _tail(path: Path, lines: int = 60) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


# --- the load ----------------------------------------------------------------------------------


@dataclass
class Attempt:
    """One sale a till sent, and what came back (None: no answer within the timeout)."""

    key: str
    body: dict[str, Any]
    member: int
    phase: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    answer: Any = None
    error: str = ""


@dataclass
class Load:
    phase: str = "before"
    running: bool = True
    attempts: list[Attempt] = field(default_factory=list)

    def recorded_since(self, phase: str) -> int:
        return sum(1 for a in self.attempts if a.phase == phase and a.status == 201)


async def _send(http: httpx.AsyncClient, world: World, key: str, body: dict[str, Any]) -> tuple[int | None, dict[str, str], Any, str]:
    try:
        response = await http.post(SALES, json=body, headers={**_auth(world), "Idempotency-Key": key})
    except httpx.HTTPError as error:  # a timeout or a dropped connection: the server failed to answer
        return None, {}, None, f"{type(error).__name__}: {error}"
    try:
        answer = response.json()
    except ValueError:
        answer = response.text
    return response.status_code, dict(response.headers), answer, ""


async def _till(number: int, world: World, load: Load) -> None:
    """Sells continuously; after a refusal it moves on to the next customer (the refused sale
    is replayed later), pausing briefly so a down database is not hammered."""
    owner = number % len(world.members)
    chooser = random.Random(number)
    async with httpx.AsyncClient(base_url=world.base_url, timeout=ANSWER_TIMEOUT) as http:
        sale = 0
        while load.running:
            gross = chooser.randrange(10_000, 200_000)
            paying = sale % 2
            body = {
                "code": _phone_code(world, owner) if paying else world.codes[owner], "store": "S1", "gross_fen": gross,
                "discount_fen": gross // 10, "points_to_redeem": 500 if paying else 0,
            }
            attempt = Attempt(key=f"till{number}-{sale}", body=body, member=world.members[owner], phase=load.phase)
            load.attempts.append(attempt)
            attempt.status, attempt.headers, attempt.answer, attempt.error = await _send(http, world, attempt.key, body)
            sale += 1
            if attempt.status != 201:
                await asyncio.sleep(0.1)


def _phone_code(world: World, owner: int) -> str:
    """A one-time dynamic code for a sale with points, signed here (no database needed while
    it is down): the card id is the static code's subject."""
    card_id = world.signer.open(world.codes[owner]).subject_id
    return world.signer.sign("dynamic", card_id, card_codes.current_step(time.time()), nonce=random.getrandbits(32))


async def _until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def _sell_through_a_restart(world: World) -> Load:
    """Sales before the fault, through `pg_ctl restart -m fast` (a few times: each cuts the
    transactions in flight at another point), through a stop of two seconds and a start, and
    after that."""
    load = Load()
    tills = [asyncio.create_task(_till(n, world, load)) for n in range(TILLS)]
    try:
        await _until(lambda: load.recorded_since("before") >= 40, 20, "40 sales before the restart")
        for restart in range(1, RESTARTS + 1):
            load.phase = f"restart {restart}"
            await asyncio.to_thread(world.pg.restart)
            load.phase = f"after restart {restart}"
            await _until(lambda: load.recorded_since(load.phase) >= 40, 20, f"40 sales after restart {restart}")
        load.phase = "stopped"
        await asyncio.to_thread(world.pg.stop)
        await asyncio.sleep(2)
        await asyncio.to_thread(world.pg.start)
        load.phase = "after start"
        await _until(lambda: load.recorded_since("after start") >= 40, 20, "40 sales after the start")
    finally:
        load.running = False
        ended = await asyncio.gather(*tills, return_exceptions=True)
    crashed = [error for error in ended if isinstance(error, BaseException)]
    assert not crashed, f"a till crashed: {crashed[0]!r}"
    return load


# --- replays -----------------------------------------------------------------------------------


@dataclass
class Replays:
    completed: Counter[int] = field(default_factory=Counter)  # first non-503 status per refused sale
    rounds: int = 0
    still_refused: int = 0  # replays that met a 503 again


async def _replay_refused(world: World, refused: list[Attempt]) -> Replays:
    """Each refused sale again with its key and body until it is recorded, waiting as long as
    `Retry-After` says between rounds; bounded to 20 s."""
    replays, pending = Replays(), list(refused)
    deadline = time.monotonic() + 20
    gate = asyncio.Semaphore(TILLS)
    async with httpx.AsyncClient(base_url=world.base_url, timeout=ANSWER_TIMEOUT) as http:

        async def again(attempt: Attempt) -> tuple[Attempt, int | None, dict[str, str], Any, str]:
            async with gate:
                return attempt, *await _send(http, world, attempt.key, attempt.body)

        while pending:
            assert time.monotonic() < deadline, f"{len(pending)} refused sales still refused after 20 s of replays"
            replays.rounds += 1
            waits, left = [], []
            for attempt, status, headers, answer, error in await asyncio.gather(*(again(a) for a in pending)):
                assert status in (200, 201, 503), f"replay of {attempt.key}: {status} {error} {answer}"
                if status == 503:
                    _assert_clean_refusal(status, headers, answer)
                    waits.append(int(headers["retry-after"]))
                    left.append(attempt)
                    continue
                replays.completed[status] += 1
                _assert_the_sale(attempt, answer)
                attempt.status, attempt.headers, attempt.answer = status, headers, answer
            replays.still_refused += len(left)
            pending = left
            if waits:
                await asyncio.sleep(max(waits))
    return replays


async def _replay_recorded(world: World, recorded: list[Attempt]) -> None:
    """A till that lost the answer of a recorded sale retries: it gets the same sale back."""
    gate = asyncio.Semaphore(TILLS)
    async with httpx.AsyncClient(base_url=world.base_url, timeout=ANSWER_TIMEOUT) as http:

        async def again(attempt: Attempt) -> None:
            async with gate:
                status, headers, answer, error = await _send(http, world, attempt.key, attempt.body)
            assert status == 200, f"replay of recorded {attempt.key}: {status} {error} {answer}"
            assert headers.get("idempotent-replayed") == "true", headers
            assert answer == attempt.answer, (attempt.key, answer, attempt.answer)

        await asyncio.gather(*(again(a) for a in recorded))


# --- what every answer must look like ------------------------------------------------------------


def _assert_clean_refusal(status: int | None, headers: dict[str, str], answer: Any) -> None:
    assert status == 503
    assert headers["content-type"].startswith(PROBLEM_JSON), headers
    assert int(headers["retry-after"]) >= 1, headers
    assert isinstance(answer, dict), answer
    assert answer["type"] == "/problems/service-unavailable", answer
    assert answer["status"] == 503 and answer["title"] and answer["detail"], answer
    assert answer["instance"] == SALES, answer


def _assert_the_sale(attempt: Attempt, answer: Any) -> None:
    body = attempt.body
    assert isinstance(answer, dict), answer
    assert (answer["gross_fen"], answer["discount_fen"], answer["points_redeemed"]) == (
        body["gross_fen"], body["discount_fen"], body["points_to_redeem"]
    ), (attempt.key, answer)


# --- the test --------------------------------------------------------------------------------------


async def test_sales_through_a_postgres_restart_are_recorded_once_or_refused_with_503_and_replays_complete_them(
    served: World,
) -> None:
    world = served
    started = time.monotonic()

    load = await _sell_through_a_restart(world)

    statuses = Counter(a.status for a in load.attempts)
    phases = dict.fromkeys(a.phase for a in load.attempts)
    by_phase = {phase: dict(Counter(a.status for a in load.attempts if a.phase == phase)) for phase in phases}
    report = f"{len(load.attempts)} sales sent: {dict(statuses)}; by phase: {by_phase}"
    unanswered = [a for a in load.attempts if a.status is None]
    assert not unanswered, f"{len(unanswered)} sales got no answer within {ANSWER_TIMEOUT.read} s, e.g. {unanswered[0].error}; {report}"
    assert set(statuses) <= {201, 503}, (
        f"{report}; e.g. {next(a.answer for a in load.attempts if a.status not in (201, 503))}\n{_tail(world.server_log)}"
    )
    refused = [a for a in load.attempts if a.status == 503]
    assert refused, f"the restart refused no sale: the fault did not happen ({report})"
    for attempt in refused:
        _assert_clean_refusal(attempt.status, attempt.headers, attempt.answer)
    for attempt in load.attempts:
        if attempt.status == 201:
            _assert_the_sale(attempt, attempt.answer)

    replays = await _replay_refused(world, refused)
    await _replay_recorded(world, [a for a in load.attempts if a.status in (200, 201)])

    print(
        f"\n{report}\nrefused sales replayed: {len(refused)} in {replays.rounds} round(s); "
        f"recorded by the replay: {replays.completed[201]}, already recorded (answer lost): {replays.completed[200]}, "
        f"503 again: {replays.still_refused}; load and replays took {time.monotonic() - started:.1f} s"
    )
    await _assert_each_sale_recorded_once(world, load.attempts)
    audit = await asyncio.to_thread(_audit_ledger_cli, world.pg.url)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert "agree" in audit.stdout + audit.stderr
    # Refusals are warnings; an ERROR line is a 500 (or worse) that the answers did not show.
    errors = [line for line in world.server_log.read_text(errors="replace").splitlines() if _is_error(line)]
    assert not errors, _tail(world.server_log, 120)


def _is_error(line: str) -> bool:
    """A JSON log line at ERROR or worse; anything else on stderr (a traceback printed by a
    library) counts if it says Traceback."""
    try:
        record = json.loads(line)
    except ValueError:
        return line.startswith("Traceback")
    return isinstance(record, dict) and record.get("level") in ("ERROR", "CRITICAL")


async def _assert_each_sale_recorded_once(world: World, attempts: list[Attempt]) -> None:
    """One sale per Idempotency-Key, as sent; its points paid and earned in the ledger exactly
    once; every balance = seed − paid, with the earned points pending (the merchant's reversal
    window) = its ledger (and `audit_ledger` agrees)."""
    sent = {a.key: a for a in attempts}
    sales = await Sale.select().where(Sale.merchant == world.merchant_id)
    assert len(sales) == len(sent) and {s["idempotency_key"] for s in sales} == set(sent), (len(sales), len(sent))
    for sale in sales:
        attempt = sent[sale["idempotency_key"]]
        assert sale["id"] == attempt.answer["id"], (sale, attempt.answer)
        assert (sale["member"], sale["gross_fen"], sale["discount_fen"], sale["points_redeemed"]) == (
            attempt.member, attempt.body["gross_fen"], attempt.body["discount_fen"], attempt.body["points_to_redeem"]
        )

    entries = await LedgerEntry.select(
        LedgerEntry.idempotency_key, LedgerEntry.member, LedgerEntry.available_delta, LedgerEntry.pending_delta
    ).where(
        LedgerEntry.source_kind == "sale"
    )
    keys = Counter(entry["idempotency_key"] for entry in entries)
    expected = Counter(
        [f"sale-pay:{world.merchant_id}:{s['idempotency_key']}" for s in sales if s["points_redeemed"]]
        + [f"sale-earn:{world.merchant_id}:{s['idempotency_key']}" for s in sales if s["points_earned"]]
    )
    assert keys == expected, f"ledger entries not exactly once per sale: {(keys - expected) + (expected - keys)}"
    for member in world.members:
        mine = [s for s in sales if s["member"] == member]
        expected_balance = SEED_POINTS - sum(s["points_redeemed"] for s in mine)
        expected_pending = sum(s["points_earned"] for s in mine)
        held = await points.balance(member)
        assert (held.available, held.pending) == (expected_balance, expected_pending), member
        assert sum(e["available_delta"] for e in entries if e["member"] == member) == expected_balance - SEED_POINTS
        assert sum(e["pending_delta"] for e in entries if e["member"] == member) == expected_pending
    assert await points.audit_ledger() == []


def _audit_ledger_cli(url: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("LOYALTY_")}
    env["LOYALTY_DATABASE_URL"] = url
    env["LC_ALL"] = "en_US.UTF-8"  # the assertions read the English report
    return subprocess.run(
        [sys.executable, "-m", "loyalty.cli", "audit-ledger"], env=env, capture_output=True, text=True, timeout=60
    )


# --- the narrowest window: COMMIT done, its answer lost ---------------------------------------


@pytest.mark.postgres_only
async def test_a_sale_whose_commit_went_through_but_whose_answer_was_lost_is_found_by_its_key_and_recorded_once(
    client: httpx.AsyncClient, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The restart above rarely cuts a connection between the server's COMMIT and its reply,
    # so that moment is made here: the COMMIT runs, then the connection dies unanswered.
    member = (await owners(tmp_path, GOLD, points_balance=5000))[0]
    shop_key, merchant_id = await _merchant_with_key()
    paying = (await cards.dynamic_code(member, cards.signer_for(settings), time.time())).code
    body = {"code": paying, "store": "S1", "gross_fen": 100_000,
            "discount_fen": 0, "points_to_redeem": 700}
    committed = asyncpg.transaction.Transaction.commit
    lost: list[str] = []

    async def commit_then_lose_the_answer(transaction: asyncpg.transaction.Transaction) -> None:
        await committed(transaction)
        if not lost:
            lost.append("sale")
            transaction._connection.terminate()
            raise asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")

    monkeypatch.setattr(asyncpg.transaction.Transaction, "commit", commit_then_lose_the_answer)
    headers = {"Authorization": f"Bearer {shop_key}", "Idempotency-Key": "lost-answer"}

    first = await client.post(SALES, json=body, headers=headers)
    again = await client.post(SALES, json=body, headers=headers)

    assert lost, "the fault was not injected"
    # The app looks the key up after the lost COMMIT (on a new connection) and finds the sale;
    # had the database still been down, the answer would be a 503 and the retry the same.
    assert first.status_code in (200, 503), first.text
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true", again.text
    if first.status_code == 200:
        assert first.json() == again.json()
    assert await Sale.count().where(Sale.merchant == merchant_id) == 1
    assert (await points.balance(member)).available == 5000 - 700  # what it earned is pending
    assert await LedgerEntry.count().where(LedgerEntry.source_kind == "sale") == 2  # paid and earned, once each


async def _merchant_with_key() -> tuple[str, int]:
    merchant_id = await merchants.create_merchant("森林装饰", "decoration", points_per_cny=1)
    await merchants.add_store(merchant_id, "S1", "森林装饰S1店")
    key, _ = await merchants.create_api_key(merchant_id)
    return key, merchant_id
