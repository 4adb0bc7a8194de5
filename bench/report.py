"""Write the figures of bench/run_all into docs/benchmarks.md.

    .venv/bin/python bench/report.py --machine m.json [--card-image c.json] [--tier-review t.json] \\
        [--points-redeem p.json] [--partner-api a.json] [--checkin-burst b.json] [--production-run r.json] \\
        docs/benchmarks.md

Each benchmark owns one section between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`;
only the sections given are replaced, so other benchmarks' sections (and any text outside
the markers) are kept.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from pathlib import Path
from typing import Any

HEADER = """# Benchmarks

Speed is measured, not asserted: every benchmark lives in `bench/`, runs its hot path against
its floor (the same work done by the simplest possible code) on the same machine in the same
run, and writes its figures here with the command that reproduces them. No timing is asserted
in tests.

"""


def ms(value: float) -> str:
    return f"{value:.2f}" if value >= 1 else f"{value:.3f}"


def section(name: str, body: str) -> str:
    return f"<!-- bench:{name} -->\n{body.rstrip()}\n<!-- /bench:{name} -->"


def replace_section(document: str, name: str, body: str) -> str:
    block = section(name, body)
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S)
    if pattern.search(document):
        return pattern.sub(lambda _: block, document)
    return document.rstrip() + "\n\n" + block + "\n"


def machine_section(m: dict[str, Any]) -> str:
    return f"""## Machine and reproduction (bench/run_all)

Last full run: {m['date']} on commit `{m['commit']}`{' (with uncommitted changes in the working tree)' if m['dirty'] else ''}.

| | |
|---|---|
| CPU | {m['cpu']} × {m['nproc']} (`nproc`) |
| memory (`free -h`) | {m['memory']} |
| Python | {m['python']} |
| PostgreSQL | {m['postgres']} (default settings: shared_buffers {m['pg_settings'].get('shared_buffers')}, work_mem {m['pg_settings'].get('work_mem')}, max_parallel_workers_per_gather {m['pg_settings'].get('max_parallel_workers_per_gather')}, jit {m['pg_settings'].get('jit')}) |
| libraries | {m['libraries']} |
| load average before / after | {m['load_before']} / {m['load_after']} |

Reproduce everything (about 10 minutes; writes this file's benchmark sections):

```
python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && bench/run_all
```

Each benchmark alone: `.venv/bin/python bench/card_image.py`, `.venv/bin/python bench/tier_review.py`,
`.venv/bin/python bench/points_redeem.py`, `.venv/bin/python bench/partner_throughput.py` (needs `wrk`: `apt-get install -y wrk`)
, `.venv/bin/python bench/checkin_burst.py` and `.venv/bin/python bench/production_run.py` (needs `wrk`)
(`--help` for the options; `bench/tier_review.py --members 100000` for a quicker, smaller run).
The machine is shared (2 cores): other work running at the same time shows in the load average
above and moves the figures by some 10-30%; the floors, measured in the same run, move with them.
"""


def card_image_section(r: dict[str, Any]) -> str:
    render = r["render"]
    rows = []
    for tier, t in render["tiers"].items():
        rows.append(
            f"| {tier} | {ms(t['render']['median_ms'])} | {ms(t['render']['p95_ms'])} | {t['cold_ms']:.0f} | "
            f"{t['bytes']:,} | {ms(t['floor_background']['median_ms'])} | {ms(render['floor_blank']['median_ms'])} | "
            f"{t['render']['median_ms'] / t['floor_background']['median_ms']:.1f}× | {ms(t['qr_median_ms'])} |"
        )
    render_verdict = render["verdict"]
    text = f"""## Card PNG (bench/card_image.py)

Command: `.venv/bin/python {r['command'].split(' --json')[0]}` — {render['iterations']} uncached renders per tier
(`render_png.__wrapped__`) after one cold render; {r.get('http', {}).get('requests', 0):,} sequential HTTP requests per kind.

### Render (target ≤ 15 ms) — verdict: **{render_verdict}** (worst tier: median {ms(render['worst_median_ms'])} ms, p95 {ms(render['worst_p95_ms'])} ms)

| tier | median ms | p95 ms | cold first render ms | PNG bytes | floor: the tier's background, encoded, median ms | floor: blank image, encoded, median ms | render / background floor | QR alone, median ms |
|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Floors, same process, same run, same encoder settings as the renderer (`quantize(256, FASTOCTREE)` then
`save(PNG, compress_level=3)`): the *blank* floor encodes `Image.new("RGBA", (1012, 638))`, which
compresses to {render['floor_blank']['bytes']:,} bytes and so understates the encoder's work on a real card;
the *background* floor encodes the tier's cached background (gradient, arcs, rounded corners, nothing
drawn on it), a card-like picture. That encode is the irreducible part of a render; the rest is drawing
the text and the QR code. The cold first render of each tier includes building its background (and, for
the first tier, loading the fonts); it happens once per process and tier.
"""
    http = r.get("http")
    if http:
        floor = http["floor"]
        lines = []
        for backend, b in http["backends"].items():
            for key, label in (("not_modified", "304 (If-None-Match)"), ("cached_200", "200 from the render cache")):
                c, s = b[key], b["server"][key]
                lines.append(
                    f"| {backend} | {label} | {ms(c['median_ms'])} | {ms(c['p99_ms'])} | {c['rps']:.0f} | "
                    f"{ms(s['median_ms'])} | {ms(s['p99_ms'])} | {ms(floor[key]['median_ms'])} / {ms(floor[key]['p99_ms'])} / "
                    f"{floor[key]['rps']:.0f} | {ms(floor['server'][key]['median_ms'])} | "
                    f"{'pass' if s['median_ms'] <= http['target_ms'] else 'fail'} |"
                )
        breakdown = []
        for backend, b in http["backends"].items():
            h = b["handler_breakdown"]
            breakdown.append(
                f"| {backend} | {ms(h['card_face_ms'])} | {ms(h['one_query_ms'])} | {ms(h['sign_ms'])} | "
                f"{ms(h['etag_ms'])} | {ms(h['render_cache_hit_ms'])} |"
            )
        firsts = ", ".join(f"{backend} {b['first_ms']:.0f} ms" for backend, b in http["backends"].items())
        text += f"""
