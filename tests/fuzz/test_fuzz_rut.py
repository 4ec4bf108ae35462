"""Properties of the RUT parser (core/rut.py) against an independent check-digit oracle."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz.settings import FUZZ
from ventanilla.core.rut import rut_format, rut_normalize

# RUT numbers with 7 or 8 digits (the lengths the platform accepts).
numbers = st.integers(min_value=1_000_000, max_value=99_999_999)


def oracle_check_digit(number: int) -> str:
    """Módulo 11 as the Servicio de Registro Civil publishes it: multiply the digits from the
    right by 2, 3, 4, 5, 6, 7, 2, 3…, 11 minus the remainder; 11 is 0 and 10 is K."""
    total = 0
    factor = 2
    while number:
        total += (number % 10) * factor
        number //= 10
        factor = 2 if factor == 7 else factor + 1
    digit = 11 - total % 11
    return {11: "0", 10: "K"}.get(digit, str(digit))


def spellings(number: int, digit: str) -> st.SearchStrategy[str]:
    """The ways people and other systems write the same RUT."""
    dotted = f"{number:,}".replace(",", ".")
    forms = [
        f"{number}{digit}", f"{number}-{digit}", f"{dotted}-{digit}", f"{dotted}{digit}",
        f"{number}-{digit.lower()}", f" {dotted}-{digit} ", f"0{number}-{digit}",
        f"00{dotted}-{digit}", f"CL{number}{digit}", f"{number} - {digit}",
    ]
    return st.sampled_from(forms)


@FUZZ
@given(data=st.data(), number=numbers)
def test_every_spelling_of_a_valid_rut_normalises_to_one_compact_form(data, number):
    digit = oracle_check_digit(number)
    value = data.draw(spellings(number, digit))
    assert rut_normalize(value) == f"{number}{digit}"


@FUZZ
@given(number=numbers)
def test_format_and_parse_round_trip(number):
    compact = f"{number}{oracle_check_digit(number)}"
    shown = rut_format(compact)
    assert rut_normalize(shown) == compact
    assert rut_format(rut_normalize(shown)) == shown
    # Shown with thousands separators and a dash, as on the cédula.
    assert shown == f"{number:,}".replace(",", ".") + "-" + compact[-1]


@FUZZ
@given(number=numbers, wrong=st.sampled_from("0123456789K"))
def test_check_digit_agrees_with_the_oracle(number, wrong):
    right = oracle_check_digit(number)
    if wrong == right:
        assert rut_normalize(f"{number}-{wrong}") == f"{number}{right}"
    else:
        with pytest.raises(ValidationError) as exc_info:
            rut_normalize(f"{number}-{wrong}")
        assert exc_info.value.code == "rut_checksum"


@FUZZ
@given(value=st.text())
@example("1234567\nK")  # python-stdnum raised a bare ValueError for a newline before the digit
@example("１２.５３１.９０９-２")  # full-width digits
@example("١٢٥٣١٩٠٩٢")  # Arabic-Indic digits: str.isdigit() is True, int() accepts them
@example("\x00")
@example("12.531.909-2" * 1000)
def test_any_text_gives_a_compact_rut_or_a_validation_error(value):
    """What the documentation promises: a compact RUT or a Spanish ValidationError, never
    another exception (which would be a 500 on a form or the API)."""
    try:
        compact = rut_normalize(value)
    except ValidationError as error:
        assert error.code in {"required", "rut_format", "rut_checksum"}
        assert error.messages[0]
        return
    # Whatever was accepted is a real RUT: ASCII digits, no leading zero, the right digit.
    body, digit = compact[:-1], compact[-1]
    assert body.isascii() and body.isdigit() and not body.startswith("0")
    assert digit == oracle_check_digit(int(body))
    # Normalisation is idempotent, and the shown form parses back to the same value.
    assert rut_normalize(compact) == compact
    assert rut_normalize(rut_format(compact)) == compact


@FUZZ
@given(value=st.text(alphabet=st.sampled_from("0123456789kK.-  \t\nCL"), max_size=16))
def test_near_miss_text_never_raises_anything_else(value):
    try:
        compact = rut_normalize(value)
    except ValidationError:
        return
    assert rut_normalize(compact) == compact
