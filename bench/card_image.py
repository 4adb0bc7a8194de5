"""Benchmark: the card PNG — render time per tier, and the cached reply over HTTP.

    .venv/bin/python bench/card_image.py [--iterations 200] [--requests 2000] [--json out.json]

(a) Render: `render_png.__wrapped__` (the uncached renderer) for each tier, `--iterations`
    times after one cold call, median and p95 in ms. Floors, same process, same run:
      - blank:      Image.new("RGBA", (1012, 638)).quantize(256, FASTOCTREE).save(PNG, compress_level=3)
      - background: the tier's own cached background (gradient, arcs, rounded corners), same encode.
    The blank floor is what the brief names; it compresses to ~4 KB, so it understates the
    encoder's work on a real card. The background floor is the same encode on a card-like
    picture with nothing drawn on it: the irreducible part of a render (see the report).
    Target: ≤ 15 ms per render.

(b) HTTP: the real app (`loyalty serve --demo --port P` in a temp folder, which creates and
    loads the demo database) with the demo owner logged in (login code read from the server
    log), then GET /api/v1/me/card.png: the first request, then `--requests` sequential requests
    with If-None-Match (304) and `--requests` without (200 from the render cache). Floor: a bare
    Litestar app serving the same PNG bytes from memory (same ETag/304 logic), run by uvicorn
    with the same settings (`uvicorn.run`, log_level=info, so the access log is on in both).
    Same client: one httpx.Client, keep-alive, sequential requests.
    Client-measured latency includes the Python client (httpx), loopback TCP, uvicorn's HTTP
    parsing and access log. For the server-side figure each app is then run again in this
    script's `--serve` mode, wrapped in a tiny ASGI timer (from the app's first line of code to
    its last body byte handed to uvicorn), with the same uvicorn settings and the same database.
    Both demo databases are measured: SQLite (what `--demo` uses by default) and PostgreSQL
    (production; `LOYALTY_DATABASE_URL` pointing at a fresh database, dropped at the end).
    Target: cached replies ≤ 1 ms server side.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
LOYALTY = str(Path(sys.executable).with_name("loyalty"))
PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TIERS = ("platinum", "gold", "silver", "blue")
TARGET_RENDER_MS = 15.0
TARGET_CACHED_MS = 1.0
DEMO_PHONE = "13800138000"


# --- statistics -------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1), nearest rank on sorted values."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))
    return ordered[index]


def summary(values_ms: list[float]) -> dict[str, float]:
    return {
        "n": len(values_ms),
        "median_ms": statistics.median(values_ms),
        "p95_ms": pct(values_ms, 0.95),
        "p99_ms": pct(values_ms, 0.99),
        "min_ms": min(values_ms),
        "max_ms": max(values_ms),
    }


def timed(function: Callable[[], Any], iterations: int) -> list[float]:
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return times


# --- (a) render -------------------------------------------------------------------------------


def sample_face(tier: str) -> Any:
    from loyalty.cards.codes import CodeSigner
    from loyalty.cards.image import CardFace

    code = CodeSigner.from_secret("x" * 40).sign("static", 123)
    return CardFace(tier, "张伟", "8860 **** **** 1234", "滨江·云栖 Riverside Cloud", code)


def encode(image: Any) -> bytes:
    from PIL import Image

    output = io.BytesIO()
    image.quantize(256, method=Image.Quantize.FASTOCTREE).save(output, format="PNG", compress_level=3)
    return output.getvalue()


def bench_render(iterations: int) -> dict[str, Any]:
    from PIL import Image

    from loyalty.cards import image

    render = image.render_png.__wrapped__
    results: dict[str, Any] = {"iterations": iterations, "tiers": {}}

    blank = Image.new("RGBA", (image.WIDTH, image.HEIGHT))
    encode(blank)
    results["floor_blank"] = summary(timed(lambda: encode(blank), iterations))
    results["floor_blank"]["bytes"] = len(encode(blank))

    for tier in TIERS:
        face = sample_face(tier)
        start = time.perf_counter()
        png = render(face)  # cold: fonts (first tier only) and this tier's background are built
        cold_ms = (time.perf_counter() - start) * 1000
        render_times = timed(lambda: render(face), iterations)
        background = image._background(tier)  # cached by the first render
        floor_times = timed(lambda: encode(background), iterations)
        qr_times = timed(lambda: image._qr(face.code, 260), max(20, iterations // 4))
        results["tiers"][tier] = {
            "cold_ms": cold_ms,
            "bytes": len(png),
            "render": summary(render_times),
            "floor_background": summary(floor_times) | {"bytes": len(encode(background))},
            "qr_median_ms": statistics.median(qr_times),
        }
        print(
            f"  render {tier:8s} median {results['tiers'][tier]['render']['median_ms']:6.2f} ms  "
            f"p95 {results['tiers'][tier]['render']['p95_ms']:6.2f} ms  (cold {cold_ms:6.1f} ms, {len(png)} B)  "
            f"background-encode floor {results['tiers'][tier]['floor_background']['median_ms']:5.2f} ms  "
            f"QR {results['tiers'][tier]['qr_median_ms']:4.2f} ms",
            flush=True,
        )
    all_medians = [t["render"]["median_ms"] for t in results["tiers"].values()]
    all_p95 = [t["render"]["p95_ms"] for t in results["tiers"].values()]
    results["worst_median_ms"] = max(all_medians)
    results["worst_p95_ms"] = max(all_p95)
    results["target_ms"] = TARGET_RENDER_MS
    results["verdict"] = "pass" if max(all_p95) <= TARGET_RENDER_MS else (
        "pass (median), p95 over" if max(all_medians) <= TARGET_RENDER_MS else "fail"
    )
    print(
        f"  floor blank-encode median {results['floor_blank']['median_ms']:.2f} ms "
        f"(p95 {results['floor_blank']['p95_ms']:.2f} ms, {results['floor_blank']['bytes']} B)",
        flush=True,
    )
    return results


# --- servers ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOYALTY_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


class Server:
    """A server subprocess with its output in a log file (never a pipe that could fill up)."""

    def __init__(self, name: str, argv: list[str], cwd: Path, env: dict[str, str], port: int) -> None:
        self.name, self.port = name, port
        self.log_path = cwd / f"{name}.log"
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self.base = f"http://127.0.0.1:{port}"

    def wait_ready(self, path: str, timeout: float = 120) -> float:
        import httpx

        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_path.read_text(errors='replace')[-3000:]}")
            try:
                if httpx.get(self.base + path, timeout=2).status_code < 500:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer {path} in {timeout}s: {self.log_path.read_text(errors='replace')[-3000:]}")

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def login(client: Any, server: Server) -> None:
    """The demo owner's login: ask for a code, read it from the server log, open a session."""
    before = len(re.findall(r"验证码是 (\d{6})", server.output()))
    reply = client.post("/api/v1/auth/login-codes", json={"phone": DEMO_PHONE})
    if reply.status_code != 202:
        raise RuntimeError(f"login-codes answered {reply.status_code}: {reply.text}")
    deadline = time.time() + 20
    while time.time() < deadline:
        codes = re.findall(r"验证码是 (\d{6})", server.output())
        if len(codes) > before:
            break
        time.sleep(0.1)
    else:
        raise RuntimeError("no login code in the server log")
    reply = client.post("/api/v1/auth/sessions", json={"phone": DEMO_PHONE, "code": codes[-1]})
    if reply.status_code not in (200, 201):
        raise RuntimeError(f"sessions answered {reply.status_code}: {reply.text}")


