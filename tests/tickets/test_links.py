"""Link, merge and split (tickets.services.links) and their console forms."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from tests.factories import AreaFactory, TopicFactory, open_ticket
from tests.tickets.helpers import confirmed, staff
from ventanilla.accounts.models import Role
from ventanilla.notifications.models import OutboundMessage
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
from ventanilla.tickets.services import (
    ticket_link,
    ticket_merge,
    ticket_split,
)

pytestmark = pytest.mark.django_db


def events(ticket, kind):
    return list(TicketEvent.objects.filter(ticket=ticket, kind=kind))


@pytest.fixture
def pair(catalog):
    first = open_ticket(catalog, subject="Colación no llegó")
    second = open_ticket(catalog, subject="Otra vez sin colación", email="pedro@example.cl")
    return first, second


# --- link ------------------------------------------------------------------------------------

def test_link_is_idempotent_and_on_both_timelines(catalog, pair):
    first, second = pair
    actor = staff(catalog["institution"], Role.TRIAGE)
    link = ticket_link(ticket=first, other=second, actor=actor)
    again = ticket_link(ticket=first, other=second, actor=actor)
    reverse_again = ticket_link(ticket=second, other=first, actor=actor)

    assert link.pk == again.pk == reverse_again.pk
    assert link.kind == LinkKind.RELATED
    assert TicketLink.objects.count() == 1
    for this, that in ((first, second), (second, first)):
        (event,) = events(this, EventKind.LINKED)
        assert not event.is_public
        assert event.data["other_folio"] == that.folio
        assert that.folio in event.body


def test_link_refusals(catalog, other_catalog, pair):
    first, second = pair
    foreign = open_ticket(other_catalog)
    triage = staff(catalog["institution"], Role.TRIAGE)
    with pytest.raises(ValidationError):
        ticket_link(ticket=first, other=first, actor=triage)
    with pytest.raises(ValidationError):
        ticket_link(ticket=first, other=foreign, actor=triage)
    with pytest.raises(PermissionDenied):
        ticket_link(ticket=first, other=second, actor=staff(catalog["institution"],
                                                            Role.OPERATOR))
    assert not TicketLink.objects.exists()


def test_responder_links_only_tickets_of_their_areas(catalog):
    institution = catalog["institution"]
    other_area = AreaFactory(institution=institution)
    mine = confirmed(open_ticket(catalog))
    also_mine = confirmed(open_ticket(catalog))
    elsewhere = confirmed(open_ticket(catalog, topic=TopicFactory(institution=institution,
                                                                  default_area=other_area)))
    responder = staff(institution, Role.RESPONDER, areas=[catalog["area"]])
    with pytest.raises(PermissionDenied):
        ticket_link(ticket=mine, other=elsewhere, actor=responder)
    assert ticket_link(ticket=mine, other=also_mine, actor=responder).kind == LinkKind.RELATED
    with pytest.raises(PermissionDenied):  # merging needs more than a responder
        ticket_merge(duplicate=mine, into=also_mine, actor=responder, reason="duplicado")


# --- merge -----------------------------------------------------------------------------------

def test_merge_closes_duplicate_keeps_both_timelines_and_tells_its_citizen(
        catalog, pair, django_capture_on_commit_callbacks, mailoutbox):
    into, duplicate = pair
    actor = staff(catalog["institution"], Role.SUPERVISOR)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_merge(duplicate=duplicate, into=into, actor=actor, reason="Misma colación")

    duplicate.refresh_from_db()
    into.refresh_from_db()
    assert duplicate.status == Status.CLOSED and duplicate.closed_at is not None
    assert duplicate.merged_into_id == into.pk
    assert duplicate.stage == ResponseStage.DONE and duplicate.next_due_at is None
    assert into.status != Status.CLOSED and into.merged_into_id is None
    link = TicketLink.objects.get()
    assert (link.from_ticket_id, link.to_ticket_id, link.kind) == (
        duplicate.pk, into.pk, LinkKind.DUPLICATE)
    (public,) = events(duplicate, EventKind.MERGED)
    assert public.is_public and into.folio in public.body
    assert "Misma colación" not in public.body  # the reason is internal
    (internal,) = events(into, EventKind.MERGED)
    assert not internal.is_public and duplicate.folio in internal.body
    assert events(duplicate, EventKind.CREATED) and events(into, EventKind.CREATED)
    assert Interaction.objects.filter(ticket=duplicate).exists()  # history stays where it was

    merged_mails = [m for m in mailoutbox if into.folio in m.subject]
    assert len(merged_mails) == 1
    assert merged_mails[0].to == ["pedro@example.cl"]
    assert duplicate.folio in merged_mails[0].subject
    assert OutboundMessage.objects.filter(dedupe_key=f"ticket-{duplicate.pk}-merged").count() == 1


def test_merge_refusals(catalog, other_catalog, pair):
    into, duplicate = pair
    institution = catalog["institution"]
    supervisor = staff(institution, Role.SUPERVISOR)
    with pytest.raises(ValidationError) as excinfo:
        ticket_merge(duplicate=duplicate, into=duplicate, actor=supervisor, reason="x")
    assert "into" in excinfo.value.message_dict
    with pytest.raises(ValidationError):
        ticket_merge(duplicate=duplicate, into=open_ticket(other_catalog), actor=supervisor,
                     reason="x")
    with pytest.raises(ValidationError):  # no reason
        ticket_merge(duplicate=duplicate, into=into, actor=supervisor, reason="  ")
    for role in (Role.OPERATOR, Role.RESPONDER, Role.AUDITOR):
        with pytest.raises(PermissionDenied):
            ticket_merge(duplicate=duplicate, into=into, actor=staff(institution, role),
                         reason="x")

    closed = open_ticket(catalog)
    Ticket.objects.filter(pk=closed.pk).update(status=Status.CLOSED)
    with pytest.raises(ValidationError) as excinfo:
        ticket_merge(duplicate=duplicate, into=closed, actor=supervisor, reason="x")
    assert closed.folio in excinfo.value.message_dict["into"][0]

    ticket_merge(duplicate=duplicate, into=into, actor=supervisor, reason="duplicado")
    third = open_ticket(catalog)
    with pytest.raises(ValidationError):  # into a merged ticket
        ticket_merge(duplicate=third, into=duplicate, actor=supervisor, reason="x")
    with pytest.raises(ValidationError):  # merging twice
        ticket_merge(duplicate=duplicate, into=third, actor=supervisor, reason="x")
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id == into.pk
    assert TicketLink.objects.count() == 1


# --- split -----------------------------------------------------------------------------------

def test_split_opens_a_new_ticket_through_intake(catalog, django_capture_on_commit_callbacks,
                                                 mailoutbox):
    received = timezone.now() - timedelta(days=2)
    original = open_ticket(catalog, received_at=received)
    actor = staff(catalog["institution"], Role.TRIAGE)
    other_topic = TopicFactory(institution=catalog["institution"], name="Becas")
    with django_capture_on_commit_callbacks(execute=True):
        new = ticket_split(ticket=original, actor=actor, subject="Beca de alimentación",
                           detail="También pregunta por la beca.", topic=other_topic)

    new.refresh_from_db()
    assert new.pk != original.pk and new.folio != original.folio
    assert new.folio.startswith(catalog["institution"].folio_prefix)
    assert new.received_at == original.received_at
    # Deadlines are measured from the original reception.
    assert new.due_at is not None and new.due_at == original.due_at
    assert (new.institution_id, new.channel_id, new.citizen_id) == (
        original.institution_id, original.channel_id, original.citizen_id)
    assert (new.contact_email, new.organization_id, new.comuna_id) == (
        original.contact_email, original.organization_id, original.comuna_id)
    assert new.topic_id == other_topic.pk and new.ticket_type_id == original.ticket_type_id
    assert new.created_by_id == actor.pk
    assert events(new, EventKind.CREATED)  # through the intake service
    link = TicketLink.objects.get()
    assert (link.from_ticket_id, link.to_ticket_id, link.kind) == (
        new.pk, original.pk, LinkKind.SPLIT)
    (on_original,) = events(original, EventKind.SPLIT)
    (on_new,) = events(new, EventKind.SPLIT)
    assert new.folio in on_original.body and original.folio in on_new.body
    assert any(new.folio in m.subject for m in mailoutbox)  # the new acknowledgement


def test_split_is_idempotent_with_a_token_and_checked(catalog):
    original = open_ticket(catalog)
    institution = catalog["institution"]
    actor = staff(institution, Role.SUPERVISOR)
    first = ticket_split(ticket=original, actor=actor, subject="A", detail="B",
                         idempotency_key="tok")
    second = ticket_split(ticket=original, actor=actor, subject="A", detail="B",
                          idempotency_key="tok")
    assert first.pk == second.pk
    assert TicketLink.objects.count() == 1 and len(events(original, EventKind.SPLIT)) == 1
    with pytest.raises(ValidationError):
        ticket_split(ticket=original, actor=actor, subject=" ", detail="")
    with pytest.raises(PermissionDenied):
        ticket_split(ticket=original, actor=staff(institution, Role.OPERATOR), subject="A",
                     detail="B")


# --- console ---------------------------------------------------------------------------------

def test_console_merge_and_unknown_folio(client, catalog, other_catalog, pair):
    into, duplicate = pair
    foreign = open_ticket(other_catalog)
    client.force_login(staff(catalog["institution"], Role.TRIAGE))

    page = client.get(reverse("console:ticket-links", args=[duplicate.folio]))
    assert page.status_code == 200
    assert 'name="merge-folio"' in page.content.decode()

    url = reverse("console:ticket-merge", args=[duplicate.folio])
    response = client.post(url, {"merge-folio": foreign.folio, "merge-reason": "x",
                                 "merge-confirm": "on"})
    assert response.status_code == 400
    assert "No hay un requerimiento con el folio" in response.content.decode()
    response = client.post(url, {"merge-folio": into.folio, "merge-reason": "x"})
    assert response.status_code == 400
    assert "Marque la confirmación" in response.content.decode()
    duplicate.refresh_from_db()
    assert duplicate.status != Status.CLOSED

    response = client.post(url, {"merge-folio": into.folio.lower(), "merge-reason": "Igual",
                                 "merge-confirm": "on"})
    assert response.status_code == 302
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id == into.pk

    page = client.get(reverse("console:ticket-links", args=[into.folio]))
    assert duplicate.folio in page.content.decode()


def test_console_link_split_and_permissions(client, catalog, pair):
    first, second = pair
    client.force_login(staff(catalog["institution"], Role.TRIAGE))
    response = client.post(reverse("console:ticket-link", args=[first.folio]),
                           {"link-folio": second.folio})
    assert response.status_code == 302
    assert TicketLink.objects.filter(kind=LinkKind.RELATED).count() == 1
    response = client.post(reverse("console:ticket-link", args=[first.folio]),
                           {"link-folio": "NO-EXISTE"})
    assert response.status_code == 400

    response = client.post(reverse("console:ticket-split", args=[first.folio]),
                           {"split-subject": "Nuevo", "split-detail": "Parte",
                            "split-ticket_type": "999999", "split-token": "t"})
    assert response.status_code == 400
    assert "no está disponible" in response.content.decode()
    response = client.post(reverse("console:ticket-split", args=[first.folio]),
                           {"split-subject": "Nuevo", "split-detail": "Parte",
                            "split-token": "t"})
    new = Ticket.objects.exclude(pk__in=[first.pk, second.pk]).get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{new.folio}/")

    client.force_login(staff(catalog["institution"], Role.OPERATOR))
    response = client.post(reverse("console:ticket-merge", args=[first.folio]),
                           {"merge-folio": second.folio, "merge-reason": "x",
                            "merge-confirm": "on"})
    assert response.status_code == 403
