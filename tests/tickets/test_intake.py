import re
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.factories import (
    AreaFactory,
    OrganizationFactory,
    TicketTypeFactory,
    TopicFactory,
    channel,
    open_ticket,
)
from tests.tickets.helpers import PDF_BYTES, image_bytes, upload
from ventanilla.citizens.models import Citizen
from ventanilla.citizens.services import ContactData
from ventanilla.core.models import Comuna, Region
from ventanilla.notifications.models import OutboundMessage
from ventanilla.tickets.models import (
    Attachment,
    EventKind,
    FolioCounter,
    Interaction,
    InteractionKind,
    Status,
    Ticket,
    TicketEvent,
)
from ventanilla.tickets.uploads import check_upload_list

pytestmark = pytest.mark.django_db

FOLIO_RE = re.compile(r"^(?P<prefix>[A-Z]{2,8})-(?P<year>\d{4})-(?P<number>\d{6})$")


def _nothing_stored():
    return (
        Ticket.objects.count(), TicketEvent.objects.count(), Attachment.objects.count(),
        Interaction.objects.count(), OutboundMessage.objects.count(), Citizen.objects.count(),
    ) == (0, 0, 0, 0, 0, 0)


def test_folio_format_and_consecutive_numbers(catalog):
    received = datetime(2026, 6, 1, 15, 0, tzinfo=UTC)
    tickets = [open_ticket(catalog, received_at=received) for _ in range(3)]
    prefix = catalog["institution"].folio_prefix
    assert [t.folio for t in tickets] == [
        f"{prefix}-2026-000001", f"{prefix}-2026-000002", f"{prefix}-2026-000003"
    ]
    for ticket in tickets:
        match = FOLIO_RE.match(ticket.folio)
        assert match and match["prefix"] == prefix


def test_folio_counter_restarts_each_year(catalog):
    prefix = catalog["institution"].folio_prefix
    first = open_ticket(catalog, received_at=datetime(2026, 5, 1, 12, tzinfo=UTC))
    second = open_ticket(catalog, received_at=datetime(2027, 5, 1, 12, tzinfo=UTC))
    third = open_ticket(catalog, received_at=datetime(2026, 5, 2, 12, tzinfo=UTC))
    assert first.folio == f"{prefix}-2026-000001"
    assert second.folio == f"{prefix}-2027-000001"
    assert third.folio == f"{prefix}-2026-000002"


def test_folio_year_is_the_year_in_chile_not_utc(catalog):
    # 2026-12-31 23:30 in Santiago (UTC-3 in summer) is already 2027-01-01 02:30 UTC.
    received = datetime(2027, 1, 1, 2, 30, tzinfo=UTC)
    ticket = open_ticket(catalog, received_at=received)
    assert "-2026-" in ticket.folio
    assert ticket.received_at == received
    # half an hour later in Chile it is 2027
    later = open_ticket(catalog, received_at=datetime(2027, 1, 1, 3, 30, tzinfo=UTC))
    assert "-2027-" in later.folio


def test_folio_year_does_not_depend_on_the_active_timezone(catalog):
    with timezone.override("UTC"):
        ticket = open_ticket(catalog, received_at=datetime(2027, 1, 1, 2, 30, tzinfo=UTC))
    assert "-2026-" in ticket.folio


def test_folio_counters_are_independent_per_institution(catalog, other_catalog):
    received = datetime(2026, 3, 3, 12, tzinfo=UTC)
    a1 = open_ticket(catalog, received_at=received)
    b1 = open_ticket(other_catalog, received_at=received)
    a2 = open_ticket(catalog, received_at=received)
    assert a1.folio.endswith("-2026-000001")
    assert b1.folio.endswith("-2026-000001")
    assert a2.folio.endswith("-2026-000002")
    assert a1.folio.split("-")[0] != b1.folio.split("-")[0]


def test_received_at_stamped_when_missing_and_due_from_target_hours(catalog):
    before = timezone.now()
    ticket = open_ticket(catalog, received_at=None)
    after = timezone.now()
    assert before <= ticket.received_at <= after
    assert ticket.due_at == ticket.received_at + timedelta(hours=72)

    fast = TicketTypeFactory(institution=catalog["institution"], code="urgente", target_hours=24)
    received = datetime(2026, 7, 1, 10, tzinfo=UTC)
    ticket = open_ticket(catalog, ticket_type=fast, received_at=received)
    assert ticket.due_at == received + timedelta(hours=24)
    assert ticket.status == Status.NEW


