import pytest
from django.core.exceptions import ValidationError
from stdnum.cl import rut as stdnum_rut

from ventanilla.core.rut import rut_format, rut_normalize


def _rut_ending_in_k() -> str:
    for number in range(10_000_000, 10_001_000):
        if stdnum_rut.calc_check_digit(str(number)) == "K":
            return f"{number}K"
    raise AssertionError("no RUT ending in K found")


@pytest.mark.parametrize("value", ["12.531.909-2", "12531909-2", "125319092", " 12.531.909-2 "])
def test_normalize_accepts_common_spellings(value):
    assert rut_normalize(value) == "125319092"


def test_normalize_accepts_lower_case_k_and_returns_upper_case():
    compact = _rut_ending_in_k()
    number = compact[:-1]
    dotted = f"{int(number):,}".replace(",", ".")
    for value in (f"{number}k", f"{dotted}-k", f"{number}-K", f"{dotted}-K"):
        assert rut_normalize(value) == compact
    assert rut_normalize(f"{number}k").endswith("K")


def test_wrong_check_digit_is_rejected_with_checksum_code():
    with pytest.raises(ValidationError) as exc_info:
        rut_normalize("12.531.909-3")
    assert exc_info.value.code == "rut_checksum"
    assert "dígito verificador" in exc_info.value.messages[0]


@pytest.mark.parametrize("value", ["hola", "1-", "abc-def", "12345678901234", "12.531.9O9-2"])
def test_garbage_is_rejected_with_format_code(value):
    with pytest.raises(ValidationError) as exc_info:
        rut_normalize(value)
    assert exc_info.value.code == "rut_format"
    assert "formato" in exc_info.value.messages[0]


@pytest.mark.parametrize("value", ["", "   ", None])
def test_empty_is_required(value):
    with pytest.raises(ValidationError) as exc_info:
        rut_normalize(value)
    assert exc_info.value.code == "required"


def test_format():
    assert rut_format("125319092") == "12.531.909-2"
    compact = _rut_ending_in_k()
    assert rut_format(compact).endswith("-K")
    assert rut_format("") == ""
