"""The ASGI entry point for servers that import an app: `uvicorn --factory loyalty.asgi:create`."""

from litestar import Litestar

from loyalty.app import create_app
from loyalty.ops.logs import configure_logging
from loyalty.settings import get_settings


def create() -> Litestar:
    settings = get_settings()
    configure_logging(settings.log_format)
    return create_app(settings)
