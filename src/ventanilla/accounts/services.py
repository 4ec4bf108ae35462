"""Writes on accounts: registration and e-mail verification of citizens; password changes,
the second factor (TOTP + recovery codes) and lock-out release for everyone.

The verification link carries a signed, timestamped token (``django.core.signing``) with
the account id and the e-mail it was sent to, so a link stops working after 3 days or
once the address changes. The e-mail goes through the outbox, like every side effect.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from ventanilla.accounts import totp
from ventanilla.accounts.models import RecoveryCode, TotpDevice, User
from ventanilla.citizens.services import citizen_link_verified_user, normalize_email
from ventanilla.core.services import audit_record
from ventanilla.notifications.services import outbox_enqueue_email

VERIFY_SALT = "ventanilla.accounts.verify-email"
VERIFY_MAX_AGE = timedelta(days=3)
# At most one verification e-mail per account in each window (repeated clicks on "resend").
RESEND_WINDOW_SECONDS = 300
# A scanned-but-unconfirmed authenticator secret is replaced after this long.
ENROLMENT_SECRET_MAX_AGE = timedelta(minutes=30)


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


# --- Staff authentication: passwords, second factor, lock-out -------------------------------


def user_change_password(*, user: User, new_password: str, actor=None) -> User:
    """Set a new password (already validated by the form). Every other session of the person
    ends: Django ties sessions to the password hash, and the caller keeps only the current
    one with ``update_session_auth_hash``."""
    with transaction.atomic():
        user.set_password(new_password)
        user.must_change_password = False
        user.password_changed_at = timezone.now()
        user.save(update_fields=["password", "must_change_password", "password_changed_at"])
        audit_record(actor=actor or user, action="user.password_changed", obj=user)
    return user


def user_flag_password_reset(*, user: User, actor) -> None:
    """An administrator set this person's password: they must choose their own at login."""
    User.objects.filter(pk=user.pk).update(must_change_password=True)
    user.must_change_password = True
    audit_record(actor=actor, action="user.password_reset_by_admin", obj=user)


def totp_begin_enrolment(*, user: User) -> TotpDevice:
    """The not yet confirmed device with a secret to scan. A pending secret younger than
    ``ENROLMENT_SECRET_MAX_AGE`` is kept, so reloading the page does not invalidate a QR the
    person already scanned. Refuses when a confirmed device exists (disable it first)."""
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(user=user).first()
        if device is not None and device.is_confirmed:
            raise ValidationError(_("Ya tiene un segundo factor activo."), code="already")
        if device is not None and timezone.now() - device.created_at <= ENROLMENT_SECRET_MAX_AGE:
            return device
        if device is not None:
            device.delete()
        return TotpDevice.objects.create(user=user, secret=totp.new_secret())


def totp_confirm_enrolment(*, user: User, code: str) -> list[str]:
    """Activate the pending device if ``code`` is right; returns the new recovery codes (to be
    shown once). Raises ValidationError with a Spanish message otherwise."""
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(
            user=user, confirmed_at__isnull=True
        ).first()
        if device is None:
            raise ValidationError(_("La activación expiró. Vuelva a escanear el código QR."),
                                  code="expired")
        step = totp.matching_step(device.secret, code, after_step=device.last_used_step)
        if step is None:
            raise ValidationError(_("El código no es correcto. Revise la hora de su teléfono y "
                                    "escriba el código que muestra ahora."), code="invalid")
        device.confirmed_at = timezone.now()
        device.last_used_step = step
        device.save(update_fields=["confirmed_at", "last_used_step"])
        codes = _replace_recovery_codes(user)
        audit_record(actor=user, action="user.second_factor_enabled", obj=user)
    return codes


def recovery_codes_regenerate(*, user: User) -> list[str]:
    with transaction.atomic():
        if not TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists():
            raise ValidationError(_("Primero active la aplicación autenticadora."),
                                  code="no_device")
        codes = _replace_recovery_codes(user)
        audit_record(actor=user, action="user.recovery_codes_regenerated", obj=user)
    return codes


def _replace_recovery_codes(user: User) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = totp.new_recovery_codes()
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(user=user, code_hash=totp.recovery_code_hash(code)) for code in codes]
    )
    return codes


def second_factor_verify(*, user: User, code: str) -> str | None:
    """Check a login/confirmation code: a TOTP code (each time step accepted once) or an unused
    recovery code (spent). Returns ``"totp"``, ``"recovery"`` or None when wrong."""
    normalized = totp.normalize_code(code)
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(
            user=user, confirmed_at__isnull=False
        ).first()
        if device is None:
            return None
        if normalized.isdigit():
            step = totp.matching_step(device.secret, normalized,
                                      after_step=device.last_used_step)
            if step is None:
                return None
            device.last_used_step = step
            device.save(update_fields=["last_used_step"])
            return "totp"
        spent = RecoveryCode.objects.filter(
            user=user, code_hash=totp.recovery_code_hash(normalized), used_at__isnull=True
        ).update(used_at=timezone.now())
        if spent:
            audit_record(actor=user, action="user.recovery_code_used", obj=user)
            return "recovery"
    return None


def second_factor_disable(*, user: User, actor) -> bool:
    """Remove the person's authenticator and recovery codes (by themselves after
    re-authenticating, or by a system administrator when the phone is lost). People who must
    use a second factor are taken to enrolment again at their next staff page."""
    with transaction.atomic():
        deleted, _detail = TotpDevice.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
        action = ("user.second_factor_disabled" if actor is not None and actor.pk == user.pk
                  else "user.second_factor_reset")
        audit_record(actor=actor, action=action, obj=user)
    return bool(deleted)


def user_unlock(*, user: User, actor) -> int:
    """Lift a login lock-out (django-axes) for this account, from every address."""
    from axes.utils import reset

    removed = reset(username=normalize_email(user.email))
    audit_record(actor=actor, action="user.unlocked", obj=user, data={"attempts": removed})
    return removed


def login_records_prune(*, now=None) -> int:
    """Delete django-axes' records of logins, failures and expired attempts older than
    ``LOGIN_RECORDS_RETENTION_DAYS``: they hold addresses, browsers and e-mails, needed to
    investigate a break-in for a while, not forever. A lock-out stays in the audit log."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    cutoff = (now or timezone.now()) - timedelta(days=settings.LOGIN_RECORDS_RETENTION_DAYS)
    return sum(model.objects.filter(attempt_time__lt=cutoff).delete()[0]
               for model in (AccessLog, AccessFailureLog, AccessAttempt))
