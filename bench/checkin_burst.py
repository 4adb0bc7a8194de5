"""Benchmark: the door's check-in burst through the real HTTP server, against its floor.

    .venv/bin/python bench/checkin_burst.py [--attendees 2000] [--scanners 4] [--rescan 0.10] [--rehearsal 200]
        [--workers 2] [--sync-batch 200] [--json out.json]

1. A fresh PostgreSQL database (`loyalty_bench_checkin`), migrated; N owners generated set-based in
   SQL (as bench/partner_throughput.py does); one `event_staff` account (`identity.create_staff`);
   the burst event, a free club activity starting in an hour (so the door, which opens
   `checkin_opens_minutes` = 120 before the start, is open), 50 attendance points, parties of 1 to
   3, its capacity exactly the people signed up; the first 20 signups through
   `signups.sign_up` (the service: eligibility, seats taken by a conditional UPDATE), the rest
   set-based in SQL with `event.seats_taken` moved by the same amount; every signup's ticket code
   (`signer.sign("ticket", id)`, the key the server derives from the same secret). A rehearsal
   event (the first R owners) warms the server before the burst.
2. The real server, `loyalty serve --host 127.0.0.1 --port P --workers 2`, and the floor
   (`bench/floor_app.py`: `POST /floor/checkin`, one asyncpg conditional `UPDATE floor_ticket ...
   WHERE id = $1 AND checked_in_at IS NULL RETURNING id`), both through bench/serve_nodelay.py
   under the same uvicorn, workers and log level, as in bench/partner_throughput.py. The staff
   member logs in once (`POST /api/v1/auth/staff-sessions`); the scanners send that session cookie.
3. S concurrent scanners (one keep-alive HTTP/1.1 connection each, a minimal asyncio client in
   this process so the load generator costs little CPU and the burst ends exactly when the last
   scan is answered): pass 1 scans every ticket exactly once (ticket i at scanner i mod S), pass 2
   re-scans an evenly spread 10% of the tickets at another scanner's gate. Each scan carries its
   own nonce, as a real scanner does. Order: rehearsal of both servers, then floor, app, floor
   (the floor measured before and after the app, same plan, fresh floor rows each time).
4. Checks in the database afterwards: every signup attended exactly once (attended = N, none left
   confirmed), exactly one attendance ledger entry per signup (`event-attend:<signup id>`), the
   scan log's answers (N `checked_in`, the re-scans `already_checked_in`), the answers the
   scanners got (the same), `points.audit_ledger()` clean, and the floor's rows each checked in once.
5. The offline door's return (issue #22): a third event with the same N signups; each ticket scanned
   once offline at one of S devices (ticket i at device i mod S, its own nonce and scan time), and
   every 100th ticket let in a second time at the next device (two offline doors: a conflict).
   The S devices sync at once, in batches of 200 as the page does (`POST /api/v1/staff/checkins/offline`),
   against the floor's `POST /floor/sync` (the conditional UPDATE per scan), floor before and after.
   Checks: N attended, N/100 conflicts reported, one scan row per nonce, the ledger clean.
6. Where a scan goes: a few steps of the check-in path timed in this process, sequentially,
   against the same database (no HTTP), next to the floor's UPDATE.

The issue sets no numeric target: scans per second and p50/p99 are reported against the floor.
Everything runs on 127.0.0.1 only; the servers and the database are removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loyalty import clock, db  # noqa: E402
from loyalty.cards import service as cards  # noqa: E402
from loyalty.events import catalog, checkin, signups  # noqa: E402
from loyalty.identity import service as identity  # noqa: E402
from loyalty.points import service as points  # noqa: E402
from loyalty.settings import load_settings  # noqa: E402
# The servers, their CPU accounting and the machine's ticks: the same helpers as the partner benchmark.
from partner_throughput import (  # noqa: E402
    Server,
    _delta_seconds,
    _system_ticks,
    _ticks_of,
    free_port,
    get_status,
    post,
)

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BENCH_DB = "loyalty_bench_checkin"
SECRET = "bench-checkin-burst-secret-0123456789abcdefghijklmnop"  # ≥ 32 characters, as the settings demand
STAFF_USER, STAFF_PASSWORD = "door-bench", "door-bench-password-1"
ATTENDANCE_POINTS = 50
SERVICE_SIGNUPS = 20  # signed up through the service; the rest set-based


def database_url() -> str:
    return f"{ADMIN_URL.rsplit('/', 1)[0]}/{BENCH_DB}"


async def _admin(sql: str) -> None:
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(sql)
    finally:
        await admin.close()


def server_env(url: str) -> dict[str, str]:
    return {"LOYALTY_DATABASE_URL": url, "LOYALTY_SECRET_KEY": SECRET}


# --- data -------------------------------------------------------------------------------------


def party(member_id: int) -> int:
    return 1 + member_id % 3


async def _event(staff_id: int, title: str, members: int) -> int:
    now = clock.now()
    starts = now + timedelta(hours=1)
    return await catalog.create_event(
        catalog.EventDraft(
            kind="club_activity", title_zh=title, title_en="Bench check-in burst", starts_at=starts,
            ends_at=starts + timedelta(hours=3), signup_opens_at=now - timedelta(days=1),
            signup_closes_at=starts - timedelta(minutes=30), cancel_deadline=starts - timedelta(minutes=45),
            capacity=sum(party(m) for m in range(1, members + 1)), party_size_limit=3,
            attendance_points=ATTENDANCE_POINTS, venue="基准会所",
        ),
        staff_id,
    )


async def _sign_up_all(connection: asyncpg.Connection, event_id: int, members: int, settings: Any, service: int) -> list[int]:
    """Members 1..service through the service, the rest set-based (seats taken alike); the
    signup ids in member order."""
    for member_id in range(1, min(service, members) + 1):
        await signups.sign_up(member_id, event_id, settings=settings, party_size=party(member_id))
    if members > service:
        async with connection.transaction():
            # The conditional seat update the service does, for the whole set at once.
            taken = await connection.fetchval(
                "UPDATE event SET seats_taken = seats_taken + $2 WHERE id = $1 AND seats_taken + $2 <= capacity "
                "RETURNING seats_taken",
                event_id, sum(party(m) for m in range(service + 1, members + 1)),
            )
            if taken is None:
                raise RuntimeError("the set-based signups do not fit the event's capacity")
            await connection.execute(
                """
                INSERT INTO signup (event, member, party_size, status, fee_fen, payment, hold_expires_at, created_at,
                                    confirmed_at, cancelled_at, cancel_reason, refund_fen, stripe_refund_id,
                                    refund_status, checked_in_at, checked_in_gate)
                SELECT $1, g, 1 + g % 3, 'confirmed', 0, NULL, NULL, now(), now(), NULL, '', 0, '', '', NULL, ''
                FROM generate_series($2::int, $3::int) AS g
                """,
                event_id, service + 1, members,
            )
    rows = await connection.fetch("SELECT id FROM signup WHERE event = $1 AND status = 'confirmed' ORDER BY member", event_id)
    if len(rows) != members:
        raise RuntimeError(f"{len(rows)} confirmed signups, not {members}")
    return [row["id"] for row in rows]


async def prepare(attendees: int, rehearsal: int) -> dict[str, Any]:
    await _admin(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    await _admin(f'CREATE DATABASE "{BENCH_DB}"')
    url = database_url()
    db.bind(db.engine_from_url(url))
    await db.start()
    await db.migrate()
    started = time.perf_counter()
    settings = load_settings(server_env(url))
    signer = cards.signer_for(settings)
    connection = await asyncpg.connect(url)
    try:
        today = clock.today()
        await connection.execute(f"""
            INSERT INTO project (id, code, name, name_en, city) VALUES (1, 'BENCH', '基准楼盘', 'Bench Project', '杭州');
            INSERT INTO member (id, name, phone, gender, language, stage)
            SELECT g, '业主' || g, '+8613' || lpad(g::text, 9, '0'), 'unknown', 'zh-CN', 'prospect'
            FROM generate_series(1, {attendees}) AS g;
            INSERT INTO unit (id, project, phase, building, room, contract_price_fen)
            SELECT g, 1, '1期', '1幢', g::text, 300000000 FROM generate_series(1, {attendees}) AS g;
            INSERT INTO ownership (member, unit, contract_date, status)
            SELECT g, g, DATE '{today.isoformat()}' - 100, 'active' FROM generate_series(1, {attendees}) AS g;
            SELECT setval(pg_get_serial_sequence('project', 'id'), 1);
            SELECT setval(pg_get_serial_sequence('member', 'id'), {attendees});
            SELECT setval(pg_get_serial_sequence('unit', 'id'), {attendees});
        """)
        staff = await identity.create_staff(STAFF_USER, STAFF_PASSWORD, "event_staff", display_name="门口扫码")
        rehearsal_event = await _event(staff.id, "彩排", rehearsal)
        event_id = await _event(staff.id, "业主见面会（签到压测）", attendees)
        rehearsal_signups = await _sign_up_all(connection, rehearsal_event, rehearsal, settings, service=0)
        signup_ids = await _sign_up_all(connection, event_id, attendees, settings, service=SERVICE_SIGNUPS)
        sync_event = await _event(staff.id, "业主见面会（离线同步压测）", attendees)
        sync_signups = await _sign_up_all(connection, sync_event, attendees, settings, service=0)
        # The floor's tickets: the rehearsal's, then one fresh set per measured floor burst.
        await connection.execute(
            "CREATE TABLE floor_ticket (id int PRIMARY KEY, checked_in_at timestamptz, gate text NOT NULL DEFAULT '');"
            f"INSERT INTO floor_ticket (id) SELECT g FROM generate_series(1, {rehearsal + 4 * attendees}) AS g;"
        )
        await connection.execute("VACUUM ANALYZE")
        people = await connection.fetchval("SELECT sum(party_size) FROM signup WHERE event = $1", event_id)
        seats = await connection.fetchrow("SELECT seats_taken, capacity FROM event WHERE id = $1", event_id)
    finally:
        await connection.close()
    return {
        "url": url,
        "settings": settings,
        "signer": signer,
        "staff_id": staff.id,
        "event_id": event_id,
        "rehearsal_event_id": rehearsal_event,
        "sync_event_id": sync_event,
        "sync_tickets": [signer.sign("ticket", i) for i in sync_signups],
        "signup_ids": signup_ids,
        "tickets": [signer.sign("ticket", s) for s in signup_ids],
        "rehearsal_tickets": [signer.sign("ticket", s) for s in rehearsal_signups],
        "people": int(people),
        "seats_taken": seats["seats_taken"],
        "capacity": seats["capacity"],
        "seconds": round(time.perf_counter() - started, 1),
    }


# --- the scanners -----------------------------------------------------------------------------


def plan(count: int, scanners: int, rescan: float) -> tuple[list[list[tuple[int, int]]], list[int]]:
    """Per scanner, its (ticket index, pass) scans in order: pass 1 every ticket once (ticket i at
    scanner i mod S), then pass 2 an evenly spread `rescan` share of the tickets, each at the
    next scanner (another gate). Also returns the re-scanned indices."""
    lanes: list[list[tuple[int, int]]] = [[] for _ in range(scanners)]
    for i in range(count):
        lanes[i % scanners].append((i, 1))
    again = sorted({int(k * count / round(count * rescan)) for k in range(round(count * rescan))}) if rescan > 0 else []
    for i in again:
        lanes[(i + 1) % scanners].append((i, 2))
    return lanes, again


def _request(port: int, path: str, body: dict[str, Any], cookie: str) -> bytes:
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"{'Cookie: ' + cookie + chr(13) + chr(10) if cookie else ''}Content-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


async def _scanner(port: int, requests: list[tuple[bytes, int]], out: list[tuple[float, int, str, int]]) -> None:
    """One scanner: one keep-alive connection, one scan after the other; records (latency s,
    status, result, pass) per scan. A minimal HTTP/1.1 client (Content-Length bodies only)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for raw, scan_pass in requests:
            started = time.perf_counter()
            writer.write(raw)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            body = await reader.readexactly(length)
            elapsed = time.perf_counter() - started
            status = int(status_line.split()[1])
            result = json.loads(body).get("result", "") if status == 200 else body.decode(errors="replace")[:200]
            out.append((elapsed, status, result, scan_pass))
    finally:
        writer.close()
        await writer.wait_closed()


