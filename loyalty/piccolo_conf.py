"""Piccolo's configuration: the app registry and the engine.

`DB` is built from LOYALTY_DATABASE_URL for Piccolo's command-line tools; the application
rebinds it through `loyalty.db.bind` so there is only ever one engine in use.
"""

import os

from piccolo.conf.apps import AppRegistry

from loyalty.db import engine_from_url
from loyalty.settings import DEFAULT_DATABASE_URL

DB = engine_from_url(os.environ.get("LOYALTY_DATABASE_URL") or DEFAULT_DATABASE_URL)

APP_REGISTRY = AppRegistry(
    apps=[
        "piccolo.apps.user.piccolo_app",
        "piccolo_api.session_auth.piccolo_app",  # piccolo-admin's sessions (/admin)
        "loyalty.members.piccolo_app",
        "loyalty.identity.piccolo_app",
        "loyalty.care.piccolo_app",
        "loyalty.audit.piccolo_app",
        "loyalty.cards.piccolo_app",
        "loyalty.points.piccolo_app",
        "loyalty.referrals.piccolo_app",
        "loyalty.merchants.piccolo_app",
        "loyalty.events.piccolo_app",
        "loyalty.rewards.piccolo_app",
        "loyalty.ops.piccolo_app",  # the embedded beat's leases (no broker)
    ]
)
