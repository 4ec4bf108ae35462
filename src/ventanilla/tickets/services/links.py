"""Relations between tickets: link related ones, merge a duplicate, split a mixed request.

Each function is one use case in one transaction. Both tickets are locked in primary-key
order (``_lock_pair``), so two staff members linking or merging the same pair in opposite
directions queue on the first row instead of deadlocking.

Merging closes the duplicate (``status`` closed, ``merged_into`` set, ``stage`` done, no
pending deadline) without going through ``ticket_change_status``: a merged duplicate has no
answer of its own, so the closing rules for answers (root cause of a complaint) do not
apply. Metrics: a merged ticket is the same request as the ticket it was merged into, whose
deadlines and answers are the ones that count; compliance figures must leave out tickets
with ``merged_into`` set (their stage is ``done`` and ``final_answered_at`` stays empty, so
they would otherwise look unanswered). Volume figures (tickets received) may keep them:
the contact did happen.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ventanilla.catalog.models import TicketType, Topic
from ventanilla.citizens.services import ContactData
from ventanilla.core.services import audit_record
from ventanilla.notifications.services import outbox_enqueue_for_ticket
from ventanilla.tickets import permissions
from ventanilla.tickets.models import (
    EventKind,
    Interaction,
    LinkKind,
    ResponseStage,
    Status,
    Ticket,
    TicketEvent,
    TicketLink,
)
from ventanilla.tickets.services.intake import TicketDraft, ticket_open


def _lock_pair(first: Ticket, second: Ticket) -> tuple[Ticket, Ticket]:
    """Both rows locked, always in pk order; returned in the caller's order."""
    if first.pk == second.pk:
        raise ValidationError({"other": _("Un requerimiento no se puede vincular consigo mismo.")})
    rows = {t.pk: t for t in Ticket.objects.select_for_update().filter(
        pk__in=[first.pk, second.pk]).order_by("pk")}
    return rows[first.pk], rows[second.pk]


def _check_same_institution(ticket: Ticket, other: Ticket, field: str = "other") -> None:
    if ticket.institution_id != other.institution_id:
        raise ValidationError({field: _("Solo se pueden relacionar requerimientos de la misma "
                                         "institución.")})


def _existing_link(ticket: Ticket, other: Ticket) -> TicketLink | None:
    return TicketLink.objects.filter(
        Q(from_ticket=ticket, to_ticket=other) | Q(from_ticket=other, to_ticket=ticket)
    ).order_by("pk").first()


def ticket_link(*, ticket: Ticket, other: Ticket, actor) -> TicketLink:
    """Mark two tickets of the same institution as related (internal, both timelines).

    Idempotent: if the pair is already linked (in either direction, of any kind) the
    existing link is returned and nothing is written.
    Triage, supervisors and system administrators may link any two tickets; a responder
    only two tickets of their own areas.
    """
    _check_same_institution(ticket, other)
    with transaction.atomic():
        ticket, other = _lock_pair(ticket, other)
        permissions.require(actor, "link_related", ticket)
        permissions.require(actor, "link_related", other)
        existing = _existing_link(ticket, other)
        if existing is not None:
            return existing
        now = timezone.now()
        link = TicketLink.objects.create(from_ticket=ticket, to_ticket=other,
                                         kind=LinkKind.RELATED, created_by=actor, created_at=now)
        for this, that in ((ticket, other), (other, ticket)):
            TicketEvent.objects.create(
                ticket=this, kind=EventKind.LINKED, actor=actor, is_public=False, created_at=now,
                body=_("Vinculado con el folio %(folio)s.") % {"folio": that.folio},
                data={"link_id": link.pk, "kind": LinkKind.RELATED, "other_folio": that.folio,
                      "other_id": that.pk},
            )
        Ticket.objects.filter(pk__in=[ticket.pk, other.pk]).update(updated_at=now)
        audit_record(actor=actor, action="ticket.linked", obj=ticket,
                     institution=ticket.institution, data={"other": other.pk})
    return link


