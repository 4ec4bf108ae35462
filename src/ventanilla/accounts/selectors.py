"""Read queries over accounts."""

from django.conf import settings

from ventanilla.accounts.models import (
    InstitutionSecurityPolicy,
    Membership,
    RecoveryCode,
    Role,
    TotpDevice,
)

DEFAULT_TOTP_REQUIRED_ROLES = (Role.SUPERVISOR, Role.SYSADMIN)


def user_has_staff_role(*, user) -> bool:
    """True when the user holds an active role in some institution (staff console)."""
    if not user.is_authenticated:
        return False
    return Membership.objects.filter(user=user, is_active=True).exists()


def totp_required_roles() -> set[str]:
    return set(getattr(settings, "STAFF_TOTP_REQUIRED_ROLES", DEFAULT_TOTP_REQUIRED_ROLES))


def user_requires_totp(*, user) -> bool:
    """Must this person use a second factor?

    Yes for admin-site users (is_staff/is_superuser), for SUPERVISOR and SYSADMIN roles in
    any institution (``STAFF_TOTP_REQUIRED_ROLES``), and for every role of an institution
    whose ``InstitutionSecurityPolicy`` says so. Citizens: never (they may opt in).
    """
    if not getattr(user, "pk", None):
        return False
    if user.is_staff or user.is_superuser:
        return True
    memberships = Membership.objects.filter(user=user, is_active=True)
    if memberships.filter(role__in=totp_required_roles()).exists():
        return True
    return InstitutionSecurityPolicy.objects.filter(
        totp_required_for_all_staff=True,
        institution__in=memberships.values("institution"),
    ).exists()


def user_confirmed_totp_device(*, user) -> TotpDevice | None:
    if not getattr(user, "pk", None):
        return None
    return TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).first()


def user_has_second_factor(*, user) -> bool:
    if not getattr(user, "pk", None):
        return False
    return TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()


def recovery_codes_remaining(*, user) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
