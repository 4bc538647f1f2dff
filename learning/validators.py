"""South African ID numbers: 13 digits, a real YYMMDD birth date and a Luhn check digit."""
from __future__ import annotations

import datetime


def luhn_valid(digits: str) -> bool:
    """Say whether the digit string passes the Luhn checksum."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def sa_id_number_problem(value: str) -> str | None:
    """Return why `value` is not a valid SA ID number, or None when it is."""
    if len(value) != 13 or not value.isascii() or not value.isdigit():
        return "Must be exactly 13 digits"
    year, month, day = int(value[0:2]), int(value[2:4]), int(value[4:6])
    # Either century may hold a real date; 29 February needs a leap year in one of them.
    if not any(_is_date(century + year, month, day) for century in (1900, 2000)):
        return "Invalid date of birth (YYMMDD)"
    if not luhn_valid(value):
        return "Luhn check failed"
    return None


def _is_date(year: int, month: int, day: int) -> bool:
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return True
