"""Benchmark: the partner API's verify and sale through the real HTTP server, against their floors.

    .venv/bin/python bench/partner_throughput.py [--owners 2000] [--seconds 15] [--stock-seconds 5] [--connections 16]
        [--profile DIR] [--json out.json]

1. A fresh PostgreSQL database (`loyalty_bench_partner`), migrated; N owners generated set-based
   in SQL (odd members own two units, even members one), then `cards.issue_missing_cards()`
   issues their cards with the tier the default rules give (two units: gold; one: blue); one
   merchant (`points_per_cny=1`) with one store, a gold (10%) and a blue (3%) discount and a
   store API key; 1,000,000 points per owner (`points.earn`); every owner's static card code
   (`cards.static_code`, signed with the key the server derives from the same secret) for the
   verifies. A sale with points needs the phone's dynamic code, used once: before every wrk run
   that sells, a pool of fresh dynamic codes (this minute's step, a nonce each, more than the run
   can use) is signed with the same key and written beside the script (`paying_codes`); each
   wrk thread takes its own slice, so no code is sent twice.
2. The real server, `loyalty serve --host 127.0.0.1 --port P --workers 2` (Redis db 14 for the
   rate limit, set to 1000000/minute so it counts but never throttles), and the floor,
   `bench/floor_app.py` under the same uvicorn with the same worker count and log level, on
   another port. Both run twice: first through bench/serve_nodelay.py, which gives uvicorn's
   multi-worker socket the TCP_NODELAY that uvicorn forgets (issue #3149; without it every
   keep-alive request waits ~40 ms for a delayed ACK, on both servers alike) — the headline
   figures; then stock, for `--stock-seconds` per route, to show that stall.
3. `wrk` (Debian's; `apt-get install -y wrk`) with a generated Lua script, one run per route
   after a warm-up: `POST /partner/v1/codes/verify` rotating over every owner's code;
   `POST /partner/v1/sales` (12,800 fen, the tier's full discount, 100 points redeemed, a unique
   Idempotency-Key and a fresh dynamic code per request); their floors `POST /floor/verify` (one indexed asyncpg SELECT)
   and `POST /floor/sales` (one asyncpg transaction: one INSERT, one UPDATE), with the same
   headers and comparable bodies. `--latency` gives the percentiles; the script's `done()`
   prints them exactly, and wrk's own summary is kept alongside.
4. Where a verify goes: each step of the verify path timed in this process, sequentially,
   against the same database and Redis (no HTTP), next to the floor's SELECT; with `--profile
   DIR`, py-spy also samples the app's workers during one more (unmeasured) verify run.

Per run it records, besides wrk's figures, the CPU per request of the server's processes, of
the benchmark database's PostgreSQL backends and of redis-server, and how busy the machine
was (it is shared: other work shows there).

Targets (DESIGN.md): verify ≥ 60% of its floor's throughput and p99 ≤ 3× the floor's; a sale with
points redemption ≥ 40% of its floor (one INSERT and one UPDATE in one transaction).
Everything runs on 127.0.0.1 only; the servers, the database and the Redis keys are removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import re
import resource
import shutil
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path
from typing import Any, Callable

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.sms_server import SERVER_SMS_ENV  # noqa: E402

from loyalty import clock, db  # noqa: E402
from loyalty.cards import codes, service as cards  # noqa: E402
from loyalty.cards.tables import Card  # noqa: E402
from loyalty.merchants import service as merchants  # noqa: E402
from loyalty.points import service as points  # noqa: E402
from loyalty.settings import load_settings  # noqa: E402
from partner_api.auth import RateLimit  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BENCH_DB = "loyalty_bench_partner"
REDIS_URL = "redis://127.0.0.1:6379/14"
SECRET = "bench-partner-api-secret-0123456789abcdefghijklmnop"  # ≥ 32 characters, as the settings demand
RATE_LIMIT = "1000000/minute"
GROSS_FEN = 12_800
POINTS_PER_SALE = 100
DISCOUNT_BP = {"gold": 1000, "blue": 300}
TARGET_VERIFY_RATIO = 0.60
TARGET_VERIFY_P99_FACTOR = 3.0
TARGET_SALE_RATIO = 0.40


def database_url() -> str:
    base = ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{BENCH_DB}"


# --- data -------------------------------------------------------------------------------------


async def _admin(sql: str) -> None:
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(sql)
    finally:
        await admin.close()


async def prepare(owners: int) -> dict[str, Any]:
    """Fresh database, owners with cards, a merchant with discounts and a key, points, codes."""
    await _admin(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    await _admin(f'CREATE DATABASE "{BENCH_DB}"')
    url = database_url()
    db.bind(db.engine_from_url(url))
    await db.start()
    await db.migrate()
    started = time.perf_counter()
    connection = await asyncpg.connect(url)
    try:
        today = clock.today()
        # Odd members own two units (the default rules: gold), even members one (blue). No
        # delivery date, stage `prospect`: nothing else lifts a tier.
        await connection.execute(f"""
            INSERT INTO project (id, code, name, name_en, city) VALUES (1, 'BENCH', '基准楼盘', 'Bench Project', '杭州');
            INSERT INTO member (id, name, phone, gender, language, stage)
            SELECT g, '业主' || g, '+8613' || lpad(g::text, 9, '0'), 'unknown', 'zh-CN', 'prospect'
            FROM generate_series(1, {owners}) AS g;
            CREATE TEMP TABLE unit_plan AS
            SELECT row_number() OVER (ORDER BY g, k) AS unit_id, g AS member_id
            FROM generate_series(1, {owners}) AS g, generate_series(1, 1 + g % 2) AS k;
            INSERT INTO unit (id, project, phase, building, room, contract_price_fen)
            SELECT unit_id, 1, '1期', '1幢', unit_id::text, 300000000 FROM unit_plan;
            INSERT INTO ownership (member, unit, contract_date, status)
            SELECT member_id, unit_id, DATE '{today.isoformat()}' - 100, 'active' FROM unit_plan;
            SELECT setval(pg_get_serial_sequence('project', 'id'), 1);
            SELECT setval(pg_get_serial_sequence('member', 'id'), {owners});
            SELECT setval(pg_get_serial_sequence('unit', 'id'), (SELECT max(unit_id) FROM unit_plan));
        """)
    finally:
        await connection.close()
    issued = await cards.issue_missing_cards()
    merchant_id = await merchants.create_merchant("基准咖啡", "other", points_per_cny=1)
    store_id = await merchants.add_store(merchant_id, "S1", "基准咖啡 一号店")
    for tier, percent_bp in DISCOUNT_BP.items():
        await merchants.set_discount(merchant_id, tier, percent_bp, valid_from=date(2020, 1, 1))
    raw_key, key_id = await merchants.create_api_key(merchant_id, store_id=store_id, label="bench till")

    settings = load_settings(server_env(url))
    signer = cards.signer_for(settings)
    members = list(range(1, owners + 1))

    async def earn(member_id: int) -> None:
        await points.earn(member_id, 1_000_000, key=f"bench-seed:{member_id}", source_kind="bench")

    async def code(member_id: int) -> str:
        return await cards.static_code(member_id, signer)

    for start in range(0, owners, 16):  # 16 at a time: the pool has 20 connections
        await asyncio.gather(*(earn(m) for m in members[start : start + 16]))
    codes: list[str] = []
    for start in range(0, owners, 16):
        codes += await asyncio.gather(*(code(m) for m in members[start : start + 16]))
    card_rows = await Card.select(Card.id, Card.member, Card.tier).where(Card.status != "replaced").order_by(Card.member)
    tiers = {row["member"]: row["tier"] for row in card_rows}
    card_ids = {row["member"]: row["id"] for row in card_rows}

    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "CREATE TABLE floor_account (member int PRIMARY KEY, available bigint NOT NULL);"
            "CREATE TABLE floor_ledger (id bigserial PRIMARY KEY, member int NOT NULL, delta bigint NOT NULL,"
            " idempotency_key text UNIQUE NOT NULL, created_at timestamptz NOT NULL DEFAULT now());"
            f"INSERT INTO floor_account SELECT g, 1000000 FROM generate_series(1, {owners}) AS g;"
        )
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()

    distribution: dict[str, int] = {}
    for tier in tiers.values():
        distribution[tier] = distribution.get(tier, 0) + 1
    return {
        "url": url,
        "owners": owners,
        "cards_issued": len(issued),
        "tiers": distribution,
        "merchant_id": merchant_id,
        "store_id": store_id,
        "key_id": key_id,
        "raw_key": raw_key,
        "members": members,
        "codes": codes,
        "card_ids": [card_ids[m] for m in members],
        "discounts": [GROSS_FEN * DISCOUNT_BP.get(tiers[m], 0) // 10000 for m in members],
        "seconds": round(time.perf_counter() - started, 1),
        "settings": settings,
    }


def server_env(url: str) -> dict[str, str]:
    return {
        "LOYALTY_DATABASE_URL": url,
        "LOYALTY_SECRET_KEY": SECRET,
        "LOYALTY_BROKER_URL": REDIS_URL,
        "LOYALTY_PARTNER_RATE_LIMIT": RATE_LIMIT,
        # One merchant sells for the whole run: its daily earn cap must not cut the sales short.
        "LOYALTY_MERCHANT_EARN_MAX_PER_DAY": "1000000000",
        # `serve` without --demo wants a real SMS configuration; the run sends none.
        **SERVER_SMS_ENV,
    }


def clear_rate_limit_keys() -> int:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match="LIMITS*partner-key*"))
        if keys:
            client.delete(*keys)
        return len(keys)
    finally:
        client.close()


# --- servers ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return -1


class Server:
    """One uvicorn master and its workers, in their own session (stopped as a group)."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], port: int, logs: Path) -> None:
        self.name, self.port = name, port
        self.log_path = logs / f"{name}.log"
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
        full_env.update(env)
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=full_env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def tree(self) -> list[int]:
        """The master and every process below it (the uvicorn workers)."""
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
        inside = {self.process.pid}
        changed = True
        while changed:
            changed = False
            for pid in pids:
                if pid not in inside and _parent(pid) in inside:
                    inside.add(pid)
                    changed = True
        return sorted(inside)

    def cpu_seconds(self) -> float:
        return sum(_ticks(pid) for pid in self.tree()) / os.sysconf("SC_CLK_TCK")

    def wait_ready(self, probe: Callable[[], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.tail()}")
            try:
                if probe():
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f} s: {self.tail()}")

    def tail(self, lines: int = 30) -> str:
        self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.log.close()


