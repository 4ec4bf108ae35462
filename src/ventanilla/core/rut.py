"""RUT (Rol Único Tributario) helpers on top of python-stdnum's ``cl.rut``.

The compact form (``125319092``, check digit last, ``K`` upper-case) is stored; the
formatted one (``12.531.909-2``) is shown.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum import exceptions as stdnum_exceptions
from stdnum.cl import rut as stdnum_rut


def rut_normalize(value: str) -> str:
    """Return the compact, validated RUT or raise a ValidationError in Spanish."""
    raw = (value or "").strip()
    if not raw:
        raise ValidationError(_("Ingrese un RUT."), code="required")
    try:
        return stdnum_rut.validate(raw).upper()
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
