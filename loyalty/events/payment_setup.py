"""What the owner page needs to pay for a signup in the browser with Stripe.js: the amount,
the hold's end, the PaymentIntent's client secret and the deployment's Stripe.js address and
publishable key. Only the owner of the signup sees it, and the secret only while paying is
still possible (a paid, cancelled or released signup keeps it no more)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from loyalty.errors import NotFound
from loyalty.events.signups import PaymentsUnavailable
from loyalty.events.tables import Payment, Signup
from loyalty.i18n import _
from loyalty.settings import Settings

PAYABLE = ("requires_payment", "failed")


@dataclass(frozen=True)
class PaymentSetup:
    signup_id: int
    signup_status: str
    cancel_reason: str
    amount_fen: int
    currency: str
    payment_status: str
    hold_expires_at: datetime | None
    client_secret: str
    last_error: str
    publishable_key: str
    stripe_js_url: str
    payment_method_types: tuple[str, ...]


async def payment_setup(member_id: int, signup_id: int, settings: Settings) -> PaymentSetup:
    signup = await Signup.select().where((Signup.id == signup_id) & (Signup.member == member_id)).first()
    payment = None
    if signup is not None and signup["payment"] is not None:
        payment = await Payment.select().where(Payment.id == signup["payment"]).first()
    if signup is None or payment is None:
        # Another owner's signup reads as missing: ids are not a way to learn who signed up.
        raise NotFound(_("Signup {signup_id} has nothing to pay", signup_id=signup_id))
    if not settings.stripe_in_browser:
        raise PaymentsUnavailable()
    preparing = payment["status"] == "requires_payment" and not payment["stripe_intent_id"]
    payable = signup["status"] == "pending_payment" and payment["status"] in PAYABLE and not preparing
    return PaymentSetup(
        signup_id=signup["id"], signup_status=signup["status"], cancel_reason=signup["cancel_reason"],
        amount_fen=payment["amount_fen"], currency=payment["currency"],
        payment_status="preparing" if preparing else payment["status"], hold_expires_at=signup["hold_expires_at"],
        client_secret=payment["client_secret"] if payable else "", last_error=payment["last_error"],
        publishable_key=settings.stripe_publishable_key or "", stripe_js_url=settings.stripe_js_url,
        payment_method_types=settings.stripe_payment_methods,
    )