def test_area_comes_from_topic_default_area(catalog):
    other_area = AreaFactory(institution=catalog["institution"], name="Área Becas")
    topic = TopicFactory(institution=catalog["institution"], default_area=other_area)
    assert open_ticket(catalog, topic=topic).area == other_area
    no_area_topic = TopicFactory(institution=catalog["institution"], default_area=None)
    assert open_ticket(catalog, topic=no_area_topic).area is None


def test_region_and_comuna_derived_from_organization(catalog):
    org = OrganizationFactory(institution=catalog["institution"],
                              comuna=Comuna.objects.get(code="01101"))
    ticket = open_ticket(catalog, organization=org, region=None, comuna=None)
    assert ticket.comuna_id == "01101"
    assert ticket.region_id == "01"


def test_region_derived_from_comuna_when_only_comuna_given(catalog):
    ticket = open_ticket(catalog, organization=None, region=None,
                         comuna=Comuna.objects.get(code="16101"))
    assert ticket.region_id == "16"


def test_region_given_without_comuna_never_gets_a_comuna_of_another_region(catalog):
    # the organization is in Santiago; the person chose Tarapacá without a comuna
    ticket = open_ticket(catalog, region=Region.objects.get(code="01"), comuna=None)
    assert ticket.region_id == "01"
    assert ticket.comuna is None or ticket.comuna.region_id == "01"


def test_no_territory_at_all(catalog):
    ticket = open_ticket(catalog, organization=None, region=None, comuna=None)
    assert ticket.region is None and ticket.comuna is None


def test_created_event_interaction_and_acknowledgement(catalog):
    ticket = open_ticket(catalog, email="Juana.Soto@Example.CL")
    events = list(ticket.events.all())
    assert len(events) == 1
    created = events[0]
    assert created.kind == EventKind.CREATED
    assert created.is_public is True
    assert created.to_status == Status.NEW
    assert created.created_at == ticket.received_at
    assert created.data["channel"] == "web"

    interaction = Interaction.objects.get(ticket=ticket)
    assert interaction.kind == InteractionKind.TICKET_OPENED
    assert interaction.is_self_service is True  # web is self-service
    assert interaction.citizen_id == ticket.citizen_id
    assert interaction.institution_id == catalog["institution"].pk

    messages = OutboundMessage.objects.filter(ticket=ticket)
    assert messages.count() == 1
    message = messages.get()
    assert message.recipient == "juana.soto@example.cl"
    assert ticket.folio in message.subject
    assert ticket.folio in message.body_text


def test_assisted_channel_interaction_is_not_self_service(catalog):
    ticket = open_ticket(catalog, channel=channel("phone"))
    assert Interaction.objects.get(ticket=ticket).is_self_service is False


def test_no_acknowledgement_without_email(catalog):
    contact = ContactData(full_name="Pedro Rojas", email="", phone="+56 9 8765 4321")
    ticket = open_ticket(catalog, contact=contact)
    assert not OutboundMessage.objects.filter(ticket=ticket).exists()
    assert ticket.contact_email == ""


def test_contact_snapshot_stored(catalog):
    contact = ContactData(full_name="  Juana Soto  ", email=" JUANA@example.cl ",
                          phone=" +56 9 1234 5678 ", rut="125319092")
    ticket = open_ticket(catalog, contact=contact, subject="  Asunto  ", detail=" Detalle ")
    ticket.refresh_from_db()
    assert ticket.contact_name == "Juana Soto"
    assert ticket.contact_email == "juana@example.cl"
    assert ticket.contact_phone == "+56 9 1234 5678"
    assert ticket.contact_rut == "125319092"
    assert ticket.subject == "Asunto"
    assert ticket.detail == "Detalle"
    assert ticket.citizen.rut == "125319092"


def test_idempotency_key_returns_the_same_ticket(catalog, other_catalog):
    first = open_ticket(catalog, idempotency_key="form-abc")
    again = open_ticket(catalog, idempotency_key="form-abc", subject="Otro asunto")
    assert again.pk == first.pk
    assert Ticket.objects.filter(institution=catalog["institution"]).count() == 1
    assert TicketEvent.objects.filter(ticket=first).count() == 1
    assert OutboundMessage.objects.filter(ticket=first).count() == 1
    assert FolioCounter.objects.get(institution=catalog["institution"]).last_value == 1

    elsewhere = open_ticket(other_catalog, idempotency_key="form-abc")
    assert elsewhere.pk != first.pk
    assert elsewhere.institution == other_catalog["institution"]