def _percentile(sorted_values: list[float], pct: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values)) - 1))]


def _postgres_backends(cmdline: str) -> bool:
    return cmdline.startswith("postgres: ") and f" {BENCH_DB} " in cmdline


def burst(server: Server, name: str, lanes: list[list[tuple[bytes, int]]]) -> dict[str, Any]:
    """Run the scanners at once; the figures of the burst, from the first scan sent to the last
    answered."""
    out: list[tuple[float, int, str, int]] = []
    pg_before = _ticks_of(_postgres_backends)
    cpu_before, (total_before, idle_before, irq_before, _) = server.cpu_seconds(), _system_ticks()
    me_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()

    async def run() -> None:
        await asyncio.gather(*(_scanner(server.port, lane, out) for lane in lanes))

    asyncio.run(run())
    wall = time.perf_counter() - started
    me_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu_after, (total_after, idle_after, irq_after, _) = server.cpu_seconds(), _system_ticks()
    pg_cpu = _delta_seconds(pg_before, _ticks_of(_postgres_backends))
    hz = os.sysconf("SC_CLK_TCK")
    latencies = sorted(elapsed for elapsed, *_ in out)
    results: dict[str, int] = {}
    by_pass: dict[str, dict[str, int]] = {}
    for _, status, result, scan_pass in out:
        key = result if status == 200 else f"HTTP {status}"
        results[key] = results.get(key, 0) + 1
        by_pass.setdefault(str(scan_pass), {}).setdefault(key, 0)
        by_pass[str(scan_pass)][key] += 1
    scans = len(out)
    return {
        "name": name,
        "scans": scans,
        "seconds": round(wall, 3),
        "scans_per_s": round(scans / wall, 1),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 3),
        "p50_ms": round(_percentile(latencies, 50) * 1000, 3),
        "p90_ms": round(_percentile(latencies, 90) * 1000, 3),
        "p99_ms": round(_percentile(latencies, 99) * 1000, 3),
        "max_ms": round(latencies[-1] * 1000, 3),
        "results": results,
        "results_by_pass": by_pass,
        "errors": sum(n for key, n in results.items() if key.startswith("HTTP ")),
        "server_cpu_ms_per_scan": round((cpu_after - cpu_before) * 1000 / max(scans, 1), 3),
        "postgres_cpu_ms_per_scan": round(pg_cpu * 1000 / max(scans, 1), 3),
        "client_cpu_ms_per_scan": round(
            (me_after.ru_utime + me_after.ru_stime - me_before.ru_utime - me_before.ru_stime) * 1000 / max(scans, 1), 3),
        "machine_cores_busy": round(((total_after - total_before) - (idle_after - idle_before)) / hz / wall, 2),
        "machine_irq_cores": round((irq_after - irq_before) / hz / wall, 2),
    }


