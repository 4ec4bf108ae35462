"""The quarantine as an administrator sees it: the list, reprocess after fixing the cause,
dismiss."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import UserFactory, make_endpoint
from ventanilla.channels.email import email_process
from ventanilla.channels.models import InboundMessage, InboundStatus
from ventanilla.core.models import AuditEvent
from ventanilla.tickets.models import Ticket

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:channels_inboundmessage_changelist")
RAW = (b"From: Juana Soto <juana@example.cl>\r\nTo: oirs@inst.example.cl\r\n"
       b"Subject: No lleg\xc3\xb3 la colaci\xc3\xb3n\r\nMessage-ID: <abc@example.cl>\r\n"
       b"Content-Type: text/plain; charset=utf-8\r\n\r\nEl lunes no lleg\xc3\xb3.\r\n")


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def quarantined() -> InboundMessage:
    record = email_process(RAW, source="smtp")
    assert isinstance(record, InboundMessage) and record.status == InboundStatus.QUARANTINED
    return record


def test_the_quarantine_lists_the_reason(admin_client, catalog):
    record = quarantined()
    response = admin_client.get(CHANGELIST, {"status__exact": InboundStatus.QUARANTINED})
    page = response.content.decode()
    assert response.status_code == 200
    assert "juana@example.cl" in page and record.reason[:30] in page
    detail = admin_client.get(reverse("admin:channels_inboundmessage_change", args=[record.pk]))
    assert detail.status_code == 200


def test_reprocess_after_adding_the_endpoint_opens_the_ticket(admin_client, catalog):
    record = quarantined()
    make_endpoint(catalog, provider="email", address="oirs@inst.example.cl",
                  channel_code="email")

    response = admin_client.post(CHANGELIST, {"action": "reprocess",
                                              "_selected_action": [record.pk]}, follow=True)

    assert response.status_code == 200
    record.refresh_from_db()
    assert record.status == InboundStatus.PROCESSED and record.ticket is not None
    assert record.ticket.citizen.email == "juana@example.cl"
    assert AuditEvent.objects.filter(action="inbound.reprocessed").count() == 1


def test_reprocess_that_still_fails_keeps_it_quarantined(admin_client, catalog):
    record = quarantined()
    response = admin_client.post(CHANGELIST, {"action": "reprocess",
                                              "_selected_action": [record.pk]}, follow=True)
    assert "Sigue en cuarentena" in response.content.decode()
    record.refresh_from_db()
    assert record.status == InboundStatus.QUARANTINED and not Ticket.objects.exists()


def test_dismiss_closes_it_without_a_ticket(admin_client, catalog):
    record = quarantined()
    admin_client.post(CHANGELIST, {"action": "dismiss", "_selected_action": [record.pk]})
    record.refresh_from_db()
    assert record.status == InboundStatus.DISMISSED and record.reviewed_by is not None
    assert not Ticket.objects.exists()


def test_nobody_adds_or_edits_rows_by_hand(admin_client, catalog):
    record = quarantined()
    assert admin_client.get(reverse("admin:channels_inboundmessage_add")).status_code == 403
    admin_client.post(
        reverse("admin:channels_inboundmessage_change", args=[record.pk]),
        {"status": InboundStatus.PROCESSED})
    record.refresh_from_db()
    assert record.status == InboundStatus.QUARANTINED