### Cached reply over HTTP (target ≤ 1 ms server side) — verdict: **{http['verdict']}** (worst server-side median {ms(http['worst_server_median_ms'])} ms)

`GET /api/v1/me/card.png` as the demo owner (logged in with the code from the server log), the real app
started with `loyalty serve --demo --port P` in a temporary folder. First request (renders the card, cold):
{firsts}. Then {http['requests']:,} requests with `If-None-Match` (304) and {http['requests']:,} without (200,
bytes from the render cache), after 100 warm-up requests each.

| demo database | reply | client median ms | client p99 ms | client req/s | **server median ms** | server p99 ms | floor client median / p99 ms / req/s | floor server median ms | verdict |
|---|---|---|---|---|---|---|---|---|---|
{chr(10).join(lines)}

- *Client* figures: one `httpx.Client` (keep-alive, sequential requests) in the benchmark process; they
  include the Python client itself, loopback TCP, uvicorn's HTTP parsing and its access log line, for
  both the app and the floor.
- *Server* figures: the same app and database run again under the same uvicorn settings
  (`uvicorn.run(..., log_level="info")`, one worker, as `loyalty serve` does), wrapped in a small ASGI
  timer: from the app being called to its last body chunk handed to uvicorn (session cookie, guard,
  handler, database queries, response; the access log write happens inside that window too).
- *Floor*: a bare Litestar app serving the same PNG bytes from memory, with the same ETag/304 logic,
  served by uvicorn the same way and measured with the same client.

Where a cached reply's time goes (the handler's steps timed in-process against the same database, median ms):

| demo database | `card_face()` (3 queries + signing) | one Piccolo query | Ed25519 sign | ETag (SHA-256) | `render_png` cache hit |
|---|---|---|---|---|---|
{chr(10).join(breakdown)}

Every cached reply, 304 included, first rebuilds the `CardFace` from the database (card, member name,
first project: three queries) and signs the static code, because the ETag is a hash of that face.
"""
    return text


def tier_review_section(r: dict[str, Any]) -> str:
    one, two = r["review_1"], r["review_2"]
    data = r["data"]
    kinds = list(dict.fromkeys([*one["statements_s"], *two["statements_s"]]))
    statement_rows = "\n".join(
        f"| {kind} | {one['statements_s'].get(kind, 0):.2f} | {two['statements_s'].get(kind, 0):.2f} | "
        f"{one['statement_calls'].get(kind, 0)} |"
        for kind in kinds
    )
    tiers = ("platinum", "gold", "silver", "blue")
    distribution = "\n".join(
        f"| {tier} | {r['tiers_before'].get(tier, 0):,} | {one['tiers_after'].get(tier, 0):,} | {two['tiers_after'].get(tier, 0):,} |"
        for tier in tiers
    )
    stages = ", ".join(f"{stage} {n:,}" for stage, n in data["stages"].items())
    scaled = "" if r["members"] == 1_000_000 else (
        f" (linear extrapolation to 1,000,000: {r['review_1_scaled_to_1m_s']:.0f} s, an underestimate: each chunk "
        "aggregates every ownership)"
    )
    restricted = ""
    if "first_chunk_metrics_restricted_s" in r:
        restricted = (
            f"\nThe first chunk's metrics statement, as issued: {r['first_chunk_metrics_s']:.2f} s; the same statement "
            f"with the ownership aggregate limited to the chunk's members (`AND ownership.member IN (SELECT member "
            f"FROM card WHERE id BETWEEN …)`): {r['first_chunk_metrics_restricted_s']:.2f} s (EXPLAIN ANALYZE, "
            "rolled back; an experiment for the maintainers of `loyalty/cards/tiers.py`, not a change to it).\n"
        )
    leads = f", {data['leads']:,} referral leads ({data['signed_leads']:,} signed)" if "leads" in data else ""
    return f"""## Tier review (bench/tier_review.py)

