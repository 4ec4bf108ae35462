"""Writes on people: find-or-create on intake, and linking a verified account."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from ventanilla.citizens.models import ChannelIdentity, Citizen, IdentityKind


@dataclass(frozen=True)
class ContactData:
    """Contact details as a person gave them on one request (already validated)."""

    full_name: str = ""
    email: str = ""
    phone: str = ""
    rut: str = ""  # compact form


def normalize_email(value: str) -> str:
    return (value or "").strip().lower()


def normalize_phone(value: str) -> str:
    """Digits only, with Chile's country code: '+56 9 1234 5678' → '56912345678'."""
    digits = re.sub(r"\D", "", value or "")
    if len(digits) == 9:
        digits = "56" + digits
    return digits


def _identity_citizen(kind: str, value: str) -> Citizen | None:
    identity = (
        ChannelIdentity.objects.select_related("citizen").filter(kind=kind, value=value).first()
    )
    return identity.citizen if identity else None


def citizen_resolve(*, contact: ContactData, user=None) -> Citizen:
    """Find the person behind a request or create them.

    Precedence: the logged-in account, then the RUT, then the e-mail, then the phone.
    Data typed by an anonymous person only fills blanks: it never overwrites what a
    record already holds (anyone can type someone else's e-mail into a form).

    A logged-in account always files as itself: if it has no record yet, one is created
    for it, rather than attaching the account's request to a record found through what
    it typed (that link needs a verified e-mail, see ``citizen_link_verified_user``).
    """
    email = normalize_email(contact.email)
    phone = normalize_phone(contact.phone)
    account = user if user is not None and getattr(user, "is_authenticated", False) else None
    citizen = None
    if account is not None:
        citizen = Citizen.objects.filter(user=account).first()
    else:
        if contact.rut:
            citizen = Citizen.objects.filter(rut=contact.rut).first()
        if citizen is None and email:
            citizen = _identity_citizen(IdentityKind.EMAIL, email)
        if citizen is None and phone:
            citizen = _identity_citizen(IdentityKind.PHONE, phone)

    if citizen is None:
        citizen = _citizen_create(contact=contact, email=email, account=account)
    else:
        changed = []
        for field, value in (("full_name", contact.full_name.strip()), ("email", email),
                             ("phone", contact.phone.strip()), ("rut", contact.rut or None)):
            if value and not getattr(citizen, field):
                if field == "rut" and Citizen.objects.filter(rut=value).exists():
                    continue
                setattr(citizen, field, value)
                changed.append(field)
        if changed:
            citizen.save(update_fields=[*changed, "updated_at"])

    if email:
        _identity_attach(citizen, IdentityKind.EMAIL, email)
    if phone:
        _identity_attach(citizen, IdentityKind.PHONE, phone)
    return citizen


def _citizen_create(*, contact: ContactData, email: str, account) -> Citizen:
    rut = contact.rut or None
    if account is not None and rut and Citizen.objects.filter(rut=rut).exists():
        rut = None  # the RUT stays with the person who holds it
    try:
        with transaction.atomic():
            return Citizen.objects.create(
                rut=rut, full_name=contact.full_name.strip(), email=email,
                phone=contact.phone.strip(), user=account,
            )
    except IntegrityError:
        # A concurrent request created the same account's record or the same RUT first.
        citizen = None
        if account is not None:
            citizen = Citizen.objects.filter(user=account).first()
        if citizen is None and rut:
            citizen = Citizen.objects.filter(rut=rut).first()
        if citizen is None:
            raise
        return citizen


def _identity_attach(citizen: Citizen, kind: str, value: str) -> None:
    # An identity already owned by another person stays with them: merging people is an
    # explicit, audited staff action, never a side effect of typing into a form.
    try:
        with transaction.atomic():
            ChannelIdentity.objects.get_or_create(kind=kind, value=value,
                                                  defaults={"citizen": citizen})
    except IntegrityError:
        pass


def citizen_link_verified_user(*, user) -> Citizen:
    """Called once a registered person has proved they own their e-mail address."""
    email = normalize_email(user.email)
    with transaction.atomic():
        citizen = Citizen.objects.filter(user=user).first()
        if citizen is None:
            citizen = _identity_citizen(IdentityKind.EMAIL, email)
            if citizen is not None and citizen.user_id is None:
                citizen.user = user
                citizen.save(update_fields=["user", "updated_at"])
            elif citizen is None or citizen.user_id not in (None, user.pk):
                citizen = Citizen.objects.create(
                    user=user, email=email, full_name=user.get_full_name()
                )
        now = timezone.now()
        identity, _ = ChannelIdentity.objects.get_or_create(
            kind=IdentityKind.EMAIL, value=email, defaults={"citizen": citizen, "verified_at": now}
        )
        if identity.citizen_id == citizen.pk and identity.verified_at is None:
            identity.verified_at = now
            identity.save(update_fields=["verified_at"])
    return citizen
