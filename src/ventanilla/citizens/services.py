"""Writes on people: find-or-create on intake, linking a verified account, and merging two
records of one person (and undoing a wrong merge)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ventanilla.citizens.models import ChannelIdentity, Citizen, CitizenMerge, IdentityKind


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

    Every intake runs this, so it is kept to few statements: the e-mail and phone
    identities are read in one query and reused to know which ones are new; the new ones
    are inserted in one statement that skips any another request inserted meanwhile.
    """
    email = normalize_email(contact.email)
    phone = normalize_phone(contact.phone)
    account = user if user is not None and getattr(user, "is_authenticated", False) else None
    identities = _identities_of(email, phone)
    citizen = None
    rut_is_free = False  # known when the RUT was looked up and nobody holds it
    if account is not None:
        citizen = Citizen.objects.filter(user=account).first()
    else:
        if contact.rut:
            citizen = Citizen.objects.filter(rut=contact.rut).first()
            rut_is_free = citizen is None
        for kind in (IdentityKind.EMAIL, IdentityKind.PHONE):
            if citizen is None and kind in identities:
                citizen = identities[kind].citizen

    if citizen is None:
        citizen = _citizen_create(contact=contact, email=email, account=account,
                                  rut_is_free=rut_is_free)
    else:
        changed = []
        for field, value in (("full_name", contact.full_name.strip()), ("email", email),
                             ("phone", contact.phone.strip()), ("rut", contact.rut or None)):
            if value and not getattr(citizen, field):
                if (field == "rut" and not rut_is_free
                        and Citizen.objects.filter(rut=value).exists()):
                    continue
                setattr(citizen, field, value)
                changed.append(field)
        if changed:
            citizen.save(update_fields=[*changed, "updated_at"])

    # An identity already owned by another person stays with them: merging people is an
    # explicit, audited staff action, never a side effect of typing into a form.
    new = [ChannelIdentity(citizen=citizen, kind=kind, value=value)
           for kind, value in ((IdentityKind.EMAIL, email), (IdentityKind.PHONE, phone))
           if value and kind not in identities]
    if new:
        # ON CONFLICT DO NOTHING: one that a concurrent request inserted first stays
        # theirs, without a savepoint.
        ChannelIdentity.objects.bulk_create(new, ignore_conflicts=True)
    return citizen


def _identities_of(email: str, phone: str) -> dict[str, ChannelIdentity]:
    """The existing e-mail and phone identities (with their person), by kind: one query."""
    wanted = Q()
    if email:
        wanted |= Q(kind=IdentityKind.EMAIL, value=email)
    if phone:
        wanted |= Q(kind=IdentityKind.PHONE, value=phone)
    if not wanted:
        return {}
    return {identity.kind: identity for identity in
            ChannelIdentity.objects.select_related("citizen").filter(wanted)}


def _citizen_create(*, contact: ContactData, email: str, account,
                    rut_is_free: bool = False) -> Citizen:
    rut = contact.rut or None
    if (account is not None and rut and not rut_is_free
            and Citizen.objects.filter(rut=rut).exists()):
        rut = None  # the RUT stays with the person who holds it
    fields = {"rut": rut, "full_name": contact.full_name.strip(), "email": email,
              "phone": contact.phone.strip(), "user": account}
    if rut is None and account is None:
        # Nothing unique in the row: it cannot conflict, no savepoint needed.
        return Citizen.objects.create(**fields)
    try:
        with transaction.atomic():
            return Citizen.objects.create(**fields)
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


def citizen_for_identity(
    *, kind: str, value: str, full_name: str = "", email: str = "", phone: str = "",
    verified: bool = False, at=None,
) -> Citizen:
    """The person behind a channel identity (an e-mail sender, a WhatsApp id, an SMS number,
    a page-scoped social id), created with that identity when it is new.

    Only the same identity joins automatically: a WhatsApp number is not linked to a record
    that merely has that phone typed into a form (anyone can type anyone's number). Such
    records are proposed to staff as duplicates (``selectors.citizen_duplicate_candidates``).
    ``verified`` is for identifiers the provider vouches for (WhatsApp, SMS, social ids),
    not for an e-mail ``From:`` header. ``at`` records when the person last wrote from it.
    """
    value = value.strip()
    at = at or timezone.now()
    identity = ChannelIdentity.objects.select_related("citizen").filter(kind=kind,
                                                                       value=value).first()
    if identity is None:
        citizen = Citizen.objects.create(full_name=full_name.strip()[:200],
                                         email=normalize_email(email), phone=phone.strip()[:30])
        try:
            with transaction.atomic():
                identity = ChannelIdentity.objects.create(
                    citizen=citizen, kind=kind, value=value,
                    verified_at=at if verified else None, last_inbound_at=at,
                )
        except IntegrityError:
            # The same person's previous message is being processed concurrently.
            citizen.delete()
            identity = ChannelIdentity.objects.select_related("citizen").get(kind=kind,
                                                                            value=value)
        else:
            return citizen
    citizen = identity.citizen
    while citizen.merged_into_id:  # identities move on merge; this is a safety net
        citizen = citizen.merged_into
    updates = {"last_inbound_at": at}
    if verified and identity.verified_at is None:
        updates["verified_at"] = at
    ChannelIdentity.objects.filter(pk=identity.pk).update(**updates)
    if full_name.strip() and not citizen.full_name:
        citizen.full_name = full_name.strip()[:200]
        citizen.save(update_fields=["full_name", "updated_at"])
    return citizen


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