Command: `.venv/bin/python {r['command'].split(' --json')[0]}` — {r['members']:,} members on PostgreSQL,
review date {r['today']}, `await loyalty.cards.tiers.evaluate("review", today=...)` in chunks of
{r['chunk']:,} card ids.

### Target ≤ 60 s for 1,000,000 members — verdict: **{r['verdict']}**

| run | seconds | cards evaluated | upgraded | downgraded | card rows rewritten | tier_change rows |
|---|---|---|---|---|---|---|
| review 1 (every card `blue`, no criterion yet: the worst case) | **{one['seconds']:.1f}**{scaled} | {one['evaluated']:,} | {one['upgraded']:,} | {one['downgraded']:,} | {one['card_rows_rewritten']:,} | {one['tier_changes_inserted']:,} |
| review 2 (nothing changes) | **{two['seconds']:.1f}** | {two['evaluated']:,} | {two['upgraded']:,} | {two['downgraded']:,} | {two['card_rows_rewritten']:,} | {two['tier_changes_inserted']:,} |
| floor, read: per-member ownership aggregate ⋈ every current card → temp table | {r['floor_read_s']:.1f} | | | | 0 | |
| floor, write: `UPDATE card SET tier = tier` ⋈ that aggregate | {r['floor_write_s']:.1f} | | | | {r['floor_write_rows']:,} | |

Review 1 / write floor: {one['seconds'] / r['floor_write_s']:.1f}×; review 2 / read floor: {two['seconds'] / r['floor_read_s']:.1f}×.

Floors: the review cannot do less than read every active ownership with its unit, aggregate them per
member and join the result to every current card (the *read* floor, one `CREATE TEMP TABLE AS SELECT`,
the fair floor for the no-change run), and, when (as in review 1) nearly every card changes, also
rewrite every card row (the *write* floor, one `UPDATE card SET tier = tier FROM (aggregate)`, the fair
floor for review 1; it does not write the tier history). Both run on the same data in the same run,
each after `VACUUM ANALYZE`.

Time per SQL statement of `tiers.evaluate`, summed over the chunks (each `Card.raw` call timed by
wrapping it for the run; the code in `loyalty/` is unchanged):

| statement | review 1 s | review 2 s | calls |
|---|---|---|---|
{statement_rows}
{restricted}
Tier distribution of the current cards:

| tier | before | after review 1 | after review 2 |
|---|---|---|---|
{distribution}

Data (generated set-based in SQL, fixed seed): {data['members']:,} members, {data['units']:,} units,
{data['ownerships']:,} ownerships ({data['members_2plus']:,} members own 2+ units), {data['cards']:,} cards
({data['current_cards']:,} current), {data['assignments']:,} staff tier assignments{leads}; stages after
`refresh_stages`: {stages}. Database size {data['size']}. Generation {r['generate_s']:.0f} s,
`refresh_stages` {r['refresh_stages_s']:.1f} s ({r['refresh_stages_changed']:,} members changed stage).
Autovacuum is off for the bench tables; every timed step starts after `VACUUM ANALYZE`.

<details><summary>EXPLAIN (ANALYZE, BUFFERS) of the first chunk's metrics statement (CREATE TEMP TABLE tier_eval)</summary>

```
{r['explain_first_chunk']}
```
</details>
"""


def points_redeem_section(r: dict[str, Any]) -> str:
    floor, redeem = r["floor"], r["redeem"]
    verdict = "meets" if r["ratio"] >= r["target_ratio"] else "misses"
    return f"""## Points redemption (ledger write)

`.venv/bin/python bench/points_redeem.py --seconds {r['seconds']:.0f} --concurrency {r['concurrency']}`

`loyalty.points.service.redeem` as every face calls it (lock the member's account, look the
idempotency key up, append the entry, update the account, draw from the oldest lots) against the
floor: one asyncpg transaction with one INSERT and one UPDATE. Same process, same PostgreSQL, same
concurrency ({r['concurrency']} tasks, each on its own member), {r['seconds']:.0f} s each after a warm-up.

