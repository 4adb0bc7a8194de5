"""A fake Stripe for tests: localstripe (PyPI `localstripe`, an aiohttp server) in a subprocess.

Use the session fixture `localstripe` (register it with `pytest_plugins = ["tests.stripe_server"]`
in tests/conftest.py, or in a test module). It yields a `LocalStripe` with `base_url`, `api_key`,
`register_webhook(url, secret)`, `client()` and `configure(monkeypatch)`.

How localstripe delivers webhooks: about one second after the event (its own `asyncio.sleep(1)`,
fire-and-forget, one try, no retries) it POSTs the event JSON to every registered URL, with
`Stripe-Signature: t=<event.created>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>`, the scheme that
`stripe.Webhook.construct_event` verifies. So the receiver must listen on a real port; a test that
calls the app through httpx's ASGI transport builds the body with `webhook_event()` and signs it
with `sign_webhook()` instead. Webhooks live in the server's memory for its whole life and every
event goes to every registered URL (unless `events` filters it): match events on the object id.

Stripe.js in the browser tests: the owner page loads Stripe.js from `LOYALTY_STRIPE_JS_URL`,
which tests point at `js_url` (http://127.0.0.1:<port>/js.stripe.com/v3/). localstripe's own
Stripe.js has no Payment Element and no `confirmPayment` (only a fake card Element and
`confirmCardPayment`), so the launcher below serves it with tests/localstripe_payment_element.js
appended, a small shim adding `elements({clientSecret})`, `create("payment")` and
`confirmPayment`, and answers the call that shim makes the way real Stripe answers Stripe.js:
POST /v1/payment_intents/<id>/confirm with the publishable key, the client secret and
`payment_method_data` (localstripe itself wants a secret key and refuses payment methods on
confirm). That confirmation, like real Stripe's, may replace a declined card (the owner
retries) and treats 4000000000000002, Stripe's generic decline card, as declined when charged
(localstripe alone declines it only when attached to a customer). 4242424242424242 succeeds.
The page's product code stays real Stripe.js code; only the stand-in differs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest

if TYPE_CHECKING:
    import stripe

API_KEY = "sk_test_owner_club_localstripe"  # localstripe accepts any key that starts with "sk_"
START_TIMEOUT = 20.0

# The server process. localstripe's own entry point listens on every interface ("::") and
# pickles its whole store to the fixed file /tmp/localstripe.pickle on every write (reloading it
# at start), which parallel runs would share. This one listens on 127.0.0.1 only, in memory only.
# It also serves the Payment Element stand-in (see the module's docstring).
_LAUNCHER = """
import logging, re, sys
from pathlib import Path
from aiohttp import web
from localstripe import resources, server
from localstripe.errors import UserError

resources.Store.dump_to_disk = lambda self: None
resources.Store.try_load_from_disk = lambda self: None
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")  # webhook deliveries

STRIPE_JS = (Path(server.__file__).parent / "localstripe-v3.js").read_text() + "\\n" + Path(sys.argv[2]).read_text()
CONFIRM = re.compile(r"^/v1/payment_intents/(pi_\\w+)/confirm$")


def confirm_in_browser(intent_id, data):
    intent = resources.PaymentIntent._api_retrieve(intent_id)
    if data.get("client_secret") != intent.client_secret:
        raise UserError(401, "Unauthorized")
    if intent.status not in ("requires_payment_method", "requires_confirmation"):
        raise UserError(400, "Bad request")
    given = dict(data.get("payment_method_data") or {})
    method = resources.PaymentMethod._api_create(
        type=given.get("type"), card=given.get("card"), billing_details=given.get("billing_details"))
    if method._attaching_is_declined():
        method._charging_is_declined = lambda: True
    intent.payment_method = method.id
    intent.latest_charge = None  # a declined card is replaced, as real Stripe allows
    intent._confirm(on_failure_now=intent._report_failure)
    return intent


@web.middleware
async def payment_element_stand_in(request, handler):
    if request.method == "GET" and request.path == "/js.stripe.com/v3/":
        return web.Response(text=STRIPE_JS, content_type="application/javascript")
    match = CONFIRM.match(request.path)
    if request.method == "POST" and match:
        data = await server.get_post_data(request, remove_auth=False) or {}
        if str(data.get("key", "")).startswith("pk_"):
            return server.json_response(confirm_in_browser(match.group(1), data)._export())
    return await handler(request)


