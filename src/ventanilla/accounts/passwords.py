"""Password validators added to Django's own (see AUTH_PASSWORD_VALIDATORS).

- ``StaffMinimumLengthValidator``: staff (anyone with a role in an institution, or with access
  to the admin site) need longer passwords than citizens; they guard many people's data.
- ``PersonalInfoValidator``: rejects a password that contains the person's e-mail name or
  domain, their names, an institution they work for, or the product's name — the first
  things an attacker tries. Comparison ignores case and accents.
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

# Parts shorter than this are too common inside ordinary words to be refused.
MIN_PART_LENGTH = 4
PRODUCT_WORDS = ("ventanilla",)


def _fold(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value or "")
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def user_is_staff_member(user) -> bool:
    """Staff for password and session rules: admin-site access or an active role."""
    if user is None:
        return False
    if getattr(user, "is_staff", False) or getattr(user, "is_superuser", False):
        return True
    if not getattr(user, "pk", None):
        return False
    return user.memberships.filter(is_active=True).exists()


class StaffMinimumLengthValidator:
    def __init__(self, min_length: int = 12):
        self.min_length = min_length

    def validate(self, password, user=None):
        if len(password) < self.min_length and user_is_staff_member(user):
            raise ValidationError(
                ngettext(
                    "Las cuentas del personal necesitan una contraseña de al menos "
                    "%(min_length)d carácter.",
                    "Las cuentas del personal necesitan una contraseña de al menos "
                    "%(min_length)d caracteres.",
                    self.min_length,
                ),
                code="password_too_short_for_staff",
                params={"min_length": self.min_length},
            )

    def get_help_text(self):
        return _("Si usted es parte del personal, al menos %(min_length)d caracteres.") % {
            "min_length": self.min_length
        }


class PersonalInfoValidator:
    def _forbidden_parts(self, user) -> list[str]:
        parts: list[str] = list(PRODUCT_WORDS)
        if user is None:
            return parts
        email = getattr(user, "email", "") or ""
        local, _at, domain = email.partition("@")
        parts += [*re.split(r"[._+\-]+", local), local]
        if domain:
            parts.append(domain.split(".")[0])
        for attr in ("first_name", "last_name"):
            parts += re.split(r"\s+", getattr(user, attr, "") or "")
        if getattr(user, "pk", None):
            for institution in _institutions_of(user):
                # Acronym and slug (JUNAEB, junji); single words of the full name are
                # ordinary words ("nacional", "escolar") and would refuse too much.
                parts += [institution.slug, institution.short_name or ""]
        folded = {_fold(part) for part in parts}
        return sorted(part for part in folded if len(part) >= MIN_PART_LENGTH)

    def validate(self, password, user=None):
        folded = _fold(password)
        for part in self._forbidden_parts(user):
            if part in folded:
                raise ValidationError(
                    _("La contraseña no puede contener su nombre, su correo, el nombre de su "
                      "institución ni «ventanilla»."),
                    code="password_contains_personal_info",
                )

    def get_help_text(self):
        return _("No puede contener su nombre, su correo ni el nombre de su institución.")


def _institutions_of(user):
    from ventanilla.catalog.models import Institution

    return Institution.objects.filter(memberships__user=user).distinct()