| | ops/s | p50 ms | p99 ms |
|---|---|---|---|
| {floor['name']} | {floor['ops_per_s']:,.0f} | {floor['p50_ms']} | {floor['p99_ms']} |
| {redeem['name']} | {redeem['ops_per_s']:,.0f} | {redeem['p50_ms']} | {redeem['p99_ms']} |

Ratio {r['ratio']:.2f} of the floor's throughput; target ≥ {r['target_ratio']:.2f}: **{verdict}**.
`audit_ledger()` after the run: {r['ledger_drifts']} drift(s).
"""


def cpu_per_request(run: dict[str, Any]) -> float:
    """The server's, PostgreSQL's and Redis's CPU per reply, ms."""
    return run["server_cpu_ms_per_request"] + run["postgres_cpu_ms_per_request"] + run["redis_cpu_ms_per_request"]


def other_cores(run: dict[str, Any]) -> float:
    """Cores busy but not charged to this run's processes (servers, PostgreSQL backends, Redis, wrk) nor,
    where measured, to interrupts (loopback networking): the shared machine's other work."""
    ours = run["rps"] * cpu_per_request(run) / 1000 + run["wrk_cpu_cores"] + run.get("machine_irq_cores", 0.0)
    return max(run["machine_cores_busy"] - ours, 0.0)