def measure_http(client: Any, path: str, requests: int, warmup: int = 100) -> dict[str, Any]:
    """First request, then warm-up, then `requests` with If-None-Match (304) and without (200)."""
    start = time.perf_counter()
    first = client.get(path)
    first_ms = (time.perf_counter() - start) * 1000
    if first.status_code != 200:
        raise RuntimeError(f"GET {path} answered {first.status_code}: {first.text[:300]}")
    etag = first.headers["etag"]
    png = first.content

    def run(headers: dict[str, str], expected: int) -> dict[str, Any]:
        for _ in range(warmup):
            client.get(path, headers=headers)
        times = []
        wall = time.perf_counter()
        for _ in range(requests):
            t0 = time.perf_counter()
            reply = client.get(path, headers=headers)
            times.append((time.perf_counter() - t0) * 1000)
            if reply.status_code != expected:
                raise RuntimeError(f"GET {path} answered {reply.status_code}, expected {expected}")
        wall = time.perf_counter() - wall
        return summary(times) | {"rps": requests / wall}

    return {
        "first_ms": first_ms,
        "bytes": len(png),
        "etag": etag,
        "png": png,
        "not_modified": run({"If-None-Match": etag}, 304),
        "cached_200": run({}, 200),
    }


def server_timings(client: Any) -> dict[str, list[float]]:
    return client.get("/__bench/timings").json()


