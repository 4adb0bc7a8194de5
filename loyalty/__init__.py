"""Owner Club: the loyalty and membership platform for a real-estate developer's home owners."""

import os

__version__ = "0.1.0"

# Piccolo's own tools (migrations) find the engine through this module; see loyalty/db.py.
os.environ.setdefault("PICCOLO_CONF", "loyalty.piccolo_conf")