server.app.middlewares.insert(1, payment_element_stand_in)  # inside localstripe's error answers
web.run_app(server.app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""
PAYMENT_ELEMENT_SHIM = Path(__file__).with_name("localstripe_payment_element.js")
PUBLISHABLE_KEY = "pk_test_owner_club_localstripe"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sign_webhook(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header Stripe (and localstripe) send for `payload`."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), b"%d." % t + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def webhook_event(type: str, obj: dict[str, Any], *, created: int | None = None) -> bytes:
    """An event body shaped like localstripe's (id, object, type, created, livemode,
    api_version, data.object), for tests that post a webhook to the app themselves."""
    event = {
        "id": "evt_" + secrets.token_hex(7),
        "object": "event",
        "type": type,
        "created": int(time.time()) if created is None else created,
        "livemode": False,
        "api_version": "2017-08-15",
        "data": {"object": obj},
    }
    return json.dumps(event, indent=2, sort_keys=True).encode()


@dataclass
class LocalStripe:
    base_url: str
    api_key: str
    process: subprocess.Popen[bytes]
    log_path: Path
    _webhooks: set[str] = field(default_factory=set)

    def _post(self, path: str, body: dict[str, Any] | None, method: str = "POST") -> None:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()

    def register_webhook(
        self, url: str, secret: str, *, events: list[str] | None = None, id: str | None = None
    ) -> str:
        """Send this server's events (all, or only `events`) to `url`, signed with `secret`.
        Returns the endpoint id; registering the same id again replaces that endpoint."""
        id = id or "we_" + secrets.token_hex(6)
        self._post(f"/_config/webhooks/{id}", {"url": url, "secret": secret, "events": events})
        self._webhooks.add(id)
        return id

    def unregister_webhook(self, id: str) -> None:
        # localstripe cannot delete an endpoint: make it accept no event type at all.
        self._post(f"/_config/webhooks/{id}", {"url": "http://127.0.0.1:9/", "secret": "-", "events": []})
        self._webhooks.discard(id)

    def flush(self) -> None:
        """Forget every object (customers, payment intents, events...); webhooks stay."""
        self._post("/_config/data", None, method="DELETE")

    def client(self) -> "stripe.StripeClient":
        """A `stripe.StripeClient` on this server. No retries: localstripe ignores
        Idempotency-Key, so a retried POST would create a second object."""
        import stripe

        return stripe.StripeClient(self.api_key, base_addresses={"api": self.base_url}, max_network_retries=0)

    def configure(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Point the `stripe` module's globals here for one test (undone afterwards)."""
        import stripe

        monkeypatch.setattr(stripe, "api_base", self.base_url)
        monkeypatch.setattr(stripe, "api_key", self.api_key)
        monkeypatch.setattr(stripe, "max_network_retries", 0)

    @property
    def js_url(self) -> str:
        """Stripe.js as this server serves it (localstripe's, with the Payment Element shim)."""
        return self.base_url + "/js.stripe.com/v3/"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _answers(base_url: str, api_key: str) -> bool:
    request = urllib.request.Request(base_url + "/v1/events?limit=1", headers={"Authorization": f"Bearer {api_key}"})
    try:
        with urllib.request.urlopen(request, timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_localstripe(api_key: str = API_KEY, log_dir: Path | None = None) -> LocalStripe:
    """Start localstripe on a free 127.0.0.1 port and wait until it answers."""
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="localstripe-"))
    last_log = ""
    for _attempt in range(3):  # the free port may be taken between probing and binding
        port = free_port()
        log_path = log_dir / f"localstripe-{port}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-c", _LAUNCHER, str(port), str(PAYMENT_ELEMENT_SHIM)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        server = LocalStripe(f"http://127.0.0.1:{port}", api_key, process, log_path)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and process.poll() is None:
            if _answers(server.base_url, api_key):
                return server
            time.sleep(0.05)
        server.stop()
        last_log = server.log()
    raise RuntimeError(
        "localstripe did not start (is it installed? pip install -e '.[test]'); its output:\n" + last_log[-2000:]
    )


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStripe]:
    """A localstripe server for the whole run. Its state is shared by the tests of the run:
    use fresh objects per test (or `flush()`), and match webhook events on ids."""
    server = start_localstripe(log_dir=tmp_path_factory.mktemp("localstripe"))
    try:
        yield server
    finally:
        server.stop()