def app_lanes(port: int, event_id: int, tickets: list[str], lanes: list[list[tuple[int, int]]], cookie: str,
              run: str) -> list[list[tuple[bytes, int]]]:
    return [
        [(_request(port, "/api/v1/staff/checkins", {"event_id": event_id, "code": tickets[i], "gate": f"G{s + 1}",
                                                     "nonce": f"{run}-{s}-{k}"}, cookie), scan_pass)
         for k, (i, scan_pass) in enumerate(lane)]
        for s, lane in enumerate(lanes)
    ]


def floor_lanes(port: int, first_id: int, lanes: list[list[tuple[int, int]]]) -> list[list[tuple[bytes, int]]]:
    return [
        [(_request(port, "/floor/checkin", {"ticket": first_id + i, "gate": f"G{s + 1}"}, ""), scan_pass)
         for i, scan_pass in lane]
        for s, lane in enumerate(lanes)
    ]


# --- the offline door's return ---------------------------------------------------------------

SYNC_CONFLICT_EVERY = 100  # every 100th ticket let in at two offline doors


def sync_plan(count: int, devices: int) -> list[list[tuple[int, int]]]:
    """Per device, in scan order: (ticket index, pass); pass 2 is a ticket the previous device let in too."""
    lanes: list[list[tuple[int, int]]] = [[] for _ in range(devices)]
    for i in range(count):
        lanes[i % devices].append((i, 1))
    for i in range(0, count, SYNC_CONFLICT_EVERY):
        lanes[(i + 1) % devices].append((i, 2))
    return lanes


