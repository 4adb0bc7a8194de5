"""Signed codes for QR: never a bare card number.

Text form (URL-safe, fits a small QR):  OC1.<key id>.<payload>.<signature>
  payload   = base64url(kind 1 byte | subject id 8 bytes | step 4 bytes [| nonce 4 bytes])
  signature = base64url(Ed25519 over "OC1.<key id>.<payload>")

Kinds: `S` static card code (step 0: valid until the card is replaced), `D` dynamic card code
(step = unix time // 60, plus a random nonce: accepted in its own minute and the next one —
one step of clock skew — so a screenshot dies within two minutes at most), `T` event ticket,
`R` a reward's pick-up code (step = the redemption's own random nonce, so only the code the
owner was shown names it).
Anyone holding the public key can check a signature offline; whether the card was replaced or
suspended, and whether a dynamic code has already paid for a sale, is checked online.
Keys come from settings with an id, so a new key can sign while old ones still verify.

What each card code may do (DESIGN.md, "Which code may do what"): the static code on the
printed card and the card PNG *identifies* (tier, discount, check-in); only a dynamic code
*pays* with points, and the sale consumes it: each dynamic code carries its own nonce, so a
phone that asks again gets a fresh code and (card, step, nonce) names one payment at most.
"""

from __future__ import annotations

import base64
import binascii
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from loyalty.i18n import _, _n
from loyalty.errors import DomainError

PREFIX = "OC1"
STEP_SECONDS = 60
SKEW_STEPS = 1
KINDS = {"S": "static", "D": "dynamic", "T": "ticket", "R": "pickup"}
CARD_CODE_KINDS = ("static", "dynamic")  # a ticket code is an event's, never a card's
_PAYLOAD = struct.Struct(">cQI")
# A dynamic code carries a nonce: every code the phone is given is a different one-time code.
_DYNAMIC_PAYLOAD = struct.Struct(">cQII")


class CodeError(DomainError):
    status = 422


class CodeMalformed(CodeError):
    type = "code-malformed"
    title = _("This is not an Owner Club code")


class CodeBadSignature(CodeError):
    type = "code-bad-signature"
    title = _("The code's signature is not valid")


class CodeUnknownKey(CodeError):
    type = "code-unknown-key"
    title = _("The code was signed with an unknown key")


class CodeExpired(CodeError):
    type = "code-expired"
    title = _("The code has expired; refresh it on the phone")


class CodeAlreadyUsed(CodeError):
    """A dynamic code pays for one sale: a second sale with it (under another Idempotency-Key)
    is a replay of a photographed or intercepted code, not a retry."""

    type = "code-already-used"
    title = _("This code has already been used for a sale; refresh it on the phone")


class CodeNumberUnknown(CodeError):
    """Typed digits that name no code we issued (a typo, or digits older than a day): the
    cashier checks the digits, or the owner refreshes the phone for a new code."""

    type = "code-number-unknown"
    title = _("No code has this number; check the digits or ask the owner to refresh the code")


class CodeCannotPay(CodeError):
    """The static code is printed on the card and in its image: anyone who photographs a card
    has it, so it identifies the member but never spends their points."""

    type = "code-cannot-pay"
    title = _("A printed card identifies; paying with points needs the rotating code on the owner's phone")


@dataclass(frozen=True)
class SignedPayload:
    kind: str  # static | dynamic | ticket
    subject_id: int
    step: int
    key_id: str
    nonce: int = 0  # dynamic codes: which of the step's codes this is (0 for the others)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CodeVerifier:
    """Checks codes with public keys only: what the server does, and what a till or a door
    scanner holding the keys from `GET /api/v1/code-keys` can do offline."""

    def __init__(self, public: dict[str, Ed25519PublicKey]) -> None:
        self._public = public

    @classmethod
    def from_public_keys(cls, keys: dict[str, str]) -> "CodeVerifier":
        return cls({key_id: Ed25519PublicKey.from_public_bytes(_unb64(raw)) for key_id, raw in keys.items()})

    def public_keys(self) -> dict[str, str]:
        """Key id → raw Ed25519 public key (base64url), for offline verifiers."""
        return {
            key_id: _b64(key.public_bytes(Encoding.Raw, PublicFormat.Raw)) for key_id, key in self._public.items()
        }

    def open(self, text: str) -> SignedPayload:
        """Check format and signature (no expiry, no revocation: see `check_fresh` and the
        card service). Raises CodeMalformed, CodeUnknownKey or CodeBadSignature."""
        parts = text.strip().split(".") if isinstance(text, str) else []
        if len(parts) != 4 or parts[0] != PREFIX:
            raise CodeMalformed(_("expected OC1.<key>.<payload>.<signature>"), field="code")
        key_id, payload_text, signature_text = parts[1:]
        try:
            payload = _unb64(payload_text)
            signature = _unb64(signature_text)
        except (binascii.Error, ValueError):
            raise CodeMalformed(_("the code is not valid base64url"), field="code") from None
        if len(payload) not in (_PAYLOAD.size, _DYNAMIC_PAYLOAD.size) or len(signature) != 64:
            raise CodeMalformed(_("the code has the wrong length (was it cut short?)"), field="code")
        public = self._public.get(key_id)
        if public is None:
            raise CodeUnknownKey(_("there is no key with the id '{key}'", key=key_id), field="code")
        try:
            public.verify(signature, f"{PREFIX}.{key_id}.{payload_text}".encode())
        except InvalidSignature:
            raise CodeBadSignature(_("the signature does not match"), field="code") from None
        nonce = 0
        if len(payload) == _DYNAMIC_PAYLOAD.size:
            kind_byte, subject_id, step, nonce = _DYNAMIC_PAYLOAD.unpack(payload)
        else:
            kind_byte, subject_id, step = _PAYLOAD.unpack(payload)
        kind = KINDS.get(kind_byte.decode("latin-1"))
        if kind is None or (len(payload) == _DYNAMIC_PAYLOAD.size and kind != "dynamic"):
            raise CodeMalformed(_("this kind of code is not known"), field="code")
        return SignedPayload(kind=kind, subject_id=subject_id, step=step, key_id=key_id, nonce=nonce)