def partner_api_section(r: dict[str, Any]) -> str:
    targets = r["targets"]

    def rows(runs: dict[str, Any]) -> str:
        names = {
            "floor_verify": "floor: `POST /floor/verify`, one indexed asyncpg SELECT",
            "verify": "**`POST /partner/v1/codes/verify`**",
            "floor_sale": "floor: `POST /floor/sales`, one asyncpg transaction (INSERT + UPDATE)",
            "sale": "**`POST /partner/v1/sales`** (points redeemed and earned)",
        }
        return "\n".join(
            f"| {names[mode]} | {run['rps']:,.0f} | {ms(run['p50_ms'])} | {ms(run['p90_ms'])} | {ms(run['p99_ms'])} | "
            f"{ms(run['max_ms'])} | {run['non_2xx']} | {run['socket_errors']} | {ms(run['server_cpu_ms_per_request'])} | "
            f"{ms(run['postgres_cpu_ms_per_request'])} | {ms(run['redis_cpu_ms_per_request'])} | "
            f"**{ms(cpu_per_request(run))}** | {run['machine_cores_busy']:.2f} ({other_cores(run):.2f}) |"
            for mode, run in runs.items()
        )

    head = ("| route | req/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx | socket errors | server CPU ms/req "
            "| PostgreSQL CPU ms/req | Redis CPU ms/req | all three, ms/req | cores busy (of which other work) |"
            "\n|---|---|---|---|---|---|---|---|---|---|---|---|---|")

    def errors_line(result: dict[str, Any]) -> str:
        return ("Every reply was 2xx and no socket error." if result["errors"] == 0 else
                f"**{result['errors']} replies were not 2xx or failed at the socket: the figures above are not clean.**")

    runs = r["runs"]
    irq_note = (
        " and interrupts (loopback networking, charged to no process): the shared machine's other work, which took"
        " that CPU from the route and its floor alike" if "machine_irq_cores" in runs["verify"] else
        ": the shared machine's other work, which took that CPU from the route and its floor alike, plus kernel"
        " time charged to no process (loopback networking in softirq; not measured apart in this run)"
    )
    text = f"""## Partner API: verify and sale over HTTP (bench/partner_throughput.py)

Command: `.venv/bin/python {r['command']}` — {r['owners']:,} owners ({', '.join(f'{n:,} {t}' for t, n in r['data']['tiers'].items())}),
one merchant with a store key and a gold (10%) and blue (3%) discount; the real server
(`loyalty serve --host 127.0.0.1 --port P --workers {r['workers']}`, rate limit counted in Redis at
{r['rate_limit']}, which each worker takes from Redis {max(1, int(r['rate_limit'].split('/')[0]) // 100):,} units at a time: 1% of the
limit, see `partner_api/auth.py`; at the default 600/minute that is 6) and the floor (`bench/floor_app.py`, a bare Litestar app with an asyncpg pool, under the
same uvicorn, {r['workers']} workers, log level info) in the same run; `wrk -t{r['threads']} -c{r['connections']} -d{r['seconds']:g}s --latency`
per route after a {r['warmup_seconds']:g} s warm-up, with a Lua script rotating over every owner's static card code (sales: a
unique Idempotency-Key each, {r['sale_body']['gross_fen']:,} fen, the tier's full discount, {r['sale_body']['points_to_redeem']} points redeemed;
the merchant gives 1 point per CNY). Load average before / after: {r['load_before']} / {r['load_after']}.

### Verify: target ≥ {targets['verify_ratio']:.0%} of the floor's throughput and p99 ≤ {targets['verify_p99_factor']:g}× the floor's — verdict: **{r['verify_verdict']}** ({r['verify_ratio']:.2f} of the floor, p99 {r['verify_p99_factor']:.1f}×)

{head}
{rows(runs)}

Verify / its floor: {r['verify_ratio']:.2f} of the throughput, p99 {r['verify_p99_factor']:.1f}×. Sale / its floor (DESIGN.md:
≥ {targets['sale_ratio']:.0%}): {r['sale_ratio']:.2f} — **{r['sale_verdict']}**; sale / the verify floor: {r['sale_vs_verify_floor']:.2f}.
{errors_line(r)} Server CPU: every process of that server (uvicorn master and workers) per request
answered; PostgreSQL CPU: the backends of the benchmark's database; Redis CPU: the whole `redis-server`
(shared with other work on the machine); cores busy: all CPUs, everything running, and in brackets what
is left after this run's own processes (servers, PostgreSQL backends, Redis, wrk){irq_note}. With both cores busy,
throughput is about the inverse of the CPU spent per request, so the CPU per request is the figure that
other work moves least: verify spends {cpu_per_request(runs['verify']) / cpu_per_request(runs['floor_verify']):.1f}× its floor's CPU
(a throughput ratio of about {cpu_per_request(runs['floor_verify']) / cpu_per_request(runs['verify']):.2f} on an otherwise idle machine), the sale
{cpu_per_request(runs['sale']) / cpu_per_request(runs['floor_sale']):.1f}× its floor's (about {cpu_per_request(runs['floor_sale']) / cpu_per_request(runs['sale']):.2f}).

These servers run with TCP_NODELAY on their connections (`bench/serve_nodelay.py`, see below); the
command line, app, workers and settings are `loyalty serve`'s own.

After the runs: {r['checks']['sale_rows']:,} sale rows for {r['checks']['sales_answered']:,} sales answered (the difference: requests in
flight when a run stopped, and the probes); `audit_ledger()`: {r['checks']['ledger_drifts']} drift(s).
"""
    stock = r.get("stock")
    if stock:
        text += f"""
### Stock `loyalty serve --workers {r['workers']}`: ~40 ms per keep-alive request (uvicorn issue #3149)

With `--workers` > 1, uvicorn binds the listening socket itself with `proto` 0; asyncio only sets
TCP_NODELAY on accepted sockets that say IPPROTO_TCP, so Nagle's algorithm stays on, uvicorn's two
writes per response (headers, body) meet the client's delayed ACK, and every request after a
connection's first waits ~40 ms, whatever the route. The same servers without the correction,
{r['stock_seconds']:g} s per route:

{head}
{rows(stock['runs'])}

Here verify reaches {stock['verify_ratio']:.2f} of its floor (p99 {stock['verify_p99_factor']:.1f}×) and the sale {stock['sale_ratio']:.2f} of its floor
only because both sides sit out the same stall: these ratios say nothing about the code. A till on a
keep-alive connection sees the stall in production. `bench/serve_nodelay.py` applies the one-line fix
(`socket.socket(family, type, IPPROTO_TCP, fileno=sock.detach())` on the bound socket) without changing
`loyalty/`; the fix itself belongs in `loyalty serve` (or a uvicorn release with #3149 fixed).
{errors_line(stock)}
"""
    breakdown = r.get("breakdown") or {}
    if breakdown:
        lines = "\n".join(f"| {name} | {ms(t['median_ms'])} | {ms(t['p99_ms'])} |" for name, t in breakdown.items())
        text += f"""
### Where a verify goes

Each step of the verify path called {r.get('repeat', 500)} times in the benchmark process, one after another, against the
same database and Redis (no HTTP, no concurrency):

| step | median ms | p99 ms |
|---|---|---|
{lines}

A verify is one statement (key ⋈ merchant, card ⋈ member, the tier's discount here and the points
account, on an asyncpg pool connection, prepared once per connection: `loyalty.db.fetch`) and one Redis
round trip (an INCR of a clock-aligned window). The pool skips asyncpg's reset query when a connection
goes back (`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;`), which the app has no
session state for; the floor keeps asyncpg's defaults: one query and one reset.
"""
    profile = r.get("profile")
    if profile:
        own = "\n".join(f"| {name} | {pct:.1f}% |" for name, pct in profile["self_by_package_pct"].items())
        steps = "\n".join(f"| `{name}` | {pct:.1f}% |" for name, pct in profile["inclusive_pct"].items())
        text += f"""
Profile of the app's workers during one more verify run (py-spy, 200 Hz, {profile['samples']:,} samples of the event loop
busy; py-spy pauses the workers to sample, so that run, {profile['rps_while_sampled']:,.0f} req/s, is not a measurement):

| where the event loop's CPU goes (innermost frame) | share |
|---|---|
{own}

| inside (inclusive) | share |
|---|---|
{steps}
"""
    return text


