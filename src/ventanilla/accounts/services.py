"""Writes on accounts: registration and e-mail verification of citizens.

The verification link carries a signed, timestamped token (``django.core.signing``) with
the account id and the e-mail it was sent to, so a link stops working after 3 days or
once the address changes. The e-mail goes through the outbox, like every side effect.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from ventanilla.accounts.models import User
from ventanilla.citizens.services import citizen_link_verified_user, normalize_email
from ventanilla.core.services import audit_record
from ventanilla.notifications.services import outbox_enqueue_email

VERIFY_SALT = "ventanilla.accounts.verify-email"
VERIFY_MAX_AGE = timedelta(days=3)
# At most one verification e-mail per account in each window (repeated clicks on "resend").
RESEND_WINDOW_SECONDS = 300


def email_verification_token(*, user: User) -> str:
    signer = signing.TimestampSigner(salt=VERIFY_SALT)
    return signer.sign_object({"u": user.pk, "e": normalize_email(user.email)})


def user_send_verification(*, user: User):
    """Queue the verification e-mail (through the outbox, after commit)."""
    token = email_verification_token(user=user)
    window = int(time.time() // RESEND_WINDOW_SECONDS)
    return outbox_enqueue_email(
        dedupe_key=f"user-{user.pk}-verify-{window}", recipient=user.email,
        template="account_verify",
        context={"user": user, "verify_path": reverse("accounts:verify", args=[token])},
    )


def user_register(*, full_name: str, email: str, password: str) -> User:
    """Create an active citizen account with an unverified e-mail and send the link.

    The password has already been checked against the validators by the form.
    """
    email = normalize_email(email)
    duplicate = ValidationError(
        {"email": _("Ya existe una cuenta con este correo. Ingrese con su contraseña.")}
    )
    if User.objects.filter(email__iexact=email).exists():
        raise duplicate
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=email, password=password, first_name=full_name.strip()[:150]
            )
            audit_record(actor=user, action="user.registered", obj=user)
            user_send_verification(user=user)
    except IntegrityError:  # the same address registered in between
        raise duplicate from None
    return user


def user_verify_email(*, token: str) -> User:
    """Check the link's token and mark the e-mail verified; link the person's requests.

    Raises ValidationError with code ``expired`` or ``invalid``. Idempotent.
    """
    signer = signing.TimestampSigner(salt=VERIFY_SALT)
    try:
        payload = signer.unsign_object(token, max_age=VERIFY_MAX_AGE)
    except signing.SignatureExpired:
        raise ValidationError(_("El enlace venció."), code="expired") from None
    except (signing.BadSignature, ValueError, TypeError):
        raise ValidationError(_("El enlace no es válido."), code="invalid") from None
    if not isinstance(payload, dict):
        raise ValidationError(_("El enlace no es válido."), code="invalid")
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=payload.get("u"), is_active=True).first()
        if user is None or normalize_email(user.email) != payload.get("e"):
            raise ValidationError(_("El enlace no es válido."), code="invalid")
        if user.email_verified_at is None:
            user.email_verified_at = timezone.now()
            user.save(update_fields=["email_verified_at"])
            audit_record(actor=user, action="user.email_verified", obj=user)
        citizen_link_verified_user(user=user)
    return user
