"""Message bodies that carry a secret (a login code) are sealed at rest: the outbox row holds
them encrypted (Fernet, with a key derived from LOYALTY_SECRET_KEY), and only the delivering
worker opens them, just before the channel sends. Staff who can read the outbox (in /admin,
in a backup) see that a code was sent, never the code, so nobody can ask for an owner's code
and log in as them. Everything else in the outbox stays plain text for customer service."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

PREFIX = "sealed:v1:"


def _fernet(secret_key: str | None) -> Fernet:
    if not secret_key:
        raise ValueError("sealing a message needs LOYALTY_SECRET_KEY")
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"owner-club outbox seal v1:" + secret_key.encode()).digest()))


def seal(body: str, secret_key: str | None) -> str:
    return PREFIX + _fernet(secret_key).encrypt(body.encode()).decode()


def unseal(body: str, secret_key: str | None) -> str:
    """The plain text of a body, sealed or not. A body sealed under another secret (rotated
    since it was queued) cannot be opened: that raises, and the delivery is retried, then
    failed, like any other channel error."""
    if not body.startswith(PREFIX):
        return body
    try:
        return _fernet(secret_key).decrypt(body[len(PREFIX):].encode()).decode()
    except InvalidToken:
        raise ValueError("this message was sealed under another LOYALTY_SECRET_KEY") from None