class CodeSigner(CodeVerifier):
    """Holds the signing keys: the first one signs, all of them verify."""

    def __init__(self, keys: list[tuple[str, Ed25519PrivateKey]]) -> None:
        if not keys:
            raise ValueError("at least one signing key is needed")
        for key_id, _key in keys:
            if not key_id.isalnum() or len(key_id) > 8:
                raise ValueError(f"key id {key_id!r} must be 1-8 letters or digits")
        self._signing_id, self._signing_key = keys[0]
        super().__init__({key_id: key.public_key() for key_id, key in keys})

    @classmethod
    def from_secret(cls, secret: str, key_id: str = "k1") -> "CodeSigner":
        """A key derived from LOYALTY_SECRET_KEY (HKDF), for deployments without their own keys."""
        seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"owner-club code signing v1").derive(
            secret.encode()
        )
        return cls([(key_id, Ed25519PrivateKey.from_private_bytes(seed))])

    @classmethod
    def from_setting(cls, value: str) -> "CodeSigner":
        """`kid:base64url-seed[,kid:seed...]` as in LOYALTY_SIGNING_KEYS; the first signs."""
        keys = []
        for part in value.split(","):
            key_id, _colon, seed = part.strip().partition(":")
            keys.append((key_id, Ed25519PrivateKey.from_private_bytes(_unb64(seed))))
        return cls(keys)

    def sign(self, kind: str, subject_id: int, step: int = 0, nonce: int | None = None) -> str:
        """A code of `kind`; a `nonce` (dynamic codes) makes it one of many for its step."""
        kind_byte = next(k for k, name in KINDS.items() if name == kind).encode()
        if nonce is None:
            packed = _PAYLOAD.pack(kind_byte, subject_id, step)
        else:
            packed = _DYNAMIC_PAYLOAD.pack(kind_byte, subject_id, step, nonce)
        head = f"{PREFIX}.{self._signing_id}.{_b64(packed)}"
        return f"{head}.{_b64(self._signing_key.sign(head.encode()))}"


def current_step(unix_time: float) -> int:
    return int(unix_time // STEP_SECONDS)


def check_fresh(payload: SignedPayload, unix_time: float) -> int:
    """For a dynamic code: the unix time it stops being accepted; raises CodeExpired after.
    A code is accepted in its own step and the next one (one step of clock skew), so it lives
    at most 60 s + one step. Our servers make the codes, so a code from a step that has not
    begun here is refused too: accepting it would let a code live a third minute."""
    late = current_step(unix_time) - payload.step
    if late < 0:
        raise CodeExpired(
            _n(
                "the code is for a minute that has not begun ({count} minute ahead of this server's clock)",
                "the code is for a minute that has not begun ({count} minutes ahead of this server's clock)",
                -late,
            ),
            field="code",
        )
    if late > SKEW_STEPS:
        raise CodeExpired(
            _n("the code was made {count} minute ago", "the code was made {count} minutes ago", late), field="code"
        )
    return (payload.step + SKEW_STEPS + 1) * STEP_SECONDS


def verify_public(text: str, public_keys: dict[str, str]) -> SignedPayload:
    """Offline check with public keys only (what a till or a door scanner can do)."""
    return CodeVerifier.from_public_keys(public_keys).open(text)
