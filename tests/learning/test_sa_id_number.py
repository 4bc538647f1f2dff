"""SA ID numbers: 13 digits, a real YYMMDD date, and the Luhn check digit."""
from __future__ import annotations

import pytest

from learning.validators import luhn_valid, sa_id_number_problem


@pytest.mark.parametrize("number", ["8001015009087", "9202204720083", "0002295009084"])
def test_valid_numbers_pass(number):
    assert sa_id_number_problem(number) is None


def test_wrong_check_digit_fails_luhn():
    assert sa_id_number_problem("8001015009088") == "Luhn check failed"


@pytest.mark.parametrize("number", ["800101500908", "80010150090871", "80010150090a7", "８００１０１５００９０８７"])
def test_wrong_length_or_non_digits_are_refused(number):
    assert sa_id_number_problem(number) == "Must be exactly 13 digits"


@pytest.mark.parametrize("number", ["8013015009085", "8002305009080", "0102295009086", "8000015009083"])
def test_impossible_dates_are_refused_before_luhn(number):
    assert sa_id_number_problem(number) == "Invalid date of birth (YYMMDD)"


def test_luhn_reference_values():
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
