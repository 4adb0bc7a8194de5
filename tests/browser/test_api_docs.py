"""A partner's developer opens the API documentation: Swagger UI at /schema/swagger (and /schema)
and Redoc at /schema/redoc render the OpenAPI 3.1 document with the partner operations, from the
app's own files only (every request that would leave 127.0.0.1 is aborted, and none is tried),
under the pages' Content-Security-Policy (no violation reported)."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Page, Request, Route, expect

from tests.browser.conftest import Pages

# Every partner operation, by the path and method a developer looks for.
PARTNER_OPERATIONS = [
    ("POST", "/partner/v1/codes/verify"),
    ("POST", "/partner/v1/sales"),
    ("GET", "/partner/v1/sales"),
    ("GET", "/partner/v1/sales/{sale_id}"),
    ("POST", "/partner/v1/sales/{sale_id}/reversals"),
]
# The document's sections, each folded until opened.
TAGS = ("ops", "cards", "auth", "members", "points", "referrals", "events", "payments", "care", "privacy", "rewards",
        "staff", "dashboards", "partner")
REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


class Offline:
    """Aborts every request of a page that is not for the loopback server, and remembers it.
    CSP violations the page reports are remembered too."""

    def __init__(self) -> None:
        self.outside: list[str] = []
        self.violations: list[str] = []

    async def attach(self, page: Page) -> None:
        async def judge(route: Route, request: Request) -> None:
            host = urlsplit(request.url).hostname
            if request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
                await route.continue_()
            else:
                self.outside.append(request.url)
                await route.abort("blockedbyclient")

        await page.context.route("**/*", judge)
        # Reported by the browser for each refused script, style, worker or connection.
        await page.add_init_script(
            "document.addEventListener('securitypolicyviolation', (e) => "
            "console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
        )
        page.on("console", lambda message: self.violations.append(message.text) if "CSP violation" in message.text else None)


async def open_docs(pages: Pages, path: str) -> tuple[Page, Offline]:
    page = await pages.new(locale="en-US")
    offline = Offline()
    await offline.attach(page)
    answer = await page.goto(path)
    assert answer is not None and answer.status == 200
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    return page, offline


@pytest.mark.parametrize("path", ["/schema/swagger", "/schema"])
async def test_swagger_ui_shows_the_partner_operations_offline(pages: Pages, path: str):
    page, offline = await open_docs(pages, path)
    await expect(page.locator("#swagger-ui[data-state=ready]")).to_be_attached()
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("Owner Club API")
    await expect(page.locator(".swagger-ui .info .title .version-stamp")).to_contain_text("OAS 3.1")
    # The document opens with its sections folded (140 operations); a partner's developer opens theirs.
    await expect(page.locator(".opblock-tag")).to_have_count(len(TAGS))
    await page.locator('.opblock-tag[data-tag="partner"]').click()
    for method, route in PARTNER_OPERATIONS:
        operation = page.locator(f".opblock-{method.lower()}", has=page.locator(f'.opblock-summary-path[data-path="{route}"]'))
        await expect(operation).to_have_count(1)
    # A developer opens "record a sale" and sees its request body and its problem-details answers.
    sale = page.locator(".opblock-post", has=page.locator('.opblock-summary-path[data-path="/partner/v1/sales"]'))
    await sale.locator(".opblock-summary").click()
    await expect(sale.locator(".opblock-body")).to_contain_text("Idempotency-Key")
    await expect(sale.locator(".responses-table")).to_contain_text("application/problem+json")
    await expect(page.locator("body")).not_to_contain_text("Unable to render")
    assert offline.outside == [] and offline.violations == []


async def test_redoc_shows_the_partner_operations_offline(pages: Pages):
    page, offline = await open_docs(pages, "/schema/redoc")
    # Redoc lays out the whole API before it says ready: with every route of the owner app it
    # takes longer than the usual wait on a loaded machine.
    await expect(page.locator("#redoc[data-state=ready]")).to_be_attached(timeout=60_000)
    await expect(page.locator("h1")).to_contain_text("Owner Club API")
    for method, route in PARTNER_OPERATIONS:
        # Redoc's panel for an operation: its method and path, e.g. "post /partner/v1/sales".
        endpoint = page.locator(".http-verb", has_text=method.lower()).locator("xpath=..", has_text=route)
        await expect(endpoint.first).to_be_attached()
    await expect(page.locator('[id="operation/createSale"]')).to_contain_text("Idempotency-Key")
    # Search runs in Redoc's worker (a blob: URL the policy allows for this page only). The worker
    # builds its index after the page shows, and a search typed before then finds nothing and is
    # not run again: type it again until the index answers. Each search over every route takes
    # seconds on a loaded machine, so each try waits long enough for one to finish (typing again
    # sooner restarts it); bounded, no sleep.
    search, results = page.locator('input[placeholder="Search..."]'), page.locator('[data-role="search:results"]')
    for _ in range(6):  # the index of every route takes a while on a loaded machine, and so does each search
        await search.fill("")
        await search.press_sequentially("sale")  # typed as a person does (Redoc searches on key presses)
        try:
            await expect(results.get_by_text("Record a sale").first).to_be_visible(timeout=15_000)
            break
        except AssertionError:
            continue
    else:
        pytest.fail("Redoc's search never answered: is its worker refused?")
    await expect(page.locator("body")).not_to_contain_text("Something went wrong")
    await expect(page.locator("body")).not_to_contain_text("Unable to render")
    # Redoc's "API docs by Redocly" credit always asks for its logo on Redocly's CDN: the policy
    # (img-src 'self') refuses it before any request is made, and Redoc then hides the image.
    assert offline.outside == []
    assert offline.violations in ([], [f"CSP violation: img-src {REDOCLY_LOGO}"]), offline.violations


async def test_the_viewers_files_are_served_by_the_app_with_a_long_cache(client: httpx.AsyncClient):
    page = (await client.get("/schema/redoc")).text
    assets = [part.split('"')[0] for part in page.split('src="')[1:]] + [part.split('"')[0] for part in page.split('href="')[1:]]
    assert assets and all(asset.startswith("/static/apidocs/") and "?v=" in asset for asset in assets), assets
    for asset in assets:
        answer = await client.get(asset)
        assert answer.status_code == 200, asset
        assert "max-age=31536000" in answer.headers["cache-control"]
    swagger = await client.get("/schema/swagger")
    assert "unsafe" not in swagger.headers["content-security-policy"]
    assert "'unsafe-inline'" not in (await client.get("/schema/redoc")).headers["content-security-policy"].split("script-src")[1].split(";")[0]