def offline_sync_part(r: dict[str, Any]) -> str:
    """The offline doors' return (issue #22), when the run measured it."""
    o = r.get("offline_sync")
    if not o:
        return ""
    runs, c = o["runs"], o["checks"]
    names = {
        "sync_floor_before": "floor: `POST /floor/sync`, the conditional UPDATE per scan (before the app)",
        "sync_app": "**`POST /api/v1/staff/checkins/offline`** (the real sync)",
        "sync_floor_after": "floor, again (after the app)",
    }
    rows = "\n".join(
        f"| {names.get(name, name)} | {run['scans']:,} | {run['batches']} | {run['seconds']:.2f} | {run['scans_per_s']:,.0f} | "
        f"{run['batch_p50_ms']:,.0f} | {run['batch_p99_ms']:,.0f} | {run['errors']} | {ms(run['server_cpu_ms_per_scan'])} | "
        f"{ms(run['postgres_cpu_ms_per_scan'])} |"
        for name, run in runs.items()
    )
    return f"""
### Offline doors coming back: a sync of {o['scans']:,} offline scans (issue #22)

A third event with the same {r['attendees']:,} signups, scanned offline at {o['devices']} devices (ticket i at device i mod
{o['devices']}, each scan its own nonce and time) and every 100th ticket let in again at the next device (two offline doors:
{c['expected_conflicts']} conflicts). The {o['devices']} devices sync at once, {o['batch']} scans per request as the page sends them
(`POST /api/v1/staff/checkins/offline`: each scan through the same `check_in` as a live one, at the time it was made);
the floor (`POST /floor/sync`) is the conditional UPDATE per scan on one connection, before and after the app. Same
servers, same run, same load as above.

The sync reaches **{o['ratio']:.3f}** of the floor's scans per second (floor: {o['floor_scans_per_s']:,.0f} scans/s).

| run | offline scans | requests | seconds | scans/s | request p50 ms | request p99 ms | errors | server CPU ms/scan | PostgreSQL CPU ms/scan |
|---|---|---|---|---|---|---|---|---|---|
{rows}

Checked after the sync: {c['attended']:,} attended (of {r['attendees']:,}); {c['scan_rows']:,} scan rows for {c['distinct_nonces']:,} nonces
(one per offline scan); {c['attendance_entries']:,} attendance ledger entries; conflicts reported {c['conflicts']} (expected
{c['expected_conflicts']}); the floor's rows checked in per run: {', '.join(f'{n:,}' for n in c['floor_checked_in'])} — verdict: **{'pass' if c['ok'] else 'fail'}**.
"""


