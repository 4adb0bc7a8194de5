"""A small typed client for the Owner Club partner API (`/partner/v1`), for a merchant's till.

Copy this one file; it needs only `httpx` and the standard library::

    with PartnerClient("https://club.example.com", "ocm_live_…") as club:
        offer = club.verify(scanned_text)
        result = club.create_sale(scanned_text, gross_fen=128_000, discount_fen=12_800, store="S1")
        save_for_retry(result.idempotency_key)  # the same key replays, never sells twice

`AsyncPartnerClient` has the same methods as coroutines (and `list_sales` as an async iterator).

Every write carries an `Idempotency-Key`. When none is given, the client makes one (uuid4)
and returns it with the result (or on the error), so the till can retry with the same key:
the server answers a retry with the first answer. The client itself retries, with the same
key, when the connection fails or the server answers 5xx or 429 (a bounded number of times).
Every refusal is raised as `PartnerError`, read from the RFC 9457 problem details the server
sends; branch on `error.slug` (e.g. `discount-exceeds-schedule`), never on the words.

Card codes: the static code (printed card, card image) identifies the owner — tier, discount,
a sale without points. Paying with points needs the rotating code on the owner's phone
(`Verification.code_can_pay`), and that code pays for one sale: a second sale with it is
`code-already-used` (ask the owner to refresh), a static code with points is `code-cannot-pay`.
A retry of the same sale with the same Idempotency-Key still gets the first answer.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import MISSING, dataclass, field, fields
from datetime import date, datetime
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator, TypeVar
from urllib.parse import quote

import httpx

API_PATH = "/partner/v1"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
USER_AGENT = "owner-club-partner-client/1"

T = TypeVar("T")


# --- what the API answers --------------------------------------------------------------------


@dataclass(frozen=True)
class Discount:
    percent_bp: int  # basis points: 1000 = 10% off
    cap_fen: int | None  # at most this much off one sale; None: no cap


@dataclass(frozen=True)
class Verification:
    """A scanned card: who (masked), which tier, what discount here, how many points."""

    tier: str  # platinum | gold | silver | blue
    tier_label_zh: str
    tier_label_en: str
    member_name: str  # masked, e.g. 张*
    discount: Discount
    points_available: int
    points_per_cny: int  # points worth 1 CNY (100 fen) when paying here
    code_kind: str  # static (printed card, card image) | dynamic (the owner's phone)
    code_expires_at_unix: int | None
    code_can_pay: bool = False  # only a dynamic code may take points as payment, once
    code_cannot_pay_reason: str | None = None  # code-cannot-pay (static) | code-already-used (spent)


@dataclass(frozen=True)
class Sale:
    id: int
    store_id: int
    tier: str
    gross_fen: int
    discount_fen: int
    points_redeemed: int
    points_value_fen: int
    points_earned: int
    cash_fen: int
    reversed_fen: int
    points_balance_after: int
    created_at: datetime
    # The earned points vest on this day (the merchant's reversal window); a reversal before
    # then voids them.
    points_earned_pending_until: date | None = None
    earn_cap_reached: str | None = None  # "sale" | "day": a cap on earning cut points_earned down


@dataclass(frozen=True)
class SaleResult:
    sale: Sale
    idempotency_key: str  # keep it until the till has printed the receipt: a retry reuses it
    replayed: bool  # True: the server had this sale already (a retry), nothing new happened


@dataclass(frozen=True)
class SalePage:
    items: list[Sale]
    next_cursor: int | None


@dataclass(frozen=True)
class Reversal:
    id: int
    sale_id: int
    amount_fen: int
    discount_fen: int
    points_returned: int
    points_removed: int
    points_balance_after: int
    created_at: datetime


@dataclass(frozen=True)
class ReversalResult:
    reversal: Reversal
    idempotency_key: str
    replayed: bool


@dataclass(frozen=True)
class SettlementLine:
    store_code: str
    store_name: str
    sales: int
    gross_fen: int
    discount_fen: int
    points_redeemed: int
    points_value_fen: int
    points_earned: int
    reversals: int
    reversed_fen: int


@dataclass(frozen=True)
class Settlement:
    month: str
    lines: list[SettlementLine]
    points_value_owed_fen: int  # what the developer owes the merchant for points taken as payment
    discount_fen: int
    sales: int


# --- errors ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str
    source: str = ""


class PartnerClientError(Exception):
    """Anything that went wrong; `idempotency_key` is set on writes, so the till can retry."""

    idempotency_key: str | None = None


class PartnerError(PartnerClientError):
    """The server refused: an RFC 9457 problem (`type`, `title`, `detail`, field `errors`)."""

    def __init__(
        self, status: int, type: str, title: str, detail: str = "", errors: list[FieldError] | None = None, *,
        problem: dict[str, Any] | None = None, retry_after: int | None = None, idempotency_key: str | None = None,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}" if detail else f"{status} {title}")
        self.status, self.type, self.title, self.detail = status, type, title, detail
        self.errors = errors or []
        self.problem = problem or {}  # the whole document, with extras such as `allowed_fen`
        self.retry_after = retry_after
        self.idempotency_key = idempotency_key

    @property
    def slug(self) -> str:
        """The stable last part of `type`: `/problems/code-expired` → `code-expired`."""
        return self.type.rstrip("/").rsplit("/", 1)[-1]


class PartnerUnreachable(PartnerClientError):
    """No answer after every retry (network down, timeouts). Retry later with `idempotency_key`."""

    def __init__(self, message: str, *, idempotency_key: str | None = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.idempotency_key = idempotency_key
        self.attempts = attempts


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


# --- reading answers ---------------------------------------------------------------------------


def _build(cls: type[T], data: dict[str, Any], **nested: Callable[[Any], Any]) -> T:
    """A result dataclass from JSON; fields the server adds later are ignored, not errors."""
    values = {}
    for item in fields(cls):  # type: ignore[arg-type]
        # A field with a default is newer than some servers: absent there, it takes the default.
        value = data[item.name] if item.default is MISSING else data.get(item.name, item.default)
        if item.name in nested:
            value = nested[item.name](value)
        elif item.type == "datetime":
            value = datetime.fromisoformat(value)
        elif item.type == "date | None" and value is not None:
            value = date.fromisoformat(value)
        values[item.name] = value
    return cls(**values)


def _sale(data: dict[str, Any]) -> Sale:
    return _build(Sale, data)


def _verification(data: dict[str, Any]) -> Verification:
    return _build(Verification, data, discount=lambda value: _build(Discount, value))


def _reversal(data: dict[str, Any]) -> Reversal:
    return _build(Reversal, data)


def _sale_page(data: dict[str, Any]) -> SalePage:
    return SalePage(items=[_sale(item) for item in data["items"]], next_cursor=data["next_cursor"])


def _settlement(data: dict[str, Any]) -> Settlement:
    return _build(Settlement, data, lines=lambda lines: [_build(SettlementLine, line) for line in lines])


def _replayed(response: httpx.Response) -> bool:
    """The server answered a retry with the first answer (nothing new was recorded)."""
    return response.headers.get("Idempotent-Replayed", "").lower() == "true"


def _retry_after(response: httpx.Response) -> int | None:
    value = response.headers.get("Retry-After", "")
    return int(value) if value.isdigit() else None


def problem_error(response: httpx.Response, idempotency_key: str | None = None) -> PartnerError:
    """The PartnerError for a non-2xx answer; a body that is not problem details (a proxy's
    HTML page) still gives the status and a short detail."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        text = response.text.strip()
        return PartnerError(
            response.status_code, "about:blank", response.reason_phrase or "HTTP error", text[:200],
            retry_after=_retry_after(response), idempotency_key=idempotency_key,
        )
    errors = [
        FieldError(str(item.get("field", "")), str(item.get("reason", "")), str(item.get("source", "")))
        for item in body.get("errors") or []
        if isinstance(item, dict)
    ]
    return PartnerError(
        int(body.get("status") or response.status_code), str(body.get("type") or "about:blank"),
        str(body.get("title") or response.reason_phrase), str(body.get("detail") or ""), errors,
        problem=body, retry_after=_retry_after(response), idempotency_key=idempotency_key,
    )