# --- merging two records of one person ------------------------------------------------------------

MERGE_ROLES = {"supervisor", "sysadmin"}
# Copied into ``keep`` when blank there; never overwritten.
MERGE_COPIED_FIELDS = ("full_name", "email", "phone")


def _institutions_of(citizen_ids: list[int]) -> set[int]:
    from ventanilla.tickets.models import Interaction, Ticket

    tickets = Ticket.objects.filter(citizen_id__in=citizen_ids).values_list("institution_id",
                                                                            flat=True)
    interactions = Interaction.objects.filter(citizen_id__in=citizen_ids).values_list(
        "institution_id", flat=True)
    return set(tickets.distinct()) | set(interactions.distinct())


def citizen_merge_allowed(*, actor, keep: Citizen, other: Citizen) -> bool:
    """Supervisors and system administrators only, and only when every institution where
    either record has tickets or interactions is one where the actor holds that role:
    institutions are isolated, so nobody moves a person whose cases they cannot see."""
    from ventanilla.accounts.models import Membership

    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return False
    allowed = set(Membership.objects.filter(user=actor, is_active=True, role__in=MERGE_ROLES)
                  .values_list("institution_id", flat=True))
    if not allowed:
        return False
    return _institutions_of([keep.pk, other.pk]) <= allowed


def _locked_pair(first_id: int, second_id: int) -> dict[int, Citizen]:
    # Locks in primary-key order, so two merges of the same pair never deadlock.
    rows = Citizen.objects.select_for_update().filter(pk__in=[first_id, second_id]).order_by("pk")
    return {row.pk: row for row in rows}


@transaction.atomic
def citizen_merge(*, keep: Citizen, other: Citizen, actor, reason: str) -> CitizenMerge:
    """Join ``other`` into ``keep``: its tickets, interactions and channel identities move to
    ``keep``; blank fields of ``keep`` are filled from ``other`` (never overwritten); ``other``
    stays, marked ``merged_into``. Refused when both hold different RUTs or both have an
    account. Everything moved is recorded so that ``citizen_merge_undo`` restores it."""
    from ventanilla.core.services import audit_record
    from ventanilla.tickets.models import Interaction, Ticket

    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Indique el motivo de la fusión."))
    if keep.pk == other.pk:
        raise ValidationError(_("No se puede fusionar un registro consigo mismo."))
    rows = _locked_pair(keep.pk, other.pk)
    if len(rows) != 2:
        raise ValidationError(_("Uno de los registros ya no existe."))
    keep, other = rows[keep.pk], rows[other.pk]
    if keep.merged_into_id or other.merged_into_id:
        raise ValidationError(_("Uno de los registros ya fue fusionado en otro."))
    if not citizen_merge_allowed(actor=actor, keep=keep, other=other):
        raise PermissionDenied("citizen merge not allowed")
    if keep.rut and other.rut and keep.rut != other.rut:
        raise ValidationError(_("Los registros tienen RUT distintos: no son la misma persona y "
                                "no se pueden fusionar."))
    if keep.user_id and other.user_id:
        raise ValidationError(_("Ambos registros tienen una cuenta de usuario: no se pueden "
                                "fusionar."))

    ticket_ids = list(Ticket.objects.filter(citizen=other).order_by("pk")
                      .values_list("pk", flat=True))
    interaction_ids = list(Interaction.objects.filter(citizen=other).order_by("pk")
                           .values_list("pk", flat=True))
    identity_ids = list(ChannelIdentity.objects.filter(citizen=other).order_by("pk")
                        .values_list("pk", flat=True))
    Ticket.objects.filter(pk__in=ticket_ids).update(citizen=keep)
    Interaction.objects.filter(pk__in=interaction_ids).update(citizen=keep)
    ChannelIdentity.objects.filter(pk__in=identity_ids).update(citizen=keep)

    filled: dict = {}
    for field in MERGE_COPIED_FIELDS:
        if not getattr(keep, field) and getattr(other, field):
            filled[field] = getattr(other, field)
            setattr(keep, field, filled[field])
    # RUT and account are unique: they move from ``other`` to ``keep``.
    moved_unique = []
    if not keep.rut and other.rut:
        filled["rut"] = other.rut
        moved_unique.append("rut")
    if not keep.user_id and other.user_id:
        filled["user"] = other.user_id
        moved_unique.append("user")
    other.merged_into = keep
    other.rut = None if "rut" in moved_unique else other.rut
    other.user_id = None if "user" in moved_unique else other.user_id
    other.save(update_fields=["merged_into", "rut", "user", "updated_at"])
    if "rut" in filled:
        keep.rut = filled["rut"]
    if "user" in filled:
        keep.user_id = filled["user"]
    keep.save(update_fields=[*filled.keys(), "updated_at"])

    merge = CitizenMerge.objects.create(
        keep=keep, other=other, actor=actor, reason=reason, ticket_ids=ticket_ids,
        interaction_ids=interaction_ids, identity_ids=identity_ids, filled_fields=filled,
    )
    # One row per institution whose tickets the two records hold, so each institution's
    # supervisors see the merge in their access log.
    for institution_id in sorted(_institutions_of([keep.pk])) or [None]:
        audit_record(actor=actor, action="citizen.merged", obj=keep, institution=institution_id,
                     reason=reason, data={
                         "merge": merge.pk, "keep": keep.pk, "other": other.pk,
                         "reason": reason, "tickets": ticket_ids,
                         "interactions": interaction_ids, "identities": identity_ids,
                         "filled": sorted(filled)})
    return merge