def checkin_burst_section(r: dict[str, Any]) -> str:
    runs, c = r["runs"], r["checks"]
    names = {
        "floor_before": "floor: `POST /floor/checkin`, one asyncpg conditional UPDATE … RETURNING (before the app)",
        "app": "**`POST /api/v1/staff/checkins`** (the real door)",
        "floor_after": "floor, again (after the app)",
    }

    def answers(run: dict[str, Any]) -> str:
        return ", ".join(f"{n:,} {result}" for result, n in sorted(run["results"].items(), key=lambda kv: -kv[1]))

    rows = "\n".join(
        f"| {names.get(name, name)} | {run['scans']:,} | {run['seconds']:.2f} | {run['scans_per_s']:,.0f} | {ms(run['p50_ms'])} | "
        f"{ms(run['p90_ms'])} | {ms(run['p99_ms'])} | {ms(run['max_ms'])} | {answers(run)} | "
        f"{ms(run['server_cpu_ms_per_scan'])} | {ms(run['postgres_cpu_ms_per_scan'])} | "
        f"**{ms(run['server_cpu_ms_per_scan'] + run['postgres_cpu_ms_per_scan'])}** | {ms(run['client_cpu_ms_per_scan'])} | "
        f"{run['machine_cores_busy']:.2f} |"
        for name, run in runs.items()
    )
    rehearsals = "; ".join(
        f"{x['name']} {x['scans']:,} scans, {x['scans_per_s']:,.0f}/s, p99 {ms(x['p99_ms'])} ms" for x in r.get("rehearsals", [])
    )
    app = runs["app"]
    floor_cpu = statistics.fmean(
        runs[n]["server_cpu_ms_per_scan"] + runs[n]["postgres_cpu_ms_per_scan"] for n in ("floor_before", "floor_after")
    )
    app_cpu = app["server_cpu_ms_per_scan"] + app["postgres_cpu_ms_per_scan"]
    once = c["ok"] and r["answers_ok"]
    statuses = ", ".join(f"{n:,} {status}" for status, n in c["signup_statuses"].items())
    scan_log = ", ".join(f"{n:,} {result}" for result, n in sorted(c["scan_log"].items(), key=lambda kv: -kv[1]))
    gates = ", ".join(f"{gate} {n:,}" for gate, n in c["first_gates"].items())
    door = c["door_count"]
    steps = "\n".join(f"| {name} | {ms(t['median_ms'])} | {ms(t['p99_ms'])} |" for name, t in r["breakdown"].items())
    return f"""## Door check-in burst (bench/checkin_burst.py)

Command: `.venv/bin/python {r['command']}` — one event with {r['attendees']:,} confirmed signups
({r['people']:,} people, parties of 1 to 3; the first {r['service_signups']} through `signups.sign_up`, the rest set-based in SQL
with the event's `seats_taken` moved alike), {r['attendance_points']} attendance points; the real server (`loyalty serve --host 127.0.0.1
--port P --workers {r['workers']}`) and the floor (`bench/floor_app.py`, same uvicorn, {r['workers']} workers, log level info), both through
`bench/serve_nodelay.py`; one `event_staff` login, its session cookie on every scan. {r['scanners']} concurrent scanners, each one
keep-alive HTTP/1.1 connection (a minimal asyncio client in the benchmark process), each scan with its own nonce:
pass 1 scans every ticket exactly once (ticket i at scanner i mod {r['scanners']}), pass 2 re-scans {r['rescanned']:,} tickets
({r['rescan']:.0%}, evenly spread) at another scanner's gate. The floor runs the same plan before and after the app, on fresh
rows each time. A rehearsal ({r['rehearsal']:,} tickets of another event, and floor rows) warms both servers first: {rehearsals}.
Figures run from the first scan sent to the last answered. Load average before / after: {r['load_before']} / {r['load_after']}.

### DESIGN.md: {r['attendees']:,} attendees through {r['scanners']} concurrent scanners, every one checked in once, none twice — verdict: **{'pass' if once else 'fail'}**

The issue sets no throughput target; against the floor (the mean of its two runs: {r['floor_scans_per_s']:,.0f} scans/s, p99
{ms(r['floor_p99_ms'])} ms) the door reaches **{r['ratio']:.2f}** of the floor's scans per second, p99 **{r['p99_factor']:.1f}×** the floor's.

| run | scans | seconds | scans/s | p50 ms | p90 ms | p99 ms | max ms | answers | server CPU ms/scan | PostgreSQL CPU ms/scan | both, ms/scan | load generator CPU ms/scan | cores busy (all processes) |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
{rows}

With both cores busy the throughput is about the inverse of the CPU spent per scan: the door spends
{app_cpu / floor_cpu:.1f}× the floor's server + PostgreSQL CPU per scan (a throughput ratio of about
{floor_cpu / app_cpu:.2f} on an otherwise idle machine). The machine is shared: the cores-busy column counts every
process, other work included.

Checked in the database after the runs:

- signups of the event: {statuses} (attended must be {r['attendees']:,}, nothing left confirmed);
- attendance ledger entries (`event-attend:<signup id>`): {c['attendance_entries']:,} entries, {c['attendance_keys']:,} distinct keys,
  {c['attendance_points_total']:,} points; signups without exactly one: {c['signups_without_exactly_one_attendance_entry']};
- the scan log: {scan_log}; the answers the scanners got: {answers(app)} (expected {r['expected_answers']['checked_in']:,} checked_in,
  {r['expected_answers']['already_checked_in']:,} already_checked_in) — {'as expected' if r['answers_ok'] else '**not as expected**'};
- first gate per attendee: {gates};
- the live count at the end: {door['checked_in']:,} / {door['expected']:,} signups, {door['people_in']:,} / {door['people_expected']:,} people;
- `audit_ledger()`: {c['ledger_drifts']} drift(s); the floor's rows checked in per run: {', '.join(f'{n:,}' for n in c['floor_checked_in'])}.

Where a scan goes (each step called {r.get('repeat', 300)} times in the benchmark process, one after another, against the
same database, no HTTP):

| step | median ms | p99 ms |
|---|---|---|
{steps}

A check-in through HTTP also passes the session cookie and the staff guard (`identity.get_staff`, a query per
request); the service then looks the nonce up, reads the event (Piccolo), opens the ticket (Ed25519), reads the
signup, and in one transaction makes the one conditional UPDATE of the signup that decides who was first,
earns the points (account row locked, ledger entry, lot) and logs the scan; the live count is one more
aggregate over the event's signups. The floor is the conditional UPDATE alone.
{offline_sync_part(r)}"""


