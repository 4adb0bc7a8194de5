"""Phone numbers: parsed and validated with `phonenumbers`, stored as E.164."""

import phonenumbers

from loyalty.errors import InvalidField
from loyalty.i18n import _


def normalise_phone(raw: str, region: str = "CN", field: str = "phone") -> str:
    """'138 0013 8000' or '+86 138-0013-8000' → '+8613800138000'; raises InvalidField otherwise."""
    text = (raw or "").strip()
    if not text:
        raise InvalidField(_("a phone number is required"), field=field)
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise InvalidField(_("'{phone}' is not a phone number", phone=text), field=field) from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidField(_("'{phone}' is not a valid phone number", phone=text), field=field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """+8613800138000 → +86 138****8000, for screens and logs that must not show the number."""
    if len(e164) < 8:
        return "****"
    return f"{e164[:-8]}****{e164[-4:]}"