def ticket_merge(*, duplicate: Ticket, into: Ticket, actor, reason: str) -> Ticket:
    """Close ``duplicate`` as merged into ``into`` and tell its citizen.

    Both timelines are kept; interactions and attachments stay where they are. The
    duplicate's clock stops (stage done). Returns the updated duplicate.
    """
    if not reason.strip():
        raise ValidationError({"reason": _("Indique por qué se fusionan los requerimientos.")})
    if duplicate.pk == into.pk:
        raise ValidationError({"into": _("Un requerimiento no se puede fusionar consigo mismo.")})
    _check_same_institution(duplicate, into, field="into")
    with transaction.atomic():
        duplicate, into = _lock_pair(duplicate, into)
        permissions.require(actor, "link", duplicate)
        permissions.require(actor, "link", into)
        if duplicate.merged_into_id is not None:
            raise ValidationError({"into": _(
                "Este requerimiento ya fue fusionado con el folio %(folio)s."
            ) % {"folio": duplicate.merged_into.folio}})
        if duplicate.status == Status.CLOSED:
            raise ValidationError({"into": _("Este requerimiento está cerrado; reábralo antes de "
                                             "fusionarlo.")})
        if into.merged_into_id is not None:
            raise ValidationError({"into": _("El folio %(folio)s ya fue fusionado con otro; "
                                             "fusione con el folio %(target)s.") % {
                "folio": into.folio, "target": into.merged_into.folio}})
        if into.status == Status.CLOSED:
            raise ValidationError({"into": _("El folio %(folio)s está cerrado: no se puede "
                                             "fusionar en él.") % {"folio": into.folio}})
        now = timezone.now()
        from_status = duplicate.status
        duplicate.status = Status.CLOSED
        duplicate.closed_at = now
        duplicate.merged_into = into
        # The duplicate has no answer of its own: its clock stops here.
        duplicate.stage = ResponseStage.DONE
        duplicate.next_due_at = duplicate.at_risk_at = duplicate.paused_at = None
        duplicate.save(update_fields=["status", "closed_at", "merged_into", "stage",
                                      "next_due_at", "at_risk_at", "paused_at", "updated_at"])
        Ticket.objects.filter(pk=into.pk).update(updated_at=now)

        TicketLink.objects.filter(from_ticket=into, to_ticket=duplicate).delete()
        link, _created = TicketLink.objects.update_or_create(
            from_ticket=duplicate, to_ticket=into,
            defaults={"kind": LinkKind.DUPLICATE, "created_by": actor, "created_at": now},
        )
        data = {"link_id": link.pk, "kind": LinkKind.DUPLICATE, "reason": reason.strip()}
        TicketEvent.objects.create(
            ticket=duplicate, kind=EventKind.MERGED, actor=actor, is_public=True, created_at=now,
            body=_("Fusionado con el folio %(folio)s, que atiende la misma solicitud. "
                   "La respuesta se dará en ese folio.") % {"folio": into.folio},
            data={**data, "other_folio": into.folio, "other_id": into.pk},
        )
        TicketEvent.objects.create(
            ticket=duplicate, kind=EventKind.STATUS_CHANGED, actor=actor, is_public=True,
            created_at=now, from_status=from_status, to_status=Status.CLOSED,
            body=_("Cerrado por fusión con el folio %(folio)s.") % {"folio": into.folio},
        )
        TicketEvent.objects.create(
            ticket=into, kind=EventKind.MERGED, actor=actor, is_public=False, created_at=now,
            body=_("Se fusionó aquí el folio %(folio)s. Motivo: %(reason)s") % {
                "folio": duplicate.folio, "reason": reason.strip()},
            data={**data, "other_folio": duplicate.folio, "other_id": duplicate.pk},
        )
        outbox_enqueue_for_ticket(
            dedupe_key=f"ticket-{duplicate.pk}-merged",
            template="ticket_merged", context={"ticket": duplicate, "into": into},
            ticket=duplicate,
        )
        audit_record(actor=actor, action="ticket.merged", obj=duplicate,
                     institution=duplicate.institution,
                     data={"into": into.pk, "reason": reason.strip()})
    return duplicate


def ticket_split(*, ticket: Ticket, actor, subject: str, detail: str,
                 ticket_type: TicketType | None = None, topic: Topic | None = None,
                 idempotency_key: str | None = None) -> Ticket:
    """Open a new ticket for one of the requests mixed in ``ticket``.

    The new ticket goes through the intake service (folio, routing, deadlines,
    acknowledgement) with the original's institution, channel, citizen contact data and
    territory, and the original's ``received_at``: the deadline counts from the moment the
    person asked. ``idempotency_key`` (a token of the form) makes a double submit return the
    same new ticket.
    """
    errors = {}
    if not subject.strip():
        errors["subject"] = _("Escriba el asunto del nuevo requerimiento.")
    if not detail.strip():
        errors["detail"] = _("Describa el nuevo requerimiento.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        original = Ticket.objects.select_for_update().select_related(
            "ticket_type", "topic", "channel", "institution").get(pk=ticket.pk)
        permissions.require(actor, "link", original)
        new = ticket_open(draft=TicketDraft(
            institution=original.institution, channel=original.channel,
            ticket_type=ticket_type or original.ticket_type, topic=topic or original.topic,
            subject=subject, detail=detail,
            contact=ContactData(full_name=original.contact_name, email=original.contact_email,
                                phone=original.contact_phone, rut=original.contact_rut),
            urgency=original.urgency, requester_type=original.requester_type,
            organization=original.organization, region=original.region, comuna=original.comuna,
            citizen_user=original.filed_by, created_by=actor,
            idempotency_key=f"split-{original.pk}-{idempotency_key}" if idempotency_key else None,
            received_at=original.received_at,
        ))
        if new.pk == original.pk:  # cannot happen (fresh key), but never link a ticket to itself
            raise ValidationError({"subject": _("No se pudo crear el nuevo requerimiento.")})
        if TicketLink.objects.filter(from_ticket=new, to_ticket=original).exists():
            return new  # a repeated submission: the first one did everything
        if new.citizen_id != original.citizen_id:
            # The same person, whatever the contact matching would say today.
            Ticket.objects.filter(pk=new.pk).update(citizen_id=original.citizen_id)
            Interaction.objects.filter(ticket=new).update(citizen_id=original.citizen_id)
            new.citizen_id = original.citizen_id
        now = timezone.now()
        link = TicketLink.objects.create(from_ticket=new, to_ticket=original,
                                         kind=LinkKind.SPLIT, created_by=actor, created_at=now)
        data = {"link_id": link.pk, "kind": LinkKind.SPLIT}
        TicketEvent.objects.create(
            ticket=original, kind=EventKind.SPLIT, actor=actor, is_public=True, created_at=now,
            body=_("Una parte de este requerimiento se atiende por separado en el folio "
                   "%(folio)s.") % {"folio": new.folio},
            data={**data, "other_folio": new.folio, "other_id": new.pk},
        )
        TicketEvent.objects.create(
            ticket=new, kind=EventKind.SPLIT, actor=actor, is_public=True, created_at=now,
            body=_("Creado a partir del folio %(folio)s, que incluía más de una solicitud.")
            % {"folio": original.folio},
            data={**data, "other_folio": original.folio, "other_id": original.pk},
        )
        Ticket.objects.filter(pk=original.pk).update(updated_at=now)
        audit_record(actor=actor, action="ticket.split", obj=original,
                     institution=original.institution, data={"new": new.pk})
    return new