def production_run_section(r: dict[str, Any]) -> str:
    app, floor, c = r["app"], r["floor"], r["checks"]
    delivery = r["login_code_delivery_s"]
    rows = "\n".join(
        f"| {name} | {run['requests']:,} | {run['rps']:,.0f} | {ms(run['p50_ms'])} | {ms(run['p90_ms'])} | {ms(run['p99_ms'])} | "
        f"{ms(run['max_ms'])} | {run['non_2xx'] + run['socket_errors']} | {run['machine_cores_busy']:.2f} |"
        for name, run in (("**the stack: mixed load**", app), ("floor: the same mix on bare asyncpg routes", floor))
    )
    routes = "\n".join(f"| `{route}` | {count:,.0f} |" for route, count in r["requests_by_route"].items())
    jobs = ", ".join(f"{job}: {count:,.0f}" for job, count in sorted(r["jobs"].items())) or "none"
    sound = (c["sales_rows"] == c["sales_answered_201"] and c["ledger_drifts"] == 0
             and c["login_codes_sent_once"] == c["login_codes_requested"] and not delivery["failures"])
    return f"""## Production run: the whole stack under a mixed load (bench/production_run.py)

Command: `.venv/bin/python {r['command']}`. Every part is a real process on 127.0.0.1, configured as in
production: {'; '.join(r['stack'])}. JSON logs, `PROMETHEUS_MULTIPROC_DIR` shared by the web processes and
the worker. The stack was ready (`/ready` 200) {r['stack_ready_s']} s after start. Load average before / after:
{r['load_before']} / {r['load_after']}.

One wrk run of {r['seconds']} s with {r['connections']} connections: 6 in 10 requests verify a card at the till, 3 in 10 are
sales with 100 points redeemed (each its own Idempotency-Key), 1 in 10 is an owner fetching the rotating card code
with a session cookie. Meanwhile one owner a second asks for a login code, which the web process queues and the
Celery worker delivers through the outbox. The floor runs the same mix against `bench/floor_app.py` (one asyncpg
SELECT for the verifies and the card fetches, one INSERT + UPDATE transaction for the sales).

| run | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | cores busy |
|---|---|---|---|---|---|---|---|---|
{rows}

The stack serves **{r['ratio']:.2f}** of the floor's requests per second on this mix, p99 **{r['p99_factor']:.1f}×** the floor's
(no target is set for the mix; the routes' own targets are judged in the partner API section).

Background work under the foreground load: login codes went from the web request to `sent` by the worker in
p50 {delivery['under_load']['p50']:.3f} s, p99 {delivery['under_load']['p99']:.3f} s (max {delivery['under_load']['max']:.3f} s, {delivery['under_load']['n']} codes)
under load, against p50 {delivery['idle']['p50']:.3f} s with the stack idle ({delivery['idle']['n']} codes).
Beat sent: {', '.join(r['beat_sent']) or 'nothing'}. Job runs from `/metrics` (job outcome: runs): {jobs}.

Checked afterwards — verdict **{'sound' if sound else 'NOT sound'}**:

- sales answered 201 (from `/metrics`, warm-up included): {c['sales_answered_201']:,}; sale rows: {c['sales_rows']:,};
- login codes requested {c['login_codes_requested']}, each sent exactly once: {c['login_codes_sent_once']};
- `audit_ledger()`: {c['ledger_drifts']} drift(s).

Requests by route and status, from `/metrics` (all web processes):

| route | requests |
|---|---|
{routes}
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--machine", type=Path, help="bench/run_all's machine figures (else that section is kept)")
    parser.add_argument("--card-image", type=Path)
    parser.add_argument("--tier-review", type=Path)
    parser.add_argument("--points-redeem", type=Path)
    parser.add_argument("--partner-api", type=Path)
    parser.add_argument("--checkin-burst", type=Path)
    parser.add_argument("--production-run", type=Path)
    parser.add_argument("document", type=Path)
    args = parser.parse_args()
    document = args.document.read_text() if args.document.exists() else HEADER
    if args.machine:
        document = replace_section(document, "machine", machine_section(json.loads(args.machine.read_text())))
    if args.card_image:
        document = replace_section(document, "card_image", card_image_section(json.loads(args.card_image.read_text())))
    if args.tier_review:
        document = replace_section(document, "tier_review", tier_review_section(json.loads(args.tier_review.read_text())))
    if args.points_redeem:
        document = replace_section(
            document, "points_redeem", points_redeem_section(json.loads(args.points_redeem.read_text()))
        )
    if args.partner_api:
        document = replace_section(
            document, "partner_api", partner_api_section(json.loads(args.partner_api.read_text()))
        )
    if args.checkin_burst:
        document = replace_section(
            document, "checkin_burst", checkin_burst_section(json.loads(args.checkin_burst.read_text()))
        )
    if args.production_run:
        document = replace_section(
            document, "production_run", production_run_section(json.loads(args.production_run.read_text()))
        )
    args.document.parent.mkdir(parents=True, exist_ok=True)
    args.document.write_text(document.rstrip() + "\n")
    print(f"wrote {args.document}")


if __name__ == "__main__":
    main()
