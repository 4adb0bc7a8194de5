"""The API documentation pages: Swagger UI 5 at `/schema/swagger` (also `/schema`) and Redoc 2 at
`/schema/redoc`, both reading the OpenAPI 3.1 document at `/schema/openapi.json`.

Every file they load comes from the app itself (`loyalty/web/apidocs/`, see its VENDORED.md for
the versions and where they came from), so the docs work offline and behind firewalls. The
files are served under `/static/apidocs/` with a year-long cache; each URL carries a hash of the
file's content (`?v=`), so an upgraded file is a new URL and no browser keeps a stale one.

Litestar's own Swagger and Redoc plugins inline a `<script>` (and a `<style>`) in the page. We
render the same viewers with the start-up code in files instead, so the pages run under a
Content-Security-Policy with `script-src 'self'` (loyalty.ops.edge.DOCS_POLICIES)."""

from __future__ import annotations

import hashlib
from functools import cache
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import RedocRenderPlugin, SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

if TYPE_CHECKING:
    from litestar import Request, Router

ASSETS = Path(__file__).resolve().parent / "web" / "apidocs"
PREFIX = "/static/apidocs"
SWAGGER_PATH = "/swagger"  # under OpenAPIConfig.path (/schema)
REDOC_PATH = "/redoc"
YEAR = 365 * 86400


@cache
def asset_url(name: str) -> str:
    """`/static/apidocs/<name>?v=<content hash>`: a new URL whenever the file changes."""
    digest = hashlib.sha256((ASSETS / name).read_bytes()).hexdigest()[:16]
    return f"{PREFIX}/{name}?v={digest}"


def assets_router() -> Router:
    """The viewers' files, cached for a year (their URLs change with their content)."""
    return create_static_files_router(
        path=PREFIX,
        directories=[ASSETS],
        include_in_schema=False,
        cache_control=CacheControlHeader(max_age=YEAR, public=True),
    )


def _page(title: str, head: str, body: str) -> bytes:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n'
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n"
        f'<link rel="icon" type="image/png" href="{asset_url("swagger_ui/favicon-32x32.png")}">\n'
        f'<link rel="stylesheet" href="{asset_url("apidocs.css")}">\n'
        f"{head}</head>\n<body>\n{body}</body>\n</html>\n"
    ).encode()


class LocalSwagger(SwaggerRenderPlugin):
    """Swagger UI from our own files, started by `swagger-init.js`."""

    def __init__(self) -> None:
        super().__init__(
            path=SWAGGER_PATH,
            js_url=asset_url("swagger_ui/swagger-ui-bundle.js"),
            css_url=asset_url("swagger_ui/swagger-ui.css"),
            standalone_preset_js_url="",  # the standalone layout (a top bar to load other documents) is not used
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        spec_url = escape(self.get_openapi_json_route(request))
        return _page(
            f"{openapi_schema['info']['title']} · Swagger UI",
            f'<link rel="stylesheet" href="{self.css_url}">\n',
            f'<div id="swagger-ui" data-spec-url="{spec_url}"></div>\n'
            f'<script src="{self.js_url}"></script>\n'
            f'<script src="{asset_url("swagger-init.js")}"></script>\n',
        )

    def receive_router(self, router: Router) -> None:
        """No `/oauth2-redirect.html`: the API has no OAuth2 flow (keys and session cookies),
        and Litestar's page for it is an inline script our policy would refuse."""


class LocalRedoc(RedocRenderPlugin):
    """Redoc from our own file, started by `redoc-init.js`; no Google Fonts."""

    def __init__(self) -> None:
        super().__init__(path=REDOC_PATH, js_url=asset_url("redoc/redoc.standalone.js"), google_fonts=False)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        spec_url = escape(self.get_openapi_json_route(request))
        return _page(
            f"{openapi_schema['info']['title']} · Redoc",
            "",
            f'<div id="redoc" data-spec-url="{spec_url}"></div>\n'
            f'<script src="{self.js_url}"></script>\n'
            f'<script src="{asset_url("redoc-init.js")}"></script>\n',
        )


def render_plugins() -> list[SwaggerRenderPlugin | RedocRenderPlugin]:
    """Swagger UI first: Litestar serves the first plugin at the root, `/schema`, too."""
    return [LocalSwagger(), LocalRedoc()]
