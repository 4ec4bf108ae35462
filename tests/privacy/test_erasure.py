"""Erasure ("supresión") where the law allows it; refused, with the reason, where not."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory, open_ticket
from tests.privacy.conftest import closed_ticket, contact
from ventanilla.accounts.models import Role
from ventanilla.citizens.models import (
    ChannelIdentity,
    Citizen,
    ErasureRequest,
    ErasureStatus,
    RetentionRule,
)
from ventanilla.citizens.privacy import citizen_erase, erasure_request_create
from ventanilla.core.models import AuditEvent
from ventanilla.tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def no_hold(catalog):
    RetentionRule.objects.create(institution=catalog["institution"], legal_hold_years=0)


def test_erasure_of_a_person_with_only_closed_tickets(catalog, member, no_hold):
    user = UserFactory(email="juana@example.cl", email_verified_at=timezone.now())
    ticket = closed_ticket(catalog, years_ago=1, citizen_user=user)
    citizen = ticket.citizen
    supervisor = member(Role.SUPERVISOR)
    outcome = citizen_erase(citizen=citizen, actor=supervisor, reason="Pedido en oficina")
    assert outcome.done
    citizen.refresh_from_db()
    ticket.refresh_from_db()
    assert (citizen.full_name, citizen.email, citizen.phone, citizen.rut, citizen.user_id) == (
        "", "", "", None, None)
    assert citizen.anonymised_at and not ChannelIdentity.objects.filter(citizen=citizen).exists()
    assert (ticket.contact_name, ticket.contact_email, ticket.detail) == ("", "", "")
    assert ticket.ticket_type_id == catalog["suggestion"].pk  # statistics kept
    user.refresh_from_db()
    assert not user.is_active and user.email != "juana@example.cl"
    assert not user.has_usable_password()
    event = AuditEvent.objects.get(action="privacy.person_erased")
    assert event.actor == supervisor and event.reason == "Pedido en oficina"
    assert event.data["tickets"] == [ticket.pk]
    assert outcome.request.status == ErasureStatus.DONE
    with pytest.raises(ValidationError):  # irreversible, and not twice
        citizen_erase(citizen=citizen, actor=supervisor, reason="otra vez")


def test_refused_while_a_ticket_is_open(catalog, member, no_hold):
    ticket = open_ticket(catalog, contact=contact())
    outcome = citizen_erase(citizen=ticket.citizen, actor=member(Role.SUPERVISOR),
                            reason="Pidió supresión")
    assert not outcome.done
    assert ticket.folio in outcome.obstacles[0] and "en curso" in outcome.obstacles[0]
    assert outcome.request.status == ErasureStatus.REFUSED
    assert ticket.folio in outcome.request.refusal_reason
    ticket.refresh_from_db()
    assert ticket.contact_name == "Juana Soto"
    assert AuditEvent.objects.filter(action="privacy.erasure_refused").count() == 1


def test_refused_inside_the_legal_hold_with_the_date(catalog, member, settings):
    settings.PRIVACY_DEFAULT_LEGAL_HOLD_YEARS = 2  # no rule for the type: the default
    ticket = closed_ticket(catalog, years_ago=1)
    outcome = citizen_erase(citizen=ticket.citizen, actor=member(Role.SYSADMIN), reason="x")
    assert not outcome.done
    [reason] = outcome.obstacles
    assert ticket.folio in reason and "2 año(s)" in reason and "hasta el" in reason
    assert Citizen.objects.get(pk=ticket.citizen_id).full_name == "Juana Soto"


def test_only_supervisors_of_every_institution_involved(catalog, other_catalog, member,
                                                        no_hold):
    ticket = closed_ticket(catalog, years_ago=1)
    closed_ticket(other_catalog, years_ago=1)  # same person (same RUT) elsewhere
    with pytest.raises(PermissionDenied):
        citizen_erase(citizen=ticket.citizen, actor=member(Role.OPERATOR), reason="x")
    with pytest.raises(PermissionDenied):  # supervisor here, nothing there
        citizen_erase(citizen=ticket.citizen, actor=member(Role.SUPERVISOR), reason="x")
    assert not ErasureRequest.objects.exists()


def test_reason_is_required(catalog, member, no_hold):
    ticket = closed_ticket(catalog, years_ago=1)
    with pytest.raises(ValidationError):
        citizen_erase(citizen=ticket.citizen, actor=member(Role.SUPERVISOR), reason=" ")


def test_portal_request_then_console(client, catalog, member, no_hold):
    user = UserFactory(email="juana@example.cl", email_verified_at=timezone.now())
    ticket = closed_ticket(catalog, years_ago=1, citizen_user=user)
    client.force_login(user)
    url = reverse("portal:erasure-request")
    assert client.post(url, {"note": "Ya no uso el servicio"}).status_code == 400  # no confirm
    response = client.post(url, {"note": "Ya no uso el servicio", "confirm": "on"})
    assert response.status_code == 302
    pending = ErasureRequest.objects.get(status=ErasureStatus.PENDING)
    assert pending.requested_by == user
    with pytest.raises(ValidationError):
        erasure_request_create(user=user)  # one pending at a time

    supervisor = member(Role.SUPERVISOR)
    client.force_login(supervisor)
    listing = client.get(reverse("console:erasure-requests"))
    assert reverse("console:person-erase", args=[ticket.citizen_id]) in listing.content.decode()
    erase_url = reverse("console:person-erase", args=[ticket.citizen_id])
    page = client.get(erase_url)
    assert page.status_code == 200 and "Ya no uso el servicio" in page.content.decode()
    assert client.post(erase_url, {"reason": "Solicitud de la persona"}).status_code == 400
    response = client.post(erase_url, {"reason": "Solicitud de la persona", "confirm": "on"})
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == ErasureStatus.DONE and pending.handled_by == supervisor
    assert pending.requester_note == ""  # the person's own words go too
    assert Ticket.objects.get(pk=ticket.pk).contact_email == ""


def test_console_erasure_needs_the_password_again(client, catalog, member, no_hold):
    ticket = closed_ticket(catalog, years_ago=1)
    client.force_login(member(Role.SUPERVISOR))
    session = client.session
    session.pop("ventanilla_reauth_at", None)
    session.save()
    response = client.post(reverse("console:person-erase", args=[ticket.citizen_id]),
                           {"reason": "x", "confirm": "on"})
    assert response.status_code == 303
    assert Citizen.objects.get(pk=ticket.citizen_id).anonymised_at is None