@transaction.atomic
def citizen_merge_undo(*, merge: CitizenMerge, actor) -> CitizenMerge:
    """Move back exactly what the merge moved, clear the fields it filled (when still as the
    merge left them), and make ``other`` a record of its own again."""
    from ventanilla.core.services import audit_record
    from ventanilla.tickets.models import Interaction, Ticket

    rows = _locked_pair(merge.keep_id, merge.other_id)
    merge = CitizenMerge.objects.select_for_update().get(pk=merge.pk)
    if merge.undone_at is not None:
        raise ValidationError(_("Esta fusión ya fue deshecha."))
    keep, other = rows[merge.keep_id], rows[merge.other_id]
    if keep.merged_into_id is not None:
        raise ValidationError(_("El registro conservado fue fusionado después en otro: deshaga "
                                "primero esa fusión."))
    if not citizen_merge_allowed(actor=actor, keep=keep, other=other):
        raise PermissionDenied("citizen merge undo not allowed")

    Ticket.objects.filter(pk__in=merge.ticket_ids, citizen=keep).update(citizen=other)
    Interaction.objects.filter(pk__in=merge.interaction_ids, citizen=keep).update(citizen=other)
    ChannelIdentity.objects.filter(pk__in=merge.identity_ids, citizen=keep).update(citizen=other)

    keep_changed, other_changed = [], ["merged_into"]
    filled = merge.filled_fields or {}
    for field in MERGE_COPIED_FIELDS:
        if field in filled and getattr(keep, field) == filled[field]:
            setattr(keep, field, "")
            keep_changed.append(field)
    if "rut" in filled and keep.rut == filled["rut"]:
        keep.rut = None
        keep_changed.append("rut")
        other.rut = filled["rut"]
        other_changed.append("rut")
    if "user" in filled and keep.user_id == filled["user"]:
        keep.user_id = None
        keep_changed.append("user")
        other.user_id = filled["user"]
        other_changed.append("user")
    # Free the unique RUT and account on ``keep`` before ``other`` takes them back.
    keep.save(update_fields=[*keep_changed, "updated_at"])
    other.merged_into = None
    other.save(update_fields=[*other_changed, "updated_at"])

    merge.undone_at = timezone.now()
    merge.undone_by = actor if getattr(actor, "is_authenticated", False) else None
    merge.save(update_fields=["undone_at", "undone_by"])
    institution_ids = _institutions_of([keep.pk, other.pk])
    for institution_id in sorted(institution_ids) or [None]:
        audit_record(actor=actor, action="citizen.merge_undone", obj=keep,
                     institution=institution_id, data={
                         "merge": merge.pk, "keep": keep.pk, "other": other.pk})
    return merge
