"""The ASGI entry point for servers that import an app: `uvicorn --factory loyalty.asgi:create`."""

from litestar import Litestar

from loyalty.app import create_app
from loyalty.settings import get_settings


def create() -> Litestar:
    return create_app(get_settings())
