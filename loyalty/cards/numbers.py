"""Card numbers: 16 digits, `8860` then 11 random digits then a Luhn check digit (python-stdnum),
so a mistyped number is caught before any lookup. Random, not sequential: a number says
nothing about how many owners there are."""

from __future__ import annotations

import secrets

from stdnum import luhn

PREFIX = "8860"


def new_card_number() -> str:
    body = PREFIX + f"{secrets.randbelow(10**11):011d}"
    return body + luhn.calc_check_digit(body)


def is_valid_card_number(number: str) -> bool:
    return len(number) == 16 and number.startswith(PREFIX) and luhn.is_valid(number)


def mask_card_number(number: str) -> str:
    """8860 **** **** 1234 — what a card image and a merchant see."""
    return f"{number[:4]} **** **** {number[-4:]}"