def _scan_time(base: Any, count: int, i: int, scan_pass: int) -> str:
    # Each ticket's first admission before any second one, 10 ms apart, all after the door opened.
    return (base + timedelta(milliseconds=(i if scan_pass == 1 else count + i) * 10)).isoformat()


def sync_app_lanes(port: int, event_id: int, tickets: list[str], plan: list[list[tuple[int, int]]], cookie: str,
                   run: str, batch: int, base: Any) -> list[list[tuple[bytes, int]]]:
    lanes = []
    for d, lane in enumerate(plan):
        scans = [{"nonce": f"{run}-d{d}-{k}", "code": tickets[i], "gate": f"G{d + 1}",
                  "scanned_at": _scan_time(base, len(tickets), i, scan_pass), "offline_result": "checked_in"}
                 for k, (i, scan_pass) in enumerate(lane)]
        lanes.append([
            (_request(port, "/api/v1/staff/checkins/offline",
                      {"event_id": event_id, "device": f"bench-door-{d + 1}", "scans": scans[b:b + batch]}, cookie), 1)
            for b in range(0, len(scans), batch)
        ])
    return lanes


def sync_floor_lanes(port: int, first_id: int, plan: list[list[tuple[int, int]]], run: str, batch: int) -> list[list[tuple[bytes, int]]]:
    lanes = []
    for d, lane in enumerate(plan):
        scans = [{"ticket": first_id + i, "gate": f"G{d + 1}", "nonce": f"{run}-d{d}-{k}"} for k, (i, _) in enumerate(lane)]
        lanes.append([(_request(port, "/floor/sync", {"scans": scans[b:b + batch]}, ""), 1) for b in range(0, len(scans), batch)])
    return lanes