# --- one call, described once for both clients ---------------------------------------------


@dataclass
class _Call:
    method: str
    path: str
    json: dict[str, Any] | None = None
    params: dict[str, str] = field(default_factory=dict)
    idempotency_key: str | None = None


def _month(month: str | date) -> str:
    return month.strftime("%Y-%m") if isinstance(month, date) else month


def _key(given: str | None) -> str:
    return new_idempotency_key() if given is None else given


def _verify_call(code: str) -> _Call:
    return _Call("POST", "/codes/verify", json={"code": code})


def _sale_call(
    code: str, gross_fen: int, discount_fen: int, points_to_redeem: int, store: str | None, idempotency_key: str | None
) -> _Call:
    body: dict[str, Any] = {
        "code": code, "gross_fen": gross_fen, "discount_fen": discount_fen, "points_to_redeem": points_to_redeem,
    }
    if store is not None:
        body["store"] = store
    return _Call("POST", "/sales", json=body, idempotency_key=_key(idempotency_key))


def _reversal_call(sale_id: int, amount_fen: int | None, reason: str, idempotency_key: str | None) -> _Call:
    body: dict[str, Any] = {"reason": reason}
    if amount_fen is not None:
        body["amount_fen"] = amount_fen
    return _Call("POST", f"/sales/{int(sale_id)}/reversals", json=body, idempotency_key=_key(idempotency_key))