def test_empty_idempotency_key_is_not_a_key(catalog):
    a = open_ticket(catalog, idempotency_key="")
    b = open_ticket(catalog, idempotency_key="")
    assert a.pk != b.pk
    assert a.idempotency_key is None


@pytest.mark.parametrize("field", ["ticket_type", "topic", "requester_type", "organization"])
def test_catalog_entry_of_another_institution_rejected(catalog, other_catalog, field):
    source = {"ticket_type": "complaint", "topic": "topic", "requester_type": "requester_type",
              "organization": "organization"}[field]
    with pytest.raises(ValidationError) as exc_info:
        open_ticket(catalog, **{field: other_catalog[source]})
    assert field in exc_info.value.message_dict
    assert _nothing_stored()


@pytest.mark.parametrize("field", ["ticket_type", "topic", "requester_type", "organization"])
def test_inactive_catalog_entry_rejected(catalog, field):
    source = {"ticket_type": "complaint", "topic": "topic", "requester_type": "requester_type",
              "organization": "organization"}[field]
    entry = catalog[source]
    entry.is_active = False
    entry.save()
    with pytest.raises(ValidationError) as exc_info:
        open_ticket(catalog, **{field: entry})
    assert list(exc_info.value.message_dict) == [field]
    assert _nothing_stored()


def test_comuna_outside_region_rejected(catalog):
    with pytest.raises(ValidationError) as exc_info:
        open_ticket(catalog, region=Region.objects.get(code="13"),
                    comuna=Comuna.objects.get(code="01101"))
    assert "comuna" in exc_info.value.message_dict
    assert "región" in exc_info.value.message_dict["comuna"][0]
    assert _nothing_stored()


@pytest.mark.parametrize(("overrides", "field"), [
    ({"subject": "   "}, "subject"),
    ({"detail": ""}, "detail"),
    ({"urgency": "altisima"}, "urgency"),
    ({"contact": ContactData(full_name=" ", email="a@example.cl")}, "full_name"),
])
def test_blank_or_invalid_fields_rejected(catalog, overrides, field):
    with pytest.raises(ValidationError) as exc_info:
        open_ticket(catalog, **overrides)
    assert field in exc_info.value.message_dict
    assert _nothing_stored()


def test_attachments_stored_with_generated_names(catalog):
    png = image_bytes("PNG")
    files = check_upload_list([upload("../../mi foto secreta.png", png),
                               upload("carta.pdf", PDF_BYTES)])
    ticket = open_ticket(catalog, attachments=files)
    attachments = list(ticket.attachments.order_by("id"))
    assert len(attachments) == 2
    created = ticket.events.get(kind=EventKind.CREATED)
    photo, letter = attachments
    assert photo.original_name == "mi foto secreta.png"
    assert photo.event_id == created.pk
    assert photo.size == len(png)
    import hashlib

    assert photo.sha256 == hashlib.sha256(png).hexdigest()
    assert photo.content_type == "image/png"
    assert letter.content_type == "application/pdf"
    for attachment in attachments:
        stored = attachment.file.name
        assert "secreta" not in stored and "carta" not in stored and ".." not in stored
        assert re.fullmatch(
            rf"attachments/{catalog['institution'].pk}/\d{{4}}/\d{{2}}/[0-9a-f]{{32}}\.(png|pdf)",
            stored,
        ), stored
        with attachment.file.open("rb") as fh:
            assert hashlib.sha256(fh.read()).hexdigest() == attachment.sha256


def test_failure_in_the_middle_leaves_nothing(catalog):
    files = check_upload_list([upload("foto.png", image_bytes("PNG"))])
    with mock.patch.object(Interaction.objects, "create", side_effect=RuntimeError("boom")), \
            pytest.raises(RuntimeError):
        open_ticket(catalog, attachments=files)
    assert _nothing_stored()
    # the folio number was not consumed either (the counter is in the same transaction)
    assert not FolioCounter.objects.filter(institution=catalog["institution"]).exists()
    ticket = open_ticket(catalog)
    assert ticket.folio.endswith("-000001")


def test_failure_in_outbox_leaves_nothing(catalog):
    with mock.patch("ventanilla.tickets.services.workflow.outbox_enqueue_for_ticket",
                    side_effect=RuntimeError("template broken")), pytest.raises(RuntimeError):
        open_ticket(catalog)
    assert _nothing_stored()