def sync_figures(run: dict[str, Any], scans: int) -> dict[str, Any]:
    """A sync burst's figures per offline scan (the burst counts requests: batches)."""
    return {
        "name": run["name"], "scans": scans, "batches": run["scans"], "seconds": run["seconds"],
        "scans_per_s": round(scans / run["seconds"], 1), "batch_p50_ms": run["p50_ms"], "batch_p99_ms": run["p99_ms"],
        "errors": run["errors"], "server_cpu_ms_per_scan": round(run["server_cpu_ms_per_scan"] * run["scans"] / scans, 3),
        "postgres_cpu_ms_per_scan": round(run["postgres_cpu_ms_per_scan"] * run["scans"] / scans, 3),
    }


async def sync_checks(data: dict[str, Any], attendees: int, scans: int, floor_ranges: list[tuple[int, int]]) -> dict[str, Any]:
    connection = await asyncpg.connect(data["url"])
    event_id = data["sync_event_id"]
    try:
        attended = await connection.fetchval("SELECT count(*) FROM signup WHERE event = $1 AND status = 'attended'", event_id)
        rows = await connection.fetchrow(
            "SELECT count(*) AS n, count(DISTINCT nonce) AS nonces FROM scan WHERE event = $1 AND offline_result <> ''", event_id)
        entries = await connection.fetchval(
            "SELECT count(*) FROM ledger_entry e JOIN signup s ON e.idempotency_key = 'event-attend:' || s.id WHERE s.event = $1",
            event_id)
        floors = [await connection.fetchval(
            "SELECT count(*) FROM floor_ticket WHERE id BETWEEN $1 AND $2 AND checked_in_at IS NOT NULL", first, last)
            for first, last in floor_ranges]
    finally:
        await connection.close()
    count = await checkin.door_count(event_id)
    expected_conflicts = len(range(0, attendees, SYNC_CONFLICT_EVERY))
    return {
        "attended": attended, "scan_rows": rows["n"], "distinct_nonces": rows["nonces"], "attendance_entries": entries,
        "conflicts": count.conflicts, "expected_conflicts": expected_conflicts, "floor_checked_in": floors,
        "ok": attended == attendees and rows["n"] == scans == rows["nonces"] and entries == attendees
        and count.conflicts == expected_conflicts and all(n == attendees for n in floors),
    }