def _sales_call(start: date | None, end: date | None, store: str | None, cursor: int | None, page_size: int) -> _Call:
    params = {"limit": str(page_size)}
    for name, value in (("start", start), ("end", end), ("store", store), ("cursor", cursor)):
        if value is not None:
            params[name] = value.isoformat() if isinstance(value, date) else str(value)
    return _Call("GET", "/sales", params=params)


class _Base:
    def __init__(
        self, base_url: str, api_key: str, *, language: str | None, max_retries: int, backoff_seconds: float,
        max_delay_seconds: float,
    ) -> None:
        # The server's root; a base URL that already ends in /partner/v1 is accepted too.
        self.base_url = base_url.rstrip("/").removesuffix(API_PATH)
        self.max_retries = max(0, max_retries)
        self.backoff_seconds = backoff_seconds
        self.max_delay_seconds = max_delay_seconds
        self._headers = {"Authorization": f"Bearer {api_key}", "User-Agent": USER_AGENT, "Accept": "application/json"}
        if language:
            self._headers["Accept-Language"] = language

    def _request(self, http: httpx.Client | httpx.AsyncClient, call: _Call) -> httpx.Request:
        headers = dict(self._headers)
        if call.idempotency_key is not None:
            headers["Idempotency-Key"] = call.idempotency_key
        url = self.base_url + API_PATH + call.path
        return http.build_request(call.method, url, json=call.json, params=call.params, headers=headers)

    def _delay(self, attempt: int, response: httpx.Response | None) -> float | None:
        """Seconds to wait before the next try, or None when this one is final."""
        if attempt >= self.max_retries:
            return None
        if response is not None:
            if response.status_code not in RETRY_STATUSES:
                return None
            waited = _retry_after(response)
            if waited is not None:
                return min(float(waited), self.max_delay_seconds)
        return min(self.backoff_seconds * 2**attempt, self.max_delay_seconds)

    @staticmethod
    def _answer(response: httpx.Response, call: _Call) -> httpx.Response:
        if response.is_success:
            return response
        raise problem_error(response, call.idempotency_key)

    @staticmethod
    def _unreachable(call: _Call, error: httpx.TransportError, attempts: int) -> PartnerUnreachable:
        return PartnerUnreachable(
            f"{call.method} {API_PATH}{call.path}: no answer after {attempts} attempt(s): {error!r}",
            idempotency_key=call.idempotency_key, attempts=attempts,
        )


class PartnerClient(_Base):
    """The partner API over a blocking `httpx.Client` (pass your own `http` or `transport`)."""

    def __init__(
        self, base_url: str, api_key: str, *, http: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None, timeout: float = 10.0, language: str | None = None,
        max_retries: int = 3, backoff_seconds: float = 0.25,
        max_delay_seconds: float = 5.0, sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            base_url, api_key, language=language, max_retries=max_retries, backoff_seconds=backoff_seconds,
            max_delay_seconds=max_delay_seconds,
        )
        self._owns_http = http is None
        self.http = http or httpx.Client(transport=transport, timeout=timeout)
        self._sleep = sleep

    def __enter__(self) -> PartnerClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def _send(self, call: _Call) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = self.http.send(self._request(self.http, call))
                response.read()
            except httpx.TransportError as error:
                delay = self._delay(attempt, None)
                if delay is None:
                    raise self._unreachable(call, error, attempt + 1) from error
            else:
                delay = self._delay(attempt, response)
                if delay is None:
                    return self._answer(response, call)
            self._sleep(delay)
            attempt += 1

    def verify(self, code: str) -> Verification:
        """A scanned QR code → tier, this merchant's discount, masked name, points."""
        return _verification(self._send(_verify_call(code)).json())

    def create_sale(
        self, code: str, gross_fen: int, discount_fen: int = 0, points_to_redeem: int = 0, store: str | None = None,
        idempotency_key: str | None = None,
    ) -> SaleResult:
        """Record a sale; `store` is the store code (not needed with a store's own key).
        `points_to_redeem` needs the dynamic code from the owner's phone, which this sale
        consumes (`code-cannot-pay` for a static code, `code-already-used` for a spent one)."""
        call = _sale_call(code, gross_fen, discount_fen, points_to_redeem, store, idempotency_key)
        response = self._send(call)
        return SaleResult(_sale(response.json()), call.idempotency_key or "", _replayed(response))

    def reverse_sale(
        self, sale_id: int, amount_fen: int | None = None, reason: str = "", idempotency_key: str | None = None
    ) -> ReversalResult:
        """Reverse `amount_fen` of a sale (a return); None reverses all that is left."""
        call = _reversal_call(sale_id, amount_fen, reason, idempotency_key)
        response = self._send(call)
        return ReversalResult(_reversal(response.json()), call.idempotency_key or "", _replayed(response))

    def get_sale(self, sale_id: int) -> Sale:
        return _sale(self._send(_Call("GET", f"/sales/{int(sale_id)}")).json())

    def sales_page(
        self, *, start: date | None = None, end: date | None = None, store: str | None = None,
        cursor: int | None = None, page_size: int = 100,
    ) -> SalePage:
        return _sale_page(self._send(_sales_call(start, end, store, cursor, page_size)).json())

    def list_sales(
        self, *, start: date | None = None, end: date | None = None, store: str | None = None, page_size: int = 100
    ) -> Iterator[Sale]:
        """Every sale in the range (Beijing dates, both included), oldest first, page by page."""
        cursor: int | None = None
        while True:
            page = self.sales_page(start=start, end=end, store=store, cursor=cursor, page_size=page_size)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def settlement(self, month: str | date) -> Settlement:
        """The monthly statement per store (month as YYYY-MM)."""
        return _settlement(self._send(_Call("GET", f"/settlements/{quote(_month(month), safe='')}")).json())

    def settlement_csv(self, month: str | date) -> bytes:
        """The statement as the CSV file (UTF-8 with a BOM, so Excel shows Chinese store names)."""
        return self._send(_Call("GET", f"/settlements/{quote(_month(month), safe='')}.csv")).content


