"""Read queries over accounts."""

from ventanilla.accounts.models import Membership


def user_has_staff_role(*, user) -> bool:
    """True when the user holds an active role in some institution (staff console)."""
    if not user.is_authenticated:
        return False
    return Membership.objects.filter(user=user, is_active=True).exists()