# --- the --serve mode: the apps behind the same uvicorn settings, optionally timed ------------


class Timer:
    """ASGI wrapper: milliseconds from the app being called to its last body chunk handed to
    uvicorn, per request; GET /__bench/timings returns them (grouped by status) and resets."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.times: dict[str, list[float]] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["path"] == "/__bench/timings":
            body = json.dumps(self.times).encode()
            self.times = {}
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": body})
            return
        start = time.perf_counter()
        status = [0]

        async def timed_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self.times.setdefault(str(status[0]), []).append((time.perf_counter() - start) * 1000)

        await self.app(scope, receive, timed_send)


def floor_app(png: bytes) -> Any:
    """The floor: a bare Litestar app serving the same PNG bytes from memory (ETag and 304 too)."""
    import hashlib

    from litestar import Litestar, Request, Response, get

    etag = '"' + hashlib.sha256(png).hexdigest()[:32] + '"'

    @get("/api/v1/me/card.png", media_type="image/png")
    async def card_png(request: Request) -> Response[bytes]:
        headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
        if etag in request.headers.get("if-none-match", ""):
            return Response(b"", status_code=304, headers=headers, media_type="image/png")
        return Response(png, headers=headers, media_type="image/png")

    @get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    # This module uses postponed annotations; tell Litestar what the names in them are.
    return Litestar(route_handlers=[card_png, health], debug=False,
                    signature_namespace={"Request": Request, "Response": Response})


def serve(kind: str, port: int, png_path: str | None, timer: bool) -> None:
    import uvicorn

    logging_setup = __import__("logging")
    logging_setup.basicConfig(level=logging_setup.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if kind == "floor":
        app = floor_app(Path(png_path).read_bytes())  # type: ignore[arg-type]
    else:
        from loyalty.asgi import create

        app = create()  # what `loyalty serve` runs (uvicorn "loyalty.asgi:create", factory=True)
    # Same uvicorn settings as `loyalty serve` (loyalty/cli.py): log_level="info", one worker.
    uvicorn.run(Timer(app) if timer else app, host="127.0.0.1", port=port, log_level="info")


# --- (b) HTTP ---------------------------------------------------------------------------------


def pg_admin(*statements: str) -> None:
    import asyncpg

    async def run() -> None:
        connection = await asyncpg.connect(PG_ADMIN_URL)
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())


def bench_http(requests: int, backends: list[str]) -> dict[str, Any]:
    import httpx

    results: dict[str, Any] = {"requests": requests, "backends": {}}
    folder = Path(tempfile.mkdtemp(prefix="bench-card-"))
    servers: list[Server] = []
    pg_db = f"loyalty_bench_card_{os.getpid()}"
    png = b""
    try:
        for backend in backends:
            work = folder / backend
            work.mkdir()
            extra: dict[str, str] = {}
            if backend == "postgres":
                pg_admin(f'DROP DATABASE IF EXISTS "{pg_db}" WITH (FORCE)', f'CREATE DATABASE "{pg_db}"')
                base = PG_ADMIN_URL.rsplit("/", 1)[0]
                extra["LOYALTY_DATABASE_URL"] = f"{base}/{pg_db}"
            # 1. The real command, client-measured.
            port = free_port()
            server = Server(f"{backend}-serve", [LOYALTY, "serve", "--demo", "--port", str(port)], work,
                            clean_env(extra), port)
            servers.append(server)
            ready_s = server.wait_ready("/health")
            print(f"  [{backend}] loyalty serve --demo ready in {ready_s:.1f} s (demo migrated and loaded)", flush=True)
            with httpx.Client(base_url=server.base, timeout=30) as client:
                login(client, server)
                real = measure_http(client, "/api/v1/me/card.png", requests)
                cookies = dict(client.cookies)
            png = real.pop("png")
            server.stop()
            # 2. The same app and database in --serve mode with the ASGI timer, server-side.
            secret = (work / ".loyalty-demo-secret").read_text().strip()
            # The working tree may have gained a migration since (others work in it too).
            subprocess.run([LOYALTY, "migrate"], cwd=work, env=clean_env(extra), check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            port = free_port()
            timed_server = Server(
                f"{backend}-timed",
                [PYTHON, str(Path(__file__).resolve()), "--serve", "app", "--port", str(port), "--timer"],
                work, clean_env(extra | {"LOYALTY_DEMO": "true", "LOYALTY_SECRET_KEY": secret}), port,
            )
            servers.append(timed_server)
            timed_server.wait_ready("/health")
            with httpx.Client(base_url=timed_server.base, timeout=30, cookies=cookies) as client:
                timed_run = measure_http(client, "/api/v1/me/card.png", requests)
                timed_run.pop("png")
                server_side = server_timings(client)
            timed_server.stop()
            real["server"] = {
                "not_modified": summary(server_side["304"][-requests:]),
                "cached_200": summary(server_side["200"][-requests:]),
            }
            real["client_under_timer"] = {k: timed_run[k] for k in ("not_modified", "cached_200")}
            real["handler_breakdown"] = asyncio.run(handler_breakdown(
                extra.get("LOYALTY_DATABASE_URL") or f"sqlite:///{work / 'loyalty.sqlite'}", secret, requests // 4))
            results["backends"][backend] = real
            report_http(backend, real)

        # 3. The floor: same bytes from memory, client-measured then server-side.
        png_file = folder / "card.png"
        png_file.write_bytes(png)
        floor: dict[str, Any] = {}
        for timer in (False, True):
            port = free_port()
            argv = [PYTHON, str(Path(__file__).resolve()), "--serve", "floor", "--port", str(port), "--png", str(png_file)]
            server = Server("floor-timed" if timer else "floor", argv + (["--timer"] if timer else []), folder,
                            clean_env(), port)
            servers.append(server)
            server.wait_ready("/health")
            with httpx.Client(base_url=server.base, timeout=30) as client:
                run = measure_http(client, "/api/v1/me/card.png", requests)
                run.pop("png")
                if timer:
                    side = server_timings(client)
                    floor["server"] = {
                        "not_modified": summary(side["304"][-requests:]),
                        "cached_200": summary(side["200"][-requests:]),
                    }
                else:
                    floor |= run
            server.stop()
        results["floor"] = floor
        report_http("floor", floor)
    finally:
        for server in servers:
            server.stop()
        if "postgres" in backends:
            pg_admin(f'DROP DATABASE IF EXISTS "{pg_db}" WITH (FORCE)')
        shutil.rmtree(folder, ignore_errors=True)
    worst = max(b["server"][k]["median_ms"] for b in results["backends"].values() for k in ("not_modified", "cached_200"))
    results["target_ms"] = TARGET_CACHED_MS
    results["worst_server_median_ms"] = worst
    results["verdict"] = "pass" if worst <= TARGET_CACHED_MS else "fail"
    return results


async def handler_breakdown(url: str, secret: str, iterations: int) -> dict[str, float]:
    """Where a cached reply's server time goes: the handler's steps timed in this process,
    against the same database (median ms of `iterations` calls each)."""
    from loyalty import db
    from loyalty.cards import image, service
    from loyalty.members.tables import Member
    from loyalty.phones import normalise_phone
    from loyalty.settings import Settings

    db.bind(db.engine_from_url(url))
    await db.start()
    try:
        member = await Member.select(Member.id).where(Member.phone == normalise_phone(DEMO_PHONE, "CN")).first()
        member_id = member["id"]
        signer = service.signer_for(Settings(database_url=url, secret_key=secret))
        face = await service.card_face(member_id, signer)
        image.render_png(face)

        async def timed_async(make: Callable[[], Any]) -> float:
            times = []
            for _ in range(iterations):
                start = time.perf_counter()
                await make()
                times.append((time.perf_counter() - start) * 1000)
            return statistics.median(times)

        return {
            "card_face_ms": await timed_async(lambda: service.card_face(member_id, signer)),
            "one_query_ms": await timed_async(lambda: Member.select(Member.name).where(Member.id == member_id).first()),
            "sign_ms": statistics.median(timed(lambda: signer.sign("static", 1), iterations)),
            "etag_ms": statistics.median(timed(face.etag, iterations)),
            "render_cache_hit_ms": statistics.median(timed(lambda: image.render_png(face), iterations)),
        }
    finally:
        await db.stop()


def report_http(name: str, run: dict[str, Any]) -> None:
    if "first_ms" in run:
        print(f"  [{name}] first request {run['first_ms']:.1f} ms ({run['bytes']} B)", flush=True)
    for key, label in (("not_modified", "304 If-None-Match"), ("cached_200", "200 from cache")):
        if key in run:
            c = run[key]
            print(f"  [{name}] {label:18s} client median {c['median_ms']:.3f} ms  p99 {c['p99_ms']:.3f} ms  "
                  f"{c['rps']:.0f} req/s", flush=True)
        if "server" in run:
            s = run["server"][key]
            print(f"  [{name}] {label:18s} server median {s['median_ms']:.3f} ms  p99 {s['p99_ms']:.3f} ms", flush=True)
    if "handler_breakdown" in run:
        print(f"  [{name}] in-process: " + ", ".join(f"{k} {v:.3f}" for k, v in run["handler_breakdown"].items()),
              flush=True)


# --- main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=200, help="renders per tier (and floor encodes)")
    parser.add_argument("--requests", type=int, default=2000, help="HTTP requests per kind (304, 200)")
    parser.add_argument("--backends", default="sqlite,postgres", help="demo databases for the HTTP part")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--json", type=Path, help="write the figures here (bench/run_all uses it)")
    # internal: run one server (the floor, or the real app) under uvicorn, optionally timed
    parser.add_argument("--serve", choices=["app", "floor"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--png", help=argparse.SUPPRESS)
    parser.add_argument("--timer", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.png, args.timer)
        return
    started = time.perf_counter()
    results: dict[str, Any] = {"command": "bench/card_image.py " + " ".join(sys.argv[1:])}
    print("card image: render (uncached renderer, per tier)", flush=True)
    results["render"] = bench_render(args.iterations)
    if not args.skip_http:
        print("card image: HTTP (sequential httpx client, keep-alive)", flush=True)
        results["http"] = bench_http(args.requests, [b for b in args.backends.split(",") if b])
    results["seconds"] = time.perf_counter() - started
    print(f"card image: done in {results['seconds']:.0f} s", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