class AsyncPartnerClient(_Base):
    """The partner API over an `httpx.AsyncClient` (pass your own `http` or `transport`)."""

    def __init__(
        self, base_url: str, api_key: str, *, http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None, timeout: float = 10.0, language: str | None = None,
        max_retries: int = 3, backoff_seconds: float = 0.25, max_delay_seconds: float = 5.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(
            base_url, api_key, language=language, max_retries=max_retries, backoff_seconds=backoff_seconds,
            max_delay_seconds=max_delay_seconds,
        )
        self._owns_http = http is None
        self.http = http or httpx.AsyncClient(transport=transport, timeout=timeout)
        self._sleep = sleep

    async def __aenter__(self) -> AsyncPartnerClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()

    async def _send(self, call: _Call) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = await self.http.send(self._request(self.http, call))
                await response.aread()
            except httpx.TransportError as error:
                delay = self._delay(attempt, None)
                if delay is None:
                    raise self._unreachable(call, error, attempt + 1) from error
            else:
                delay = self._delay(attempt, response)
                if delay is None:
                    return self._answer(response, call)
            await self._sleep(delay)
            attempt += 1

    async def verify(self, code: str) -> Verification:
        return _verification((await self._send(_verify_call(code))).json())

    async def create_sale(
        self, code: str, gross_fen: int, discount_fen: int = 0, points_to_redeem: int = 0, store: str | None = None,
        idempotency_key: str | None = None,
    ) -> SaleResult:
        call = _sale_call(code, gross_fen, discount_fen, points_to_redeem, store, idempotency_key)
        response = await self._send(call)
        return SaleResult(_sale(response.json()), call.idempotency_key or "", _replayed(response))

    async def reverse_sale(
        self, sale_id: int, amount_fen: int | None = None, reason: str = "", idempotency_key: str | None = None
    ) -> ReversalResult:
        call = _reversal_call(sale_id, amount_fen, reason, idempotency_key)
        response = await self._send(call)
        return ReversalResult(_reversal(response.json()), call.idempotency_key or "", _replayed(response))

    async def get_sale(self, sale_id: int) -> Sale:
        return _sale((await self._send(_Call("GET", f"/sales/{int(sale_id)}"))).json())

    async def sales_page(
        self, *, start: date | None = None, end: date | None = None, store: str | None = None,
        cursor: int | None = None, page_size: int = 100,
    ) -> SalePage:
        return _sale_page((await self._send(_sales_call(start, end, store, cursor, page_size))).json())

    async def list_sales(
        self, *, start: date | None = None, end: date | None = None, store: str | None = None, page_size: int = 100
    ) -> AsyncIterator[Sale]:
        cursor: int | None = None
        while True:
            page = await self.sales_page(start=start, end=end, store=store, cursor=cursor, page_size=page_size)
            for sale in page.items:
                yield sale
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def settlement(self, month: str | date) -> Settlement:
        return _settlement((await self._send(_Call("GET", f"/settlements/{quote(_month(month), safe='')}"))).json())

    async def settlement_csv(self, month: str | date) -> bytes:
        return (await self._send(_Call("GET", f"/settlements/{quote(_month(month), safe='')}.csv"))).content