def post(port: int, path: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def get_status(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code


# --- load generator ---------------------------------------------------------------------------

LUA = r"""-- generated by bench/partner_throughput.py: POST bodies rotating over every owner
local codes = {%(codes)s}
local card_ids = {%(card_ids)s}
local members = {%(members)s}
local discounts = {%(discounts)s}
local auth = "Bearer %(raw_key)s"
local gross, points = %(gross)d, %(points)d
local next_tid = 0
local mode, run, counter
local paying, slice, sold = {}, 1, 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
end

function init(args)
  mode, run = args[1], args[2]
  counter = tid * 7919  -- threads start at different owners
  if mode == "sale" then  -- one-time dynamic codes: "<code> <owner index>" per line, a slice per thread
    for line in io.lines("%(paying_path)s") do
      local code, owner = line:match("(%%S+) (%%d+)")
      paying[#paying + 1] = {code, tonumber(owner)}
    end
    slice = math.floor(#paying / tonumber(args[3]))
  end
end

function request()
  counter = counter + 1
  local i = counter %% #codes + 1
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = auth}
  if mode == "verify" then
    return wrk.format("POST", "/partner/v1/codes/verify", headers, '{"code":"' .. codes[i] .. '"}')
  elseif mode == "sale" then
    headers["Idempotency-Key"] = run .. "-" .. tid .. "-" .. counter
    local pay = paying[tid * slice + sold %% slice + 1]
    sold = sold + 1
    return wrk.format("POST", "/partner/v1/sales", headers, string.format(
      '{"code":"%%s","gross_fen":%%d,"discount_fen":%%d,"points_to_redeem":%%d}', pay[1], gross, discounts[pay[2]], points))
  elseif mode == "floor_verify" then
    return wrk.format("POST", "/floor/verify", headers, string.format('{"card_id":%%d}', card_ids[i]))
  else  -- floor_sale
    headers["Idempotency-Key"] = run .. "-" .. tid .. "-" .. counter
    return wrk.format("POST", "/floor/sales", headers, string.format('{"member":%%d}', members[i]))
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%%d,"duration_us":%%d,"bytes":%%d,"connect_errors":%%d,"read_errors":%%d,' ..
    '"write_errors":%%d,"timeouts":%%d,"status_errors":%%d,"mean_us":%%.1f,"max_us":%%d,' ..
    '"p50_us":%%d,"p75_us":%%d,"p90_us":%%d,"p99_us":%%d,"p999_us":%%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.timeout, e.status,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
end
"""


def write_lua(path: Path, data: dict[str, Any]) -> None:
    def lua_list(values: list[Any]) -> str:
        return ",".join(f'"{v}"' if isinstance(v, str) else str(v) for v in values)

    path.write_text(LUA % {
        "codes": lua_list(data["codes"]), "card_ids": lua_list(data["card_ids"]), "members": lua_list(data["members"]),
        "discounts": lua_list(data["discounts"]), "raw_key": data["raw_key"], "gross": GROSS_FEN,
        "points": POINTS_PER_SALE, "paying_path": paying_path(path),
    })
    PAYING[str(path)] = data


# Scripts whose runs sell with points: their data, to sign fresh dynamic codes before each run.
PAYING: dict[str, dict[str, Any]] = {}
PAYING_MODES = ("sale", "mix")
PAYING_CODES_PER_SECOND = 6000  # more than a sale run reaches on this machine


def paying_path(script: Path) -> Path:
    return script.with_suffix(".paying")


def paying_codes(script: Path, seconds: float) -> int:
    """A pool of one-time dynamic codes for the next run of `script`, signed for this minute
    (accepted this minute and the next: a run must start within a minute and last under one).
    Line n pays as owner n mod N, so the discount sent is that owner's tier's."""
    data = PAYING[str(script)]
    signer = cards.signer_for(data["settings"])
    step = codes.current_step(time.time())
    base = secrets.randbits(31)  # a run in the same minute as the last one gets other nonces
    count = int(max(seconds, 1) * PAYING_CODES_PER_SECOND) + 1000
    card_ids, n = data["card_ids"], len(data["card_ids"])
    lines = (f"{signer.sign('dynamic', card_ids[j % n], step, nonce=base + j)} {j % n + 1}" for j in range(count))
    paying_path(script).write_text("\n".join(lines) + "\n")
    return count


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _parse_wrk_text(text: str) -> dict[str, Any]:
    """wrk's own summary: requests/s, the --latency distribution, non-2xx/3xx, socket errors."""
    parsed: dict[str, Any] = {}
    if match := re.search(r"Requests/sec:\s+([\d.]+)", text):
        parsed["rps"] = float(match.group(1))
    for pct, value, unit in re.findall(r"^\s+(\d+(?:\.\d+)?)%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M):
        parsed[f"p{pct.replace('.', '')}_ms"] = round(float(value) * _UNITS_MS[unit], 3)
    match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    parsed["non_2xx"] = int(match.group(1)) if match else 0
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    parsed["socket_errors"] = sum(int(g) for g in match.groups()) if match else 0
    return parsed


def _ticks_of(match: Callable[[str], bool]) -> dict[int, int]:
    """CPU ticks of every process whose command line matches (e.g. this database's backends)."""
    ticks = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if match(cmdline):
            ticks[int(entry)] = _ticks(int(entry))
    return ticks


def _postgres_backends(cmdline: str) -> bool:
    # PostgreSQL titles a backend "postgres: <user> <database> <client> <state>".
    return cmdline.startswith("postgres: ") and f" {BENCH_DB} " in cmdline


def _redis_server(cmdline: str) -> bool:
    return cmdline.startswith("redis-server") and ":6379" in cmdline


def _delta_seconds(before: dict[int, int], after: dict[int, int]) -> float:
    return sum(ticks - before.get(pid, 0) for pid, ticks in after.items()) / os.sysconf("SC_CLK_TCK")


def _system_ticks() -> tuple[int, int, int, int]:
    """All CPUs: total, idle (+ iowait), interrupts (irq + softirq: loopback networking runs
    there, charged to no process) and steal ticks, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(fields[:8]), fields[3] + fields[4], fields[5] + fields[6], fields[7]


def run_wrk(
    server: Server, mode: str, script: Path, *, seconds: float, connections: int, threads: int, run: str
) -> dict[str, Any]:
    if mode in PAYING_MODES and str(script) in PAYING:
        paying_codes(script, seconds)
    command = [
        "wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s", "--latency", "--timeout", "10s",
        "-s", str(script), f"http://127.0.0.1:{server.port}", "--", mode, run, str(threads),
    ]
    pg_before, redis_before = _ticks_of(_postgres_backends), _ticks_of(_redis_server)
    cpu_before, (total_before, idle_before, irq_before, steal_before) = server.cpu_seconds(), _system_ticks()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_after, (total_after, idle_after, irq_after, steal_after) = server.cpu_seconds(), _system_ticks()
    pg_cpu = _delta_seconds(pg_before, _ticks_of(_postgres_backends))
    redis_cpu = _delta_seconds(redis_before, _ticks_of(_redis_server))
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr}\n{done.stdout}")
    match = re.search(r"^WRK_JSON (\{.*\})$", done.stdout, re.M)
    if not match:
        raise RuntimeError(f"no WRK_JSON line in wrk's output:\n{done.stdout}")
    raw = json.loads(match.group(1))
    text = _parse_wrk_text(done.stdout)
    duration = raw["duration_us"] / 1e6
    requests = raw["requests"]
    socket_errors = raw["connect_errors"] + raw["read_errors"] + raw["write_errors"] + raw["timeouts"]
    return {
        "mode": mode,
        "command": " ".join(command[:-3]) + f" -- {mode} RUN",
        "requests": requests,
        "seconds": round(duration, 2),
        "rps": round(requests / duration, 1),
        "mean_ms": round(raw["mean_us"] / 1000, 3),
        "p50_ms": round(raw["p50_us"] / 1000, 3),
        "p75_ms": round(raw["p75_us"] / 1000, 3),
        "p90_ms": round(raw["p90_us"] / 1000, 3),
        "p99_ms": round(raw["p99_us"] / 1000, 3),
        "p999_ms": round(raw["p999_us"] / 1000, 3),
        "max_ms": round(raw["max_us"] / 1000, 3),
        # wrk counts a reply with status ≥ 400 as an error ("Non-2xx or 3xx responses").
        "non_2xx": raw["status_errors"],
        "socket_errors": socket_errors,
        "server_cpu_ms_per_request": round((cpu_after - cpu_before) * 1000 / max(requests, 1), 3),
        "server_cpu_cores": round((cpu_after - cpu_before) / duration, 2),
        "postgres_cpu_ms_per_request": round(pg_cpu * 1000 / max(requests, 1), 3),
        "redis_cpu_ms_per_request": round(redis_cpu * 1000 / max(requests, 1), 3),
        "wrk_cpu_cores": round(
            (children_after.ru_utime + children_after.ru_stime - children_before.ru_utime - children_before.ru_stime)
            / duration, 2,
        ),
        "machine_busy_pct": round(100 * (1 - (idle_after - idle_before) / max(total_after - total_before, 1)), 1),
        "machine_cores_busy": round(
            ((total_after - total_before) - (idle_after - idle_before)) / os.sysconf("SC_CLK_TCK") / duration, 2),
        "machine_irq_cores": round((irq_after - irq_before) / os.sysconf("SC_CLK_TCK") / duration, 2),
        "machine_steal_cores": round((steal_after - steal_before) / os.sysconf("SC_CLK_TCK") / duration, 2),
        "wrk_text": text,
        "wrk_output": done.stdout,
    }


# --- where a verify goes (in-process, sequential) ---------------------------------------------


async def _timed(repeat: int, operation: Callable[[int], Any]) -> dict[str, float]:
    async def once(i: int) -> None:
        result = operation(i)
        if inspect.isawaitable(result):
            await result

    for i in range(max(repeat // 10, 10)):  # warm-up
        await once(i)
    samples = []
    for i in range(repeat):
        started = time.perf_counter()
        await once(i)
        samples.append(time.perf_counter() - started)
    samples.sort()
    return {"median_ms": round(statistics.median(samples) * 1000, 3),
            "p99_ms": round(samples[max(int(len(samples) * 0.99) - 1, 0)] * 1000, 3)}


async def verify_breakdown(data: dict[str, Any], repeat: int) -> dict[str, Any]:
    settings = data["settings"]
    signer = cards.signer_for(settings)
    codes, card_ids, members = data["codes"], data["card_ids"], data["members"]
    n = len(codes)
    digest = merchants.key_digest(data["raw_key"])
    limiter = RateLimit(settings)  # the same Redis (db 14) and limit as the server
    today = clock.today()
    connection = await asyncpg.connect(data["url"])
    try:
        steps = {
            "floor: asyncpg SELECT id, tier FROM card WHERE id = $1": lambda i: connection.fetchrow(
                "SELECT id, tier FROM card WHERE id = $1", card_ids[i % n]),
            "same SELECT through Piccolo (Card.select(...).first())": lambda i: Card.select(Card.id, Card.tier).where(
                Card.id == card_ids[i % n]).first(),
            "merchants.authenticate (API key ⋈ merchant, 1 query)": lambda i: merchants.authenticate(digest),
            "RateLimit.hit (Redis: one INCR of a clock-aligned window)": lambda i: limiter.hit(digest[:32]),
            "signer.open (Ed25519 verify)": lambda i: signer.open(codes[i % n]),
            "cards.verify_code (open + card ⋈ member, 1 query)": lambda i: cards.verify_code(
                codes[i % n], signer, time.time()),
            "points.available (the account row, 1 query)": lambda i: points.available(members[i % n]),
            "merchants.verify (open + key, card, discount, points: 1 statement)": lambda i: merchants.verify(
                digest, codes[i % n], signer, time.time(), today),
        }
        result = {}
        for name, operation in steps.items():
            result[name] = await _timed(repeat, operation)
        return result
    finally:
        await connection.close()


# --- profile (optional) ----------------------------------------------------------------------

PROFILE_PACKAGES = (  # where a sample's innermost frame is, by path fragment; first match wins
    ("socket writes (asyncio transport: send() to PostgreSQL, Redis, the client)", "_SelectorSocketTransport.write ("),
    ("piccolo", "(piccolo/"), ("asyncpg", "(asyncpg/"), ("litestar", "(litestar/"), ("msgspec", "(msgspec/"),
    ("uvicorn + h11", "(uvicorn/"), ("uvicorn + h11", "(h11/"), ("limits", "(limits/"), ("redis", "(redis/"),
    ("cryptography", "(cryptography/"), ("logging", "(logging/"), ("asyncio", "(asyncio/"),
    ("loyalty + partner_api", "(loyalty/"), ("loyalty + partner_api", "(partner_api/"),
)
PROFILE_FRAMES = (  # inclusive share of the verify path's steps, as py-spy names the frames
    ("Litestar.__call__", "litestar/app.py"),
    ("requires_api_key", "partner_api/auth.py"), ("authenticate", "merchants/service.py"),
    ("RateLimit.hit", "partner_api/auth.py"), ("verify_code", "partner_api/routes.py"),
    ("verify_code", "cards/service.py"), ("CodeVerifier.open", "cards/codes.py"),
    ("verify", "merchants/service.py"), ("fetch", "loyalty/db.py"),
    ("Query.querystrings", "piccolo/query/base.py"), ("Connection.fetch", "asyncpg/connection.py"),
    ("PoolConnectionHolder.release", "asyncpg/pool.py"), ("Logger.info", "logging/__init__.py"),
)


def _worker_pids(server: Server) -> list[int]:
    pids = []
    for pid in server.tree():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except FileNotFoundError:
            continue
        if pid != server.process.pid and "spawn_main" in cmdline and "resource_tracker" not in cmdline:
            pids.append(pid)
    return pids


def summarize_profile(files: list[Path]) -> dict[str, Any]:
    """py-spy's collapsed stacks → share of the event loop's busy samples by the innermost
    frame's package, and the inclusive share of each verify-path step."""
    total, by_package, by_frame = 0, {}, {}
    for file in files:
        for line in file.read_text(errors="replace").splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            count = int(count_text)
            frames = stack.split(";")
            # The event loop's thread only, and not while it waits in epoll: py-spy also samples
            # the log listener and supervisor-ping threads, which sleep in calls it counts as busy.
            if not any(frame.startswith("Server.run (uvicorn/server.py") for frame in frames):
                continue
            if frames[-1].startswith("EpollSelector.select ("):
                continue
            total += count
            leaf = frames[-1]
            package = next((name for name, fragment in PROFILE_PACKAGES if fragment in leaf), "other (CPython, stdlib)")
            by_package[package] = by_package.get(package, 0) + count
            seen = set()
            for frame in frames:
                for function, path in PROFILE_FRAMES:
                    label = f"{function} ({path})"
                    if label not in seen and frame.startswith(f"{function} (") and path in frame:
                        seen.add(label)
                        by_frame[label] = by_frame.get(label, 0) + count
    share = lambda n: round(100 * n / max(total, 1), 1)  # noqa: E731
    return {
        "samples": total,
        "self_by_package_pct": {k: share(v) for k, v in sorted(by_package.items(), key=lambda kv: -kv[1])},
        "inclusive_pct": {k: share(v) for k, v in sorted(by_frame.items(), key=lambda kv: -kv[1])},
    }


def profile_verify(app: Server, script: Path, seconds: float, out: Path, **options: Any) -> dict[str, Any]:
    """An extra, unmeasured verify run with py-spy sampling every app worker (it pauses them)."""
    py_spy = shutil.which("py-spy") or str(ROOT / ".venv/bin/py-spy")
    if not Path(py_spy).exists():
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    out.mkdir(parents=True, exist_ok=True)
    files, recorders = [], []
    for pid in _worker_pids(app):
        for fmt, suffix in (("raw", "txt"), ("flamegraph", "svg")):
            files.append(out / f"verify-worker-{pid}.{suffix}")
            recorders.append(subprocess.Popen(
                [py_spy, "record", "-r", "200", "-d", f"{seconds + 1:g}", "-p", str(pid), "-f", fmt, "-o",
                 str(files[-1])], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))
    time.sleep(0.5)
    run = run_wrk(app, "verify", script, seconds=seconds, run=f"p{int(time.time())}", **options)
    for recorder in recorders:
        recorder.wait(timeout=seconds + 30)
    summary = summarize_profile([f for f in files if f.suffix == ".txt" and f.exists()])
    summary["files"] = [str(f) for f in files]
    summary["rps_while_sampled"] = run["rps"]
    return summary


# --- the run ----------------------------------------------------------------------------------


def _strip(run: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in run.items() if k != "wrk_output"}


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def _counts(url: str) -> dict[str, int]:
    connection = await asyncpg.connect(url)
    try:
        return {
            "sale_rows": await connection.fetchval("SELECT count(*) FROM sale"),
            "floor_ledger_rows": await connection.fetchval("SELECT count(*) FROM floor_ledger"),
        }
    finally:
        await connection.close()


PLAN = ("floor_verify", "verify", "floor_sale", "sale")


def start_servers(data: dict[str, Any], workers: int, logs: Path, nodelay: bool) -> tuple[Server, Server]:
    """`loyalty serve` and the floor under the same uvicorn; with `nodelay`, both through
    bench/serve_nodelay.py (uvicorn's multi-worker socket marked TCP, so TCP_NODELAY is set)."""
    url, tag = data["url"], "nodelay" if nodelay else "stock"
    app_port, floor_port = free_port(), free_port()
    wrapper = [sys.executable, str(ROOT / "bench" / "serve_nodelay.py")] if nodelay else None
    app_command = ["serve", "--host", "127.0.0.1", "--port", str(app_port), "--workers", str(workers)]
    floor_command = ["--app-dir", str(ROOT / "bench"), "floor_app:create", "--factory", "--host", "127.0.0.1",
                     "--port", str(floor_port), "--workers", str(workers), "--log-level", "info"]
    app = Server(f"app-{tag}", (wrapper + ["loyalty"] if wrapper else [str(ROOT / ".venv/bin/loyalty")]) + app_command,
                 server_env(url), app_port, logs)
    floor = Server(f"floor-{tag}", (wrapper + ["uvicorn"] if wrapper else [sys.executable, "-m", "uvicorn"]) + floor_command,
                   {"BENCH_FLOOR_DATABASE_URL": url}, floor_port, logs)
    return app, floor


def probe(app: Server, floor: Server, data: dict[str, Any], tag: str) -> dict[str, Any]:
    """One request of each kind by hand: the answers the load will get."""
    app.wait_ready(lambda: get_status(app.port, "/health") == 200)
    floor.wait_ready(lambda: post(floor.port, "/floor/verify", {"card_id": data["card_ids"][0]}, {})[0] == 200)
    auth = {"Authorization": f"Bearer {data['raw_key']}"}
    # Paying with points takes a dynamic code (the static one only identifies): a fresh one,
    # signed for this minute, as the load's are.
    signer = cards.signer_for(data["settings"])
    paying = signer.sign("dynamic", data["card_ids"][0], codes.current_step(time.time()), nonce=secrets.randbits(31))
    answers = {}
    for name, port, path, body, headers, expected in (
        ("verify", app.port, "/partner/v1/codes/verify", {"code": data["codes"][0]}, auth, 200),
        ("sale", app.port, "/partner/v1/sales", {"code": paying, "gross_fen": GROSS_FEN,
         "discount_fen": data["discounts"][0], "points_to_redeem": POINTS_PER_SALE},
         {**auth, "Idempotency-Key": f"probe-{tag}"}, 201),
        ("floor_verify", floor.port, "/floor/verify", {"card_id": data["card_ids"][0]}, {}, 200),
        ("floor_sale", floor.port, "/floor/sales", {"member": data["members"][0]}, {"Idempotency-Key": f"probe-{tag}"}, 201),
    ):
        status, answer = post(port, path, body, headers)
        if status != expected:
            raise RuntimeError(f"{name} answered {status}, not {expected}: {answer}")
        answers[name] = answer
    return answers


def measure(data: dict[str, Any], script: Path, *, nodelay: bool, seconds: float, warmup: float, connections: int,
            threads: int, workers: int, logs: Path, servers: list[Server], sent: dict[str, int],
            profile: Path | None = None) -> dict[str, Any]:
    """Start both servers, warm every route, then one measured wrk run per route; stop them."""
    tag = "nodelay" if nodelay else "stock"
    app, floor = start_servers(data, workers, logs, nodelay)
    servers += [app, floor]
    try:
        answers = probe(app, floor, data, tag)
        options = {"connections": connections, "threads": threads, "script": script}
        nonce = f"{tag}{int(time.time())}"
        target = {"floor_verify": floor, "verify": app, "floor_sale": floor, "sale": app}
        for mode in PLAN:  # warm every worker and connection pool
            warm = run_wrk(target[mode], mode, seconds=warmup, run=f"w{nonce}", **options)
            sent[mode] += warm["requests"]
        runs: dict[str, dict[str, Any]] = {}
        for mode in PLAN:
            r = runs[mode] = run_wrk(target[mode], mode, seconds=seconds, run=f"m{nonce}", **options)
            sent[mode] += r["requests"]
            print(f"{tag:>7} {mode:>12}: {r['rps']:8.1f} req/s  p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms  "
                  f"non-2xx {r['non_2xx']}  socket errors {r['socket_errors']}  server CPU "
                  f"{r['server_cpu_ms_per_request']:.2f} ms/req, postgres {r['postgres_cpu_ms_per_request']:.2f}, redis "
                  f"{r['redis_cpu_ms_per_request']:.2f}  wrk {r['wrk_cpu_cores']} cores  machine busy "
                  f"{r['machine_busy_pct']}%", file=sys.stderr)
        profiled = None
        if profile is not None:
            profiled = profile_verify(app, script, min(seconds, 10.0), profile, connections=connections, threads=threads)
        return {"probes": answers, "runs": runs, "profile": profiled}
    finally:
        app.stop()
        floor.stop()


def _ratios(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    verify_ratio = runs["verify"]["rps"] / runs["floor_verify"]["rps"]
    verify_p99_factor = runs["verify"]["p99_ms"] / runs["floor_verify"]["p99_ms"]
    sale_ratio = runs["sale"]["rps"] / runs["floor_sale"]["rps"]
    return {
        "verify_ratio": round(verify_ratio, 3),
        "verify_p99_factor": round(verify_p99_factor, 2),
        "sale_ratio": round(sale_ratio, 3),
        "sale_vs_verify_floor": round(runs["sale"]["rps"] / runs["floor_verify"]["rps"], 3),
        "verify_verdict": "pass" if verify_ratio >= TARGET_VERIFY_RATIO and verify_p99_factor <= TARGET_VERIFY_P99_FACTOR
        else "fail",
        "sale_verdict": "pass" if sale_ratio >= TARGET_SALE_RATIO else "fail",
        "errors": sum(r["non_2xx"] + r["socket_errors"] for r in runs.values()),
    }


def main(owners: int, seconds: float, warmup: float, stock_seconds: float, connections: int, threads: int,
         workers: int, repeat: int, keep_output: bool, profile: Path | None = None) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    load_before = _loadavg()
    logs = Path(tempfile.mkdtemp(prefix="bench-partner-"))
    servers: list[Server] = []
    loop = asyncio.new_event_loop()
    try:
        clear_rate_limit_keys()
        data = loop.run_until_complete(prepare(owners))
        print(f"data ready in {data['seconds']} s: {owners} owners, tiers {data['tiers']}", file=sys.stderr)
        script = logs / "partner.lua"
        write_lua(script, data)
        sent = dict.fromkeys(PLAN, 0)
        options = {"connections": connections, "threads": threads, "workers": workers, "logs": logs,
                   "servers": servers, "sent": sent}
        nodelay = measure(data, script, nodelay=True, seconds=seconds, warmup=warmup, profile=profile, **options)
        stock = None
        if stock_seconds > 0:
            stock = measure(data, script, nodelay=False, seconds=stock_seconds, warmup=min(warmup, 1), **options)
        load_after = _loadavg()

        breakdown = loop.run_until_complete(verify_breakdown(data, repeat))
        counts = loop.run_until_complete(_counts(data["url"]))
        drifts = loop.run_until_complete(points.audit_ledger())

        def keep(runs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
            return {mode: (r if keep_output else _strip(r)) for mode, r in runs.items()}

        result = {
            "benchmark": "partner_api",
            "command": f"bench/partner_throughput.py --owners {owners} --seconds {seconds:g} --stock-seconds {stock_seconds:g} "
                       f"--connections {connections} --workers {workers}",
            "owners": owners,
            "seconds": seconds,
            "warmup_seconds": warmup,
            "stock_seconds": stock_seconds,
            "connections": connections,
            "threads": threads,
            "workers": workers,
            "rate_limit": RATE_LIMIT,
            "repeat": repeat,
            "load_before": load_before,
            "load_after": load_after,
            "data": {k: data[k] for k in ("owners", "cards_issued", "tiers", "seconds")},
            "sale_body": {"gross_fen": GROSS_FEN, "discount_bp": DISCOUNT_BP, "points_to_redeem": POINTS_PER_SALE,
                          "merchant_points_per_cny": 1},
            "probes": nodelay["probes"],
            "runs": keep(nodelay["runs"]),
            **_ratios(nodelay["runs"]),
            "stock": {"runs": keep(stock["runs"]), **_ratios(stock["runs"])} if stock else None,
            "targets": {"verify_ratio": TARGET_VERIFY_RATIO, "verify_p99_factor": TARGET_VERIFY_P99_FACTOR,
                        "sale_ratio": TARGET_SALE_RATIO},
            # Every sale wrk saw answered is a row (rows may exceed it by the requests in flight
            # when a run stopped, plus the probes).
            "checks": {**counts, "sales_answered": sent["sale"], "floor_sales_answered": sent["floor_sale"],
                       "ledger_drifts": len(drifts)},
            "breakdown": breakdown,
            "profile": nodelay["profile"],
        }
        return result
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
        clear_rate_limit_keys()
        shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--owners", type=int, default=2000, help="owners (each with a card and a code)")
    parser.add_argument("--seconds", type=int, default=15, help="measured wrk run per route (whole seconds)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up wrk run per route (whole seconds)")
    parser.add_argument("--stock-seconds", type=int, default=5,
                        help="also measure the servers without the TCP_NODELAY correction (0: skip)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers of both servers")
    parser.add_argument("--repeat", type=int, default=500, help="calls per step of the in-process breakdown")
    parser.add_argument("--profile", type=Path, default=None,
                        help="after the measured runs, sample the app's workers with py-spy during one more verify run "
                             "and write the flame graphs (and collapsed stacks) to this folder")
    parser.add_argument("--keep-wrk-output", action="store_true", help="keep wrk's full text output in the JSON")
    parser.add_argument("--json", type=str, default=None, help="also write the figures to this file")
    args = parser.parse_args()
    figures = main(args.owners, args.seconds, args.warmup, args.stock_seconds, args.connections, args.threads,
                   args.workers, args.repeat, args.keep_wrk_output, args.profile)
    text = json.dumps(figures, ensure_ascii=False, indent=2, default=str)
    print(text)
    if args.json:
        Path(args.json).write_text(text)
