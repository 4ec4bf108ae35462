"""Retention rules anonymise old closed tickets and every figure stays the same."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from tests.factories import open_ticket
from tests.privacy.conftest import closed_ticket, contact
from ventanilla.citizens.models import (
    ChannelIdentity,
    Citizen,
    RetentionRule,
    RetentionRun,
    TicketAnonymisation,
)
from ventanilla.citizens.privacy import ANONYMISED_TEXT, retention_apply
from ventanilla.core.models import AuditEvent
from ventanilla.notifications.models import OutboundMessage
from ventanilla.reports.figures import dashboard_sections
from ventanilla.reports.services import rollup_rebuild
from ventanilla.reports.tables import DashboardFilters
from ventanilla.tickets.models import Attachment, Interaction, Ticket, TicketEvent

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _figures(institution):
    rollup_rebuild(institution=institution)
    today = timezone.localdate()
    filters = DashboardFilters(institution=institution, date_from=today - timedelta(days=365 * 4),
                               date_to=today)
    return [(figure.key, table.rows) for _section, built in dashboard_sections(filters)
            for figure, table in built]


@pytest.fixture
def old_and_new(catalog, with_attachment):
    RetentionRule.objects.create(institution=catalog["institution"],
                                 ticket_type=catalog["suggestion"], legal_hold_years=1,
                                 anonymise_after_years=2)
    old = with_attachment(catalog, years_ago=3)
    recent = closed_ticket(catalog, years_ago=1)
    still_open = open_ticket(catalog, contact=contact(full_name="Pedro Rojas", rut="111111111",
                                                      email="pedro@example.cl", phone=""))
    return {"old": old, "recent": recent, "open": still_open}


def test_only_due_tickets_are_anonymised_and_figures_are_unchanged(catalog, old_and_new):
    institution = catalog["institution"]
    before = _figures(institution)
    old = old_and_new["old"]
    stored = list(Attachment.objects.filter(ticket=old).values_list("file", flat=True))
    assert stored and all(default_storage.exists(name) for name in stored)
    kept_dims = Ticket.objects.filter(pk=old.pk).values(
        "ticket_type", "topic", "area", "region", "comuna", "channel", "received_at",
        "closed_at", "due_at", "status", "organization").get()

    run = retention_apply()

    old.refresh_from_db()
    assert run.tickets == 1 and run.attachments == 1 and run.finished_at and not run.dry_run
    assert (old.subject, old.detail, old.contact_name, old.contact_email, old.contact_phone,
            old.contact_rut) == (ANONYMISED_TEXT, "", "", "", "", "")
    assert old.citizen.anonymised_at is not None and old.citizen.full_name == ""
    assert not Attachment.objects.filter(ticket=old).exists()
    assert not any(default_storage.exists(name) for name in stored)
    assert not TicketEvent.objects.filter(ticket=old).exclude(body="").exists()
    assert not OutboundMessage.objects.filter(ticket=old).exclude(body_text="").exists()
    assert not Interaction.objects.filter(ticket=old, citizen__isnull=False).exists()
    assert Ticket.objects.filter(pk=old.pk).values(*kept_dims).get() == kept_dims
    for key in ("recent", "open"):
        ticket = old_and_new[key]
        ticket.refresh_from_db()
        assert ticket.contact_name and not TicketAnonymisation.objects.filter(
            ticket=ticket).exists()
    # The person still has a recent ticket: their record keeps its data.
    person = Citizen.objects.get(pk=old_and_new["recent"].citizen_id)
    assert person.full_name == "Juana Soto" and ChannelIdentity.objects.filter(
        citizen=person).exists()

    assert _figures(institution) == before
    assert AuditEvent.objects.filter(action="privacy.retention_run",
                                     institution=institution).count() == 1

    again = retention_apply()
    assert again.tickets == 0  # idempotent
    assert TicketAnonymisation.objects.count() == 1


def test_dry_run_changes_nothing(catalog, old_and_new):
    run = retention_apply(dry_run=True)
    assert run.dry_run and run.tickets == 0
    assert list(run.per_rule.values()) == [1]
    old = old_and_new["old"]
    old.refresh_from_db()
    assert old.contact_name == "Juana Soto" and Attachment.objects.filter(ticket=old).exists()
    assert not TicketAnonymisation.objects.exists()


def test_person_left_without_data_is_emptied(catalog):
    RetentionRule.objects.create(institution=catalog["institution"], legal_hold_years=0,
                                 anonymise_after_years=1)  # every type
    ticket = closed_ticket(catalog, years_ago=2, contact=contact(
        full_name="Sola", email="sola@example.cl", rut="", phone="+56 9 8765 4321"))
    person_id = ticket.citizen_id
    retention_apply(chunk_size=1)
    person = Citizen.objects.get(pk=person_id)
    assert (person.full_name, person.email, person.phone, person.rut) == ("", "", "", None)
    assert not ChannelIdentity.objects.filter(citizen_id=person_id).exists()


def test_command_and_chunks(catalog, capsys):
    RetentionRule.objects.create(institution=catalog["institution"],
                                 ticket_type=catalog["suggestion"], legal_hold_years=0,
                                 anonymise_after_years=1)
    for _ in range(3):
        closed_ticket(catalog, years_ago=2)
    call_command("apply_retention", "--dry-run")
    assert "3 ticket(s) due" in capsys.readouterr().out
    assert not TicketAnonymisation.objects.exists()
    call_command("apply_retention", "--chunk-size", "2")
    assert "3 ticket(s) anonymised" in capsys.readouterr().out
    assert RetentionRun.objects.filter(dry_run=False).get().tickets == 3


def test_rule_cannot_anonymise_inside_the_legal_hold(catalog):
    from django.core.exceptions import ValidationError

    rule = RetentionRule(institution=catalog["institution"], legal_hold_years=5,
                         anonymise_after_years=2)
    with pytest.raises(ValidationError):
        rule.full_clean()


def test_worker_schedules_retention(settings):
    from ventanilla.notifications.management.commands import worker

    settings.RETENTION_EVERY = 86400
    names = [job.name for job in worker.default_jobs(replay_every=0, sweep_every=0)]
    assert "apply_retention" in names
    settings.RETENTION_EVERY = 0
    names = [job.name for job in worker.default_jobs(replay_every=0, sweep_every=0)]
    assert "apply_retention" not in names
