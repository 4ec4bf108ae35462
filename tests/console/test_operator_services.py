"""The services and selector behind the operator console: assisted contacts and lookup."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import MembershipFactory, channel, open_ticket
from ventanilla.accounts.models import Role
from ventanilla.citizens.models import ChannelIdentity, Citizen, IdentityKind
from ventanilla.citizens.selectors import citizen_lookup, citizen_lookup_terms
from ventanilla.citizens.services import ContactData
from ventanilla.tickets.models import Interaction, InteractionKind, Status
from ventanilla.tickets.services import TicketDraft, interaction_record_attended
from ventanilla.tickets.services.assisted import (
    ticket_add_assisted_message,
    ticket_open_assisted,
)

pytestmark = pytest.mark.django_db


def _member(catalog, role):
    return MembershipFactory(institution=catalog["institution"], role=role).user


def _draft(catalog, actor, channel_code="phone"):
    org = catalog["organization"]
    return TicketDraft(
        institution=catalog["institution"], channel=channel(channel_code),
        ticket_type=catalog["complaint"], topic=catalog["topic"], subject="Asunto",
        detail="Detalle", contact=ContactData(full_name="Ana", phone="+56 9 1234 5678"),
        requester_type=catalog["requester_type"], organization=org, region=org.region,
        comuna=org.comuna, created_by=actor, received_at=timezone.now(),
    )


def test_attended_is_assisted_on_its_channel(catalog):
    operator = _member(catalog, Role.OPERATOR)
    row = interaction_record_attended(institution=catalog["institution"],
                                      channel=channel("phone"), actor=operator,
                                      summary=" Horario ")
    assert row.kind == InteractionKind.ATTENDED and row.is_self_service is False
    assert row.data == {"operator_id": operator.pk, "summary": "Horario"}
    assert Interaction.objects.filter(kind=InteractionKind.ATTENDED,
                                      is_self_service=False).count() == 1


def test_attended_refuses_self_service_channels_and_other_roles(catalog, other_catalog):
    operator = _member(catalog, Role.OPERATOR)
    with pytest.raises(ValidationError):
        interaction_record_attended(institution=catalog["institution"], channel=channel("web"),
                                    actor=operator, summary="x")
    for role in (Role.RESPONDER, Role.AUDITOR):
        with pytest.raises(PermissionDenied):
            interaction_record_attended(institution=catalog["institution"],
                                        channel=channel("phone"),
                                        actor=_member(catalog, role), summary="x")
    with pytest.raises(PermissionDenied):  # an operator of another institution
        interaction_record_attended(institution=other_catalog["institution"],
                                    channel=channel("phone"), actor=operator, summary="x")
    foreign = open_ticket(other_catalog)
    with pytest.raises(ValidationError):
        interaction_record_attended(institution=catalog["institution"],
                                    channel=channel("phone"), actor=operator, summary="x",
                                    ticket=foreign)
    assert not Interaction.objects.filter(kind=InteractionKind.ATTENDED).exists()


def test_ticket_open_assisted_checks_role_channel_and_author(catalog):
    operator = _member(catalog, Role.OPERATOR)
    ticket = ticket_open_assisted(draft=_draft(catalog, operator), actor=operator)
    assert ticket.created_by == operator and ticket.channel.code == "phone"
    with pytest.raises(ValidationError):
        ticket_open_assisted(draft=_draft(catalog, operator, "web"), actor=operator)
    responder = _member(catalog, Role.RESPONDER)
    with pytest.raises(PermissionDenied):
        ticket_open_assisted(draft=_draft(catalog, responder), actor=responder)
    with pytest.raises(ValueError):
        ticket_open_assisted(draft=_draft(catalog, None), actor=operator)


def test_message_on_closed_ticket_is_refused(catalog):
    operator = _member(catalog, Role.OPERATOR)
    ticket = open_ticket(catalog, ticket_type=catalog["suggestion"])  # closed on entry
    assert ticket.status == Status.CLOSED
    with pytest.raises(ValidationError):
        ticket_add_assisted_message(ticket=ticket, actor=operator, channel=channel("phone"),
                                    body="Hola")


# --- lookup --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "rut", "phone", "email"), [
    ("12.531.909-2", "125319092", "", ""),
    ("12531909-2", "125319092", "56125319092", ""),
    ("+56 9 8765 4321", "", "56987654321", ""),
    ("Ana@Example.CL", "", "", "ana@example.cl"),
    ("ana@", "", "", ""),
    ("Juana Soto", "", "", ""),
    ("1234", "", "", ""),
])
def test_lookup_terms_detect_the_format(text, rut, phone, email):
    terms = citizen_lookup_terms(text)
    assert (terms.rut, terms.phone, terms.email) == (rut, phone, email)


def test_lookup_uses_exact_values_only_and_orders_by_history_here(catalog):
    here = open_ticket(catalog, contact=ContactData(full_name="Con historial",
                                                    email="a@example.cl",
                                                    phone="+56 9 7777 6666")).citizen
    elsewhere = Citizen.objects.create(full_name="Sin historial")
    ChannelIdentity.objects.create(citizen=elsewhere, kind=IdentityKind.WHATSAPP,
                                   value="56977776666")
    # Same last digits, different number: never matched (no suffix search).
    Citizen.objects.create(full_name="Otro número", phone="+56 9 1111 6666")
    with CaptureQueriesContext(connection) as queries:
        matches = citizen_lookup("977776666", catalog["institution"])
    assert [m.citizen.pk for m in matches] == [here.pk, elsewhere.pk]
    assert matches[0].tickets_here == 1 and matches[1].tickets_here == 0
    sql = " ".join(q["sql"].upper() for q in queries.captured_queries)
    assert " LIKE " not in sql
    assert len(queries.captured_queries) <= 5