def login(port: int) -> str:
    """The staff member's session cookie(s), as `name=value; ...` for a Cookie header."""
    import urllib.request

    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/auth/staff-sessions", method="POST",
        data=json.dumps({"username": STAFF_USER, "password": STAFF_PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        if reply.status != 201:
            raise RuntimeError(f"staff login answered {reply.status}")
        cookies = [header.split(";", 1)[0] for header in reply.headers.get_all("Set-Cookie") or []]
    if not cookies:
        raise RuntimeError("staff login set no session cookie")
    return "; ".join(cookies)


def get_json(port: int, path: str, cookie: str) -> tuple[int, Any]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Cookie": cookie})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


# --- checks and breakdown -----------------------------------------------------------------------


async def checks(data: dict[str, Any], attendees: int, floor_ranges: list[tuple[int, int]]) -> dict[str, Any]:
    connection = await asyncpg.connect(data["url"])
    event_id = data["event_id"]
    try:
        statuses = {r["status"]: r["n"] for r in await connection.fetch(
            "SELECT status, count(*) AS n FROM signup WHERE event = $1 GROUP BY status", event_id)}
        not_once = await connection.fetchval(
            """SELECT count(*) FROM signup s WHERE s.event = $1 AND
               (SELECT count(*) FROM ledger_entry e WHERE e.idempotency_key = 'event-attend:' || s.id) <> 1""", event_id)
        entries = await connection.fetchrow(
            """SELECT count(*) AS n, count(DISTINCT e.idempotency_key) AS keys, COALESCE(sum(e.available_delta), 0) AS points
               FROM ledger_entry e JOIN signup s ON e.idempotency_key = 'event-attend:' || s.id WHERE s.event = $1""",
            event_id)
        scans = {r["result"]: r["n"] for r in await connection.fetch(
            "SELECT result, count(*) AS n FROM scan WHERE event = $1 GROUP BY result", event_id)}
        checked_gates = {r["checked_in_gate"]: r["n"] for r in await connection.fetch(
            "SELECT checked_in_gate, count(*) AS n FROM signup WHERE event = $1 GROUP BY checked_in_gate ORDER BY 1",
            event_id)}
        floors = []
        for first, last in floor_ranges:
            floors.append(await connection.fetchval(
                "SELECT count(*) FROM floor_ticket WHERE id BETWEEN $1 AND $2 AND checked_in_at IS NOT NULL", first, last))
    finally:
        await connection.close()
    drifts = await points.audit_ledger()
    count = await checkin.door_count(event_id)
    return {
        "signup_statuses": statuses,
        "attended": statuses.get("attended", 0),
        "signups_without_exactly_one_attendance_entry": not_once,
        "attendance_entries": entries["n"],
        "attendance_keys": entries["keys"],
        "attendance_points_total": int(entries["points"]),
        "scan_log": scans,
        "first_gates": checked_gates,
        "door_count": vars(count),
        "ledger_drifts": len(drifts),
        "floor_checked_in": floors,
        "ok": statuses.get("attended", 0) == attendees and len(statuses) == 1 and not_once == 0
        and entries["n"] == attendees and entries["keys"] == attendees and not drifts
        and all(n == attendees for n in floors),
    }


async def _timed(repeat: int, operation: Callable[[int], Any]) -> dict[str, float]:
    for i in range(max(repeat // 10, 10)):  # warm-up
        await operation(i)
    samples = []
    for i in range(repeat):
        started = time.perf_counter()
        await operation(i)
        samples.append(time.perf_counter() - started)
    samples.sort()
    return {"median_ms": round(statistics.median(samples) * 1000, 3), "p99_ms": round(_percentile(samples, 99) * 1000, 3)}


async def breakdown(data: dict[str, Any], repeat: int) -> dict[str, Any]:
    """Steps of a scan, one after another in this process (after the checks: the full check-in
    below writes scan rows)."""
    signer, tickets, event_id = data["signer"], data["tickets"], data["event_id"]
    n = len(tickets)
    connection = await asyncpg.connect(data["url"])
    nonces = itertools.count()

    async def full(i: int) -> None:
        await checkin.check_in(
            event_id, tickets[i % n], gate="B", signer=signer, staff_id=data["staff_id"], nonce=f"bd-{next(nonces)}"
        )

    async def signer_open(i: int) -> None:
        signer.open(tickets[i % n])

    try:
        steps = {
            "floor: asyncpg conditional UPDATE floor_ticket … RETURNING id (row already checked in)": lambda i:
                connection.fetchval("UPDATE floor_ticket SET checked_in_at = now(), gate = $2 "
                                    "WHERE id = $1 AND checked_in_at IS NULL RETURNING id", 1 + i % n, "B"),
            "identity.get_staff (the staff guard's query, every request)": lambda i: identity.get_staff(data["staff_id"]),
            "signer.open (Ed25519 verify of the ticket)": signer_open,
            "checkin.door_count (the live count: aggregate over the event's signups)": lambda i: checkin.door_count(event_id),
            "checkin.check_in, ticket already in, with a nonce (the whole service call)": full,
        }
        return {name: await _timed(repeat, operation) for name, operation in steps.items()}
    finally:
        await connection.close()


# --- the run ----------------------------------------------------------------------------------


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main(attendees: int, scanners: int, rescan: float, rehearsal: int, workers: int, repeat: int, sync_batch: int = 200) -> dict[str, Any]:
    load_before = _loadavg()
    logs = Path(tempfile.mkdtemp(prefix="bench-checkin-"))
    servers: list[Server] = []
    loop = asyncio.new_event_loop()
    try:
        data = loop.run_until_complete(prepare(attendees, rehearsal))
        print(f"data ready in {data['seconds']} s: {attendees} confirmed signups, {data['people']} people "
              f"(seats taken {data['seats_taken']} of {data['capacity']})", file=sys.stderr)
        url = data["url"]
        wrapper = [sys.executable, str(ROOT / "bench" / "serve_nodelay.py")]
        app_port, floor_port = free_port(), free_port()
        app = Server("app", wrapper + ["loyalty", "serve", "--host", "127.0.0.1", "--port", str(app_port),
                                       "--workers", str(workers)], server_env(url), app_port, logs)
        floor = Server("floor", wrapper + ["uvicorn", "--app-dir", str(ROOT / "bench"), "floor_app:create", "--factory",
                                           "--host", "127.0.0.1", "--port", str(floor_port), "--workers", str(workers),
                                           "--log-level", "info"], {"BENCH_FLOOR_DATABASE_URL": url}, floor_port, logs)
        servers += [app, floor]
        app.wait_ready(lambda: get_status(app.port, "/health") == 200, timeout=240)
        floor.wait_ready(lambda: post(floor.port, "/floor/checkin", {"ticket": 0, "gate": "probe"}, {})[0] == 200, timeout=240)
        cookie = login(app.port)
        status, probe = get_json(app.port, f"/api/v1/staff/events/{data['event_id']}/door", cookie)
        if status != 200 or probe.get("expected") != attendees:
            raise RuntimeError(f"the door answered {status}: {probe}")

        run = f"r{int(time.time())}"
        warm_lanes, _ = plan(rehearsal, scanners, rescan)
        lanes, rescanned = plan(attendees, scanners, rescan)
        rehearsals = [
            burst(floor, "floor rehearsal", floor_lanes(floor.port, 1, warm_lanes)),
            burst(app, "app rehearsal", app_lanes(app.port, data["rehearsal_event_id"], data["rehearsal_tickets"],
                                                   warm_lanes, cookie, f"{run}w")),
        ]
        floor_ranges = [(rehearsal + 1, rehearsal + attendees), (rehearsal + attendees + 1, rehearsal + 2 * attendees)]
        measured = {}
        for name, server, lane_set in (
            ("floor_before", floor, floor_lanes(floor.port, floor_ranges[0][0], lanes)),
            ("app", app, app_lanes(app.port, data["event_id"], data["tickets"], lanes, cookie, run)),
            ("floor_after", floor, floor_lanes(floor.port, floor_ranges[1][0], lanes)),
        ):
            r = measured[name] = burst(server, name, lane_set)
            print(f"{name:>12}: {r['scans']} scans in {r['seconds']:.2f} s = {r['scans_per_s']:8.1f} scans/s  "
                  f"p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  results {r['results']}  server CPU "
                  f"{r['server_cpu_ms_per_scan']:.2f} ms/scan, postgres {r['postgres_cpu_ms_per_scan']:.2f}",
                  file=sys.stderr)
        status, door_after = get_json(app.port, f"/api/v1/staff/events/{data['event_id']}/door", cookie)

        # The offline doors come back: S devices sync their scans at once, between two floor runs.
        splan = sync_plan(attendees, scanners)
        sync_scans = sum(len(lane) for lane in splan)
        sync_floor_ranges = [(rehearsal + 2 * attendees + 1, rehearsal + 3 * attendees),
                             (rehearsal + 3 * attendees + 1, rehearsal + 4 * attendees)]
        base = clock.now() - timedelta(minutes=50)
        synced = {}
        for name, server, lane_set in (
            ("sync_floor_before", floor, sync_floor_lanes(floor.port, sync_floor_ranges[0][0], splan, run, sync_batch)),
            ("sync_app", app, sync_app_lanes(app.port, data["sync_event_id"], data["sync_tickets"], splan, cookie, run,
                                             sync_batch, base)),
            ("sync_floor_after", floor, sync_floor_lanes(floor.port, sync_floor_ranges[1][0], splan, run, sync_batch)),
        ):
            r = synced[name] = sync_figures(burst(server, name, lane_set), sync_scans)
            print(f"{name:>17}: {r['scans']} offline scans in {r['batches']} batches, {r['seconds']:.2f} s = "
                  f"{r['scans_per_s']:8.1f} scans/s  batch p50 {r['batch_p50_ms']:7.1f} ms  p99 {r['batch_p99_ms']:7.1f} ms  "
                  f"errors {r['errors']}", file=sys.stderr)
        load_after = _loadavg()
        for server in servers:
            server.stop()

        checked = loop.run_until_complete(checks(data, attendees, floor_ranges))
        sync_checked = loop.run_until_complete(sync_checks(data, attendees, sync_scans, sync_floor_ranges))
        sync_floor_rate = statistics.fmean([synced["sync_floor_before"]["scans_per_s"], synced["sync_floor_after"]["scans_per_s"]])
        steps = loop.run_until_complete(breakdown(data, repeat))
        floor_rate = statistics.fmean([measured["floor_before"]["scans_per_s"], measured["floor_after"]["scans_per_s"]])
        floor_p99 = statistics.fmean([measured["floor_before"]["p99_ms"], measured["floor_after"]["p99_ms"]])
        expected_answers = {"checked_in": attendees, "already_checked_in": len(rescanned)}
        return {
            "benchmark": "checkin_burst",
            "command": f"bench/checkin_burst.py --attendees {attendees} --scanners {scanners} --rescan {rescan:g} "
                       f"--rehearsal {rehearsal} --workers {workers} --sync-batch {sync_batch}",
            "attendees": attendees,
            "people": data["people"],
            "scanners": scanners,
            "rescan": rescan,
            "rescanned": len(rescanned),
            "rehearsal": rehearsal,
            "workers": workers,
            "attendance_points": ATTENDANCE_POINTS,
            "service_signups": SERVICE_SIGNUPS,
            "data_seconds": data["seconds"],
            "load_before": load_before,
            "load_after": load_after,
            "rehearsals": rehearsals,
            "runs": measured,
            "floor_scans_per_s": round(floor_rate, 1),
            "floor_p99_ms": round(floor_p99, 3),
            "ratio": round(measured["app"]["scans_per_s"] / floor_rate, 3),
            "p99_factor": round(measured["app"]["p99_ms"] / floor_p99, 2),
            "answers_ok": all(measured[name]["results"] == expected_answers for name in measured),
            "expected_answers": expected_answers,
            "door_after": door_after if status == 200 else {"status": status},
            "checks": checked,
            "breakdown": steps,
            "offline_sync": {
                "scans": sync_scans, "devices": scanners, "batch": sync_batch, "runs": synced,
                "floor_scans_per_s": round(sync_floor_rate, 1),
                "ratio": round(synced["sync_app"]["scans_per_s"] / sync_floor_rate, 3),
                "checks": sync_checked,
            },
            "repeat": repeat,
        }
    finally:
        for server in servers:
            try:
                server.stop()
            except Exception as error:  # noqa: BLE001 - keep cleaning up
                print(f"stopping {server.name}: {error}", file=sys.stderr)
        try:
            loop.run_until_complete(db.stop())
        except Exception:  # noqa: BLE001 - the pool may be closed already
            pass
        loop.run_until_complete(_admin(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'))
        loop.close()
        shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attendees", type=int, default=2000, help="confirmed signups (each with a ticket)")
    parser.add_argument("--scanners", type=int, default=4, help="concurrent scanners, one connection each")
    parser.add_argument("--rescan", type=float, default=0.10, help="share of tickets scanned again in pass 2")
    parser.add_argument("--rehearsal", type=int, default=200, help="attendees of the warm-up event")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers of both servers")
    parser.add_argument("--repeat", type=int, default=300, help="calls per step of the in-process breakdown")
    parser.add_argument("--sync-batch", type=int, default=200, help="offline scans per sync request (the page sends 200)")
    parser.add_argument("--json", type=str, default=None, help="also write the figures to this file")
    args = parser.parse_args()
    figures = main(args.attendees, args.scanners, args.rescan, args.rehearsal, args.workers, args.repeat, args.sync_batch)
    text = json.dumps(figures, ensure_ascii=False, indent=2, default=str)
    print(text)
    if args.json:
        Path(args.json).write_text(text)
    if not (figures["checks"]["ok"] and figures["answers_ok"]):
        sys.exit("the check-in burst did not check every attendee in exactly once: see checks")
    if not figures["offline_sync"]["checks"]["ok"]:
        sys.exit("the offline sync did not apply every scan exactly once with its conflicts: see offline_sync.checks")
