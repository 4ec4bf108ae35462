"""RUT (Rol Único Tributario) helpers on top of python-stdnum's ``cl.rut``.

The compact form (``125319092``, check digit last, ``K`` upper-case) is stored; the
formatted one (``12.531.909-2``) is shown.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum import exceptions as stdnum_exceptions
from stdnum.cl import rut as stdnum_rut

# Body of ASCII digits (no leading zero) and the check digit. Checked before python-stdnum's
# validate(), whose digit test lets a trailing newline through (``$``) and then fails with a
# bare ValueError.
_COMPACT_RUT = re.compile(r"[1-9][0-9]{0,8}[0-9K]")


def rut_normalize(value: str) -> str:
    """Return the compact, validated RUT or raise a ValidationError in Spanish.

    Leading zeros are dropped (``01.234.567-8`` is ``12345678``): some systems pad RUTs to a
    fixed width, and one person must have one compact form.
    """
    raw = (value or "").strip()
    if not raw:
        raise ValidationError(_("Ingrese un RUT."), code="required")
    compact = stdnum_rut.compact(raw).lstrip("0")
    if not _COMPACT_RUT.fullmatch(compact):
        raise ValidationError(
            _("El RUT no tiene un formato válido. Escríbalo como 12.345.678-5."),
            code="rut_format",
        )
    try:
        return stdnum_rut.validate(compact).upper()
    except stdnum_exceptions.InvalidChecksum:
        raise ValidationError(
            _("El dígito verificador del RUT no es correcto. "
              "Revise el número (ej.: 12.345.678-5)."),
            code="rut_checksum",
        ) from None
    except stdnum_exceptions.ValidationError:
        raise ValidationError(
            _("El RUT no tiene un formato válido. Escríbalo como 12.345.678-5."),
            code="rut_format",
        ) from None


def rut_format(compact: str) -> str:
    if not compact:
        return ""
    return stdnum_rut.format(compact)
