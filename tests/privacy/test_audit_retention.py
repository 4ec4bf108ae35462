"""The audit log is kept AUDIT_RETENTION_YEARS, then deleted by the daily retention job;
0 keeps it forever."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessFailureLog, AccessLog
from django.utils import timezone

from tests.factories import InstitutionFactory
from ventanilla.accounts.services import login_records_prune
from ventanilla.core.models import AuditEvent
from ventanilla.core.services import audit_prune, audit_record
from ventanilla.notifications.management.commands import worker as worker_module

pytestmark = pytest.mark.django_db


def _event_aged(days: int) -> AuditEvent:
    institution = InstitutionFactory()
    event = audit_record(actor=None, action="ticket.viewed", obj=institution,
                         institution=institution)
    AuditEvent.objects.filter(pk=event.pk).update(
        occurred_at=timezone.now() - timedelta(days=days))
    return event


def test_events_older_than_the_period_go_and_newer_ones_stay(settings):
    settings.AUDIT_RETENTION_YEARS = 5
    old = [_event_aged(365 * 5 + 10) for _ in range(3)]
    recent = _event_aged(365 * 5 - 10)
    assert audit_prune(batch=2) == 3  # several batches
    assert not AuditEvent.objects.filter(pk__in=[e.pk for e in old]).exists()
    assert AuditEvent.objects.filter(pk=recent.pk).exists()
    assert audit_prune() == 0  # nothing left to do


def test_zero_keeps_the_log_forever(settings):
    settings.AUDIT_RETENTION_YEARS = 0
    event = _event_aged(365 * 40)
    assert audit_prune() == 0
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_daily_retention_job_prunes_the_log(settings):
    settings.AUDIT_RETENTION_YEARS = 1
    _event_aged(400)
    assert "1 audit event(s)" in worker_module._apply_retention()
    assert worker_module._apply_retention() is None


def test_login_records_are_kept_for_the_period_only(settings):
    settings.LOGIN_RECORDS_RETENTION_DAYS = 90
    old = AccessLog.objects.create(ip_address="200.1.1.1", username="a@example.cl",
                                   user_agent="x", path_info="/cuenta/ingresar/")
    AccessLog.objects.filter(pk=old.pk).update(
        attempt_time=timezone.now() - timedelta(days=91))
    failure = AccessFailureLog.objects.create(ip_address="200.1.1.1", username="a@example.cl",
                                              user_agent="x", path_info="/cuenta/ingresar/")
    recent = AccessLog.objects.create(ip_address="200.1.1.2", username="b@example.cl",
                                      user_agent="x", path_info="/cuenta/ingresar/")
    assert login_records_prune() == 1
    assert list(AccessLog.objects.values_list("pk", flat=True)) == [recent.pk]
    assert AccessFailureLog.objects.filter(pk=failure.pk).exists()
    # The daily retention job runs it.
    AccessFailureLog.objects.filter(pk=failure.pk).update(
        attempt_time=timezone.now() - timedelta(days=100))
    assert "1 login record(s)" in worker_module._apply_retention()
    assert not AccessFailureLog.objects.exists()
